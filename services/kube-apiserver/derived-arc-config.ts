/**
 * Why this file: the Arc objects that describe the connection itself rather than a workload: the
 * azure-identity-certificate Secret and the azure-clusterconfig ConfigMap, each one object built from
 * cluster.json or the identity secret file; and the one field of the stored clustermetadata
 * ConnectedCluster (written by cluster-metadata-operator) that is computed on read. Split out of derived.ts.
 */
import type { ClusterState, IdentitySecret } from '../../contract/index.js';
import type { DerivedConnectivity } from './derived-meta.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { ARC_NAMESPACE } from './derived-meta.js';

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function identitySecret(identity: IdentitySecret): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'azure-identity-certificate', namespace: ARC_NAMESPACE },
    data: {
      'azure-identity-certificate': b64(identity.certificate),
      'azure-identity-certificate-expiration-time': b64(
        identity['azure-identity-certificate-expiration-time'],
      ),
      'azure-identity-certificate-issued-time': b64(identity.issuedAt),
      state: b64(identity.state),
    },
  };
}

export function clusterConfig(state: ClusterState): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'azure-clusterconfig', namespace: ARC_NAMESPACE },
    data: {
      AZURE_RESOURCE_NAME: state.name,
      AZURE_RESOURCE_GROUP: state.resourceGroup,
      AZURE_SUBSCRIPTION_ID: state.subscriptionId,
      AZURE_REGION: state.location,
      AZURE_ARC_AGENT_VERSION: state.agentVersion,
      AZURE_ARC_AUTOUPDATE: state.autoUpdate ? 'true' : 'false',
      AZURE_ARC_RELEASE_TRAIN: 'stable',
      CLUSTER_TYPE: 'ConnectedClusters',
      KUBERNETES_DISTRO: state.distribution,
      KUBERNETES_INFRA: state.infrastructure,
    },
  };
}

/** The custom resource cluster-metadata-operator writes; its status carries the metadata. */
export const CLUSTER_METADATA = {
  resource: 'arc.azure.com/connectedclusters',
  name: 'clustermetadata',
} as const;

/**
 * The stored `clustermetadata` as it is read: its `status.lastConnectivityTime` is resource-sync-agent's
 * last heartbeat, filled in from that agent's link record on every read, so that a heartbeat costs no
 * write (cluster-metadata-operator writes the rest of the status). Other objects pass unchanged.
 */
export function withLastConnectivity(obj: KubeObject, c: DerivedConnectivity | undefined): KubeObject {
  if (obj.metadata.name !== CLUSTER_METADATA.name) return obj;
  const status = { ...((obj['status'] as Record<string, unknown> | undefined) ?? {}) };
  delete status['lastConnectivityTime'];
  return { ...obj, status: { ...status, ...lastConnectivity(c) } };
}

/**
 * The time of the last heartbeat: while resource-sync-agent's link is up, the latest heartbeat tick
 * since it came up (heartbeats go out every interval from then on), up to when its process stopped
 * if it was killed; once the link is down, the last heartbeat it recorded. Absent before any link.
 */
export function lastConnectivityMs(c: DerivedConnectivity | undefined): number | undefined {
  const r = c?.record;
  if (!c || !r) return undefined;
  if (r.upSinceMs === null) return r.lastContactMs;
  const ticks = Math.max(0, Math.floor((c.untilMs - r.upSinceMs) / r.heartbeatIntervalMs));
  return Math.max(r.lastContactMs, r.upSinceMs + ticks * r.heartbeatIntervalMs);
}

function lastConnectivity(c: DerivedConnectivity | undefined): { lastConnectivityTime?: string } {
  const ms = lastConnectivityMs(c);
  return ms === undefined ? {} : { lastConnectivityTime: new Date(ms).toISOString() };
}
