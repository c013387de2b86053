/**
 * The Kubernetes resources the emulated apiserver serves, shared by the server (routing, discovery)
 * and the clients (kind → plural). One row per resource; adding a row makes the apiserver store and
 * serve it (derived objects are separate: services/kube-apiserver/derived.ts).
 */

export interface KubeResource {
  /** '' for the core group (`/api/v1`). */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
}

export const KUBE_RESOURCES: readonly KubeResource[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    singular: 'node',
    namespaced: false,
    shortNames: ['no'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    namespaced: true,
    shortNames: ['cm'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    namespaced: true,
    shortNames: [],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    namespaced: true,
    shortNames: ['sa'],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    singular: 'service',
    namespaced: true,
    shortNames: ['svc'],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    namespaced: true,
    shortNames: ['deploy'],
  },
  {
    group: 'arc.azure.com',
    version: 'v1beta1',
    kind: 'ConnectedCluster',
    plural: 'connectedclusters',
    singular: 'connectedcluster',
    namespaced: false,
    shortNames: [],
  },
  {
    group: 'source.toolkit.fluxcd.io',
    version: 'v1',
    kind: 'GitRepository',
    plural: 'gitrepositories',
    singular: 'gitrepository',
    namespaced: true,
    shortNames: ['gitrepo'],
  },
  {
    group: 'kustomize.toolkit.fluxcd.io',
    version: 'v1',
    kind: 'Kustomization',
    plural: 'kustomizations',
    singular: 'kustomization',
    namespaced: true,
    shortNames: ['ks'],
  },
  {
    group: 'clusterconfig.azure.com',
    version: 'v1beta1',
    kind: 'ExtensionConfig',
    plural: 'extensionconfigs',
    singular: 'extensionconfig',
    namespaced: true,
    shortNames: [],
  },
];

/** Verbs every resource supports (discovery lists them; `watch` included). */
export const KUBE_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] as const;

/** `v1` or `apps/v1`. */
export function groupVersion(r: Pick<KubeResource, 'group' | 'version'>): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** Splits `apps/v1` into group and version (`v1` → core). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** The resource of an apiVersion + kind, or undefined when it is not served. */
export function resourceForKind(apiVersion: string, kind: string): KubeResource | undefined {
  const { group, version } = parseApiVersion(apiVersion);
  return KUBE_RESOURCES.find((r) => r.group === group && r.version === version && r.kind === kind);
}

export function resourceForPlural(group: string, version: string, plural: string): KubeResource | undefined {
  return KUBE_RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/**
 * The collection path of a resource relative to the cluster's base URL: `/api/v1/namespaces/ns/pods`,
 * `/apis/apps/v1/deployments` (all namespaces or cluster-scoped when `namespace` is undefined).
 */
export function collectionPath(r: KubeResource, namespace?: string): string {
  const root = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${ns}/${r.plural}`;
}

export function objectPath(r: KubeResource, name: string, namespace?: string): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}`;
}

/** Groups in discovery order: core first, then the named groups as they appear in the table. */
export function apiGroups(): { group: string; versions: string[] }[] {
  const out: { group: string; versions: string[] }[] = [];
  for (const r of KUBE_RESOURCES) {
    let g = out.find((x) => x.group === r.group);
    if (!g) out.push((g = { group: r.group, versions: [] }));
    if (!g.versions.includes(r.version)) g.versions.push(r.version);
  }
  return out;
}
