/**
 * Discovery documents (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`), built from
 * contract/kube-resources.ts. Plain (non-aggregated) discovery: kubectl asks for the aggregated form
 * first and falls back to this when the answer is plain `application/json`.
 */
import { KUBE_RESOURCES, KUBE_VERBS, apiGroups, groupVersion } from '../../contract/index.js';

export function versionInfo(kubernetesVersion: string): Record<string, string> {
  const m = /^v?(\d+)\.(\d+)/.exec(kubernetesVersion);
  const git = kubernetesVersion.startsWith('v') ? kubernetesVersion : `v${kubernetesVersion}`;
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '0',
    gitVersion: git,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-01-01T00:00:00Z',
    goVersion: 'go1.22.0',
    compiler: 'gc',
    platform: 'linux/amd64',
    emulator: 'arcfleet',
  };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDoc(group: string, versions: readonly string[]): Record<string, unknown> {
  const vs = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: apiGroups()
      .filter((g) => g.group !== '')
      .map((g) => {
        const { kind: _k, apiVersion: _a, ...rest } = groupDoc(g.group, g.versions);
        return rest;
      }),
  };
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  const g = apiGroups().find((x) => x.group === group && group !== '');
  return g ? groupDoc(g.group, g.versions) : undefined;
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const resources = KUBE_RESOURCES.filter((r) => r.group === group && r.version === version);
  if (resources.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupVersion({ group, version }),
    resources: resources.map((r) => ({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: [...KUBE_VERBS],
      ...(r.shortNames.length > 0 ? { shortNames: [...r.shortNames] } : {}),
    })),
  };
}
