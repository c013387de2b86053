/** Reading rendered Kubernetes objects in tests (test/unit/kubernetes-manifests.test.ts). */
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

interface SecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly capabilities?: { readonly drop?: readonly string[] };
  readonly seccompProfile?: { readonly type?: string };
}

export interface Container {
  readonly name: string;
  readonly args?: readonly string[];
  readonly command?: readonly string[];
  readonly securityContext?: SecurityContext;
  readonly resources?: {
    readonly limits?: Readonly<Record<string, string>>;
    readonly requests?: Readonly<Record<string, string>>;
  };
  readonly env?: readonly {
    readonly name: string;
    readonly value?: string;
    readonly valueFrom?: { readonly fieldRef?: { readonly fieldPath: string } };
  }[];
  readonly envFrom?: readonly { readonly configMapRef?: { readonly name: string } }[];
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly securityContext?: SecurityContext;
  readonly automountServiceAccountToken?: boolean;
}

export interface ContainerAt {
  /** `Kind/name` of the workload. */
  readonly owner: string;
  readonly pod: PodSpec;
  readonly container: Container;
}

/** Every container (init containers too) of a workload's pod template; none for other kinds. */
export function containersOf(o: K8sObject): ContainerAt[] {
  const pod = (o.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
  if (!pod) return [];
  const owner = `${o.kind}/${o.metadata.name}`;
  return [...(pod.initContainers ?? []), ...pod.containers].map((container) => ({ owner, pod, container }));
}

/**
 * The environment a container gets: its ConfigMaps' keys (envFrom), then its own `env`, which win.
 * A value from the downward API reads `<fieldPath>`.
 */
export function envOf(c: ContainerAt, objects: readonly K8sObject[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const from of c.container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    if (!cm) throw new Error(`${c.owner}: envFrom names ConfigMap ${name}, which is not rendered`);
    for (const [k, v] of Object.entries((cm.data ?? {}) as Record<string, string>)) env.set(k, v);
  }
  for (const e of c.container.env ?? [])
    env.set(e.name, e.value ?? `<${e.valueFrom?.fieldRef?.fieldPath ?? 'valueFrom'}>`);
  return env;
}
