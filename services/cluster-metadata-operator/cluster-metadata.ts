/**
 * What cluster-metadata-operator writes (pure): the `clustermetadata` custom resource
 * (`connectedclusters.arc.azure.com/v1beta1`), whose status the real operator fills from the cluster's
 * apiserver: node and core counts from the Nodes, the apiserver's version, the Arc agents' version and
 * the managed-identity certificate's expiry. resource-sync-agent syncs from it to Azure.
 *
 * `lastConnectivityTime` is not the operator's: it is resource-sync-agent's last heartbeat, which the
 * emulated apiserver fills in on read (services/kube-apiserver/derived-arc-config.ts).
 */
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import type { IdentitySecret } from '../../contract/index.js';

export const CLUSTER_METADATA_NAME = 'clustermetadata';
export const CONNECTED_CLUSTER_API_VERSION = 'arc.azure.com/v1beta1';
export const CONNECTED_CLUSTER_KIND = 'ConnectedCluster';

/** What the operator reads: the apiserver's Nodes and `/version`, and its own release and identity. */
export interface MetadataSources {
  readonly nodes: readonly KubeObject[];
  /** `gitVersion` of the apiserver's `/version` (e.g. `v1.30.4`). */
  readonly kubernetesVersion: string;
  /** The Arc agents' release (the Helm chart's version). */
  readonly agentVersion: string;
  readonly identity: IdentitySecret | undefined;
}

/** The status fields the operator owns. */
export interface ClusterMetadataStatus {
  readonly nodeCount: number;
  readonly coreCount: number;
  readonly arcAgentVersion: string;
  readonly kubernetesAPIServerVersion: string;
  readonly managedIdentityCertificateExpirationTime?: string;
}

const OWNED_FIELDS = [
  'nodeCount',
  'coreCount',
  'arcAgentVersion',
  'kubernetesAPIServerVersion',
  'managedIdentityCertificateExpirationTime',
] as const;

export function metadataStatus(s: MetadataSources): ClusterMetadataStatus {
  let milliCores = 0;
  for (const node of s.nodes) milliCores += milliCpu(capacityOf(node)['cpu']);
  return {
    nodeCount: s.nodes.length,
    coreCount: Math.floor(milliCores / 1000),
    arcAgentVersion: s.agentVersion,
    kubernetesAPIServerVersion: s.kubernetesVersion,
    ...(s.identity
      ? { managedIdentityCertificateExpirationTime: s.identity['azure-identity-certificate-expiration-time'] }
      : {}),
  };
}

/**
 * A Kubernetes CPU quantity in millicores: `4`, `3860m`, `0.5`; 0 for anything else (a Node created
 * by hand without a status has no capacity, and counts as a node without cores).
 */
export function milliCpu(quantity: unknown): number {
  if (typeof quantity === 'number') return Number.isFinite(quantity) && quantity > 0 ? quantity * 1000 : 0;
  if (typeof quantity !== 'string') return 0;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity.trim());
  if (!m) return 0;
  const value = Number(m[1]);
  return Math.floor(m[2] === 'm' ? value : value * 1000);
}

function capacityOf(node: KubeObject): Record<string, unknown> {
  const status = node['status'];
  if (typeof status !== 'object' || status === null) return {};
  const capacity = (status as Record<string, unknown>)['capacity'];
  return typeof capacity === 'object' && capacity !== null ? (capacity as Record<string, unknown>) : {};
}

/** Whether the stored object's status already says what the operator would write. */
export function upToDate(current: KubeObject | undefined, desired: ClusterMetadataStatus): boolean {
  if (!current) return false;
  const status = (current['status'] ?? {}) as Record<string, unknown>;
  return OWNED_FIELDS.every((f) => status[f] === desired[f]);
}

/** The resource to write; `resourceVersion` of the stored one for a replace. */
export function clusterMetadataObject(status: ClusterMetadataStatus, resourceVersion?: string): KubeObject {
  return {
    apiVersion: CONNECTED_CLUSTER_API_VERSION,
    kind: CONNECTED_CLUSTER_KIND,
    metadata: {
      name: CLUSTER_METADATA_NAME,
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    spec: {},
    status,
  };
}
