/**
 * The emulated cluster's own state (what `kubectl` would show), kept on the cluster side only.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AGENT_NAMES, type AgentName } from './subjects.js';
import type { ClusterMetadata } from './messages.js';

export const nodePoolSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][-a-z0-9]{0,39}$/, 'lower-case alphanumerics and -, up to 40 characters'),
  vmSize: z.string().min(1),
  osType: z.enum(['Linux', 'Windows']),
  osSku: z.string().min(1),
  nodeImageVersion: z.string().min(1),
  count: z.int().min(0).max(5000),
  coresPerNode: z.int().min(1).max(512),
  /**
   * The pool's kubelet version when it differs from the control plane's (a pool created from, or
   * upgraded to, an older node-pool snapshot); absent: the cluster's `kubernetesVersion`.
   */
  kubernetesVersion: z
    .string()
    .regex(/^v?\d+\.\d+(\.\d+)?/)
    .optional(),
});
export type NodePool = z.infer<typeof nodePoolSchema>;

/**
 * A node-pool snapshot, in the shape of AKS's `Microsoft.ContainerService/snapshots` resource (the seed
 * document's subject): what a pool was made of when it was taken. Kept by the fleet
 * (`<dataDir>/snapshots/<name>.json`, fleet/snapshots.ts); pools and clusters are created from it, and
 * a pool upgraded to it gets exactly its image.
 */
export const nodePoolSnapshotSchema = z.strictObject({
  id: z.string().min(1),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/),
  type: z.literal('Microsoft.ContainerService/snapshots'),
  location: z.string().min(1),
  systemData: z.strictObject({ createdAt: z.string(), createdBy: z.string() }),
  properties: z.strictObject({
    /** The pool it was taken from: `<connectedClusters id>/agentPools/<pool>`. */
    creationData: z.strictObject({ sourceResourceId: z.string().min(1) }),
    snapshotType: z.literal('NodePool'),
    kubernetesVersion: z.string().regex(/^v?\d+\.\d+(\.\d+)?/),
    nodeImageVersion: z.string().min(1),
    osType: z.enum(['Linux', 'Windows']),
    osSku: z.string().min(1),
    vmSize: z.string().min(1),
    enableFIPS: z.boolean(),
  }),
});
export type NodePoolSnapshot = z.infer<typeof nodePoolSnapshotSchema>;

export const clusterStateSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}$/),
  subscriptionId: z.string().min(1),
  resourceGroup: z.string().min(1).max(90),
  location: z.string().min(1),
  distribution: z.string().min(1),
  distributionVersion: z.string(),
  infrastructure: z.string().min(1),
  kubernetesVersion: z.string().regex(/^v?\d+\.\d+(\.\d+)?/),
  agentVersion: z.string().min(1),
  /**
   * The azure-arc Helm release's auto-update value (`AZURE_ARC_AUTOUPDATE` in azure-clusterconfig):
   * config-agent sets it from the resource's `arcAgentProfile.agentAutoUpgrade` on every upgrade check.
   */
  autoUpdate: z.boolean().default(true),
  /** config-agent's last agent upgrade (the Helm upgrade of the azure-arc release). */
  agentUpgrade: z
    .strictObject({
      from: z.string().min(1).max(64),
      to: z.string().min(1).max(64),
      /** Simulated time of the attempt. */
      at: z.string().max(64),
      /** Failed: the release was rolled back to `from`. */
      outcome: z.enum(['Succeeded', 'Failed']),
      message: z.string().max(1024).optional(),
    })
    .optional(),
  nodePools: z.array(nodePoolSchema).min(1),
  tags: z.record(z.string(), z.string()).default({}),
  /** Bumped on every change; resource-sync-agent reports it with the metadata. */
  generation: z.int().min(0),
  /** Simulated time of the last change. */
  changedAt: z.string(),
  /** Agents that are not running for this cluster (as if their deployment were scaled to 0). */
  stoppedAgents: z.array(z.enum(AGENT_NAMES)).default([]),
  /** Optional Arc features; an agent of a feature that is off has no deployment. */
  features: z
    .strictObject({
      /** clusterconnect-agent (and kube-aad-proxy's role): `listClusterUserCredential` works. */
      clusterConnect: z.boolean().default(true),
      /** guard: requests through cluster connect are authorized by Azure role assignments (Azure RBAC). */
      azureRbac: z.boolean().default(false),
    })
    .default({ clusterConnect: true, azureRbac: false }),
  /**
   * Injected in-cluster failures (chaos): while set, the named operation fails with this message.
   * `fluxApply`: config-agent's apply of every Flux configuration; `extensionInstall`: extension-manager's
   * Helm install/upgrade (`InstallationFailed`); `agentUpgrade`: config-agent's Helm upgrade of the
   * Arc agents themselves (rolled back).
   */
  faults: z
    .strictObject({
      fluxApply: z.string().min(1).max(1024).optional(),
      extensionInstall: z.string().min(1).max(1024).optional(),
      agentUpgrade: z.string().min(1).max(1024).optional(),
    })
    .default({}),
});
export type ClusterState = z.infer<typeof clusterStateSchema>;

/**
 * Whether `agent` has a deployment in a cluster of this state (stopped or not): an optional agent only
 * with its feature on, as in the Helm chart. The agent hosts and the emulated apiserver both ask here.
 */
export function agentDeployed(state: ClusterState, agent: AgentName): boolean {
  if (agent === 'clusterconnect-agent') return state.features.clusterConnect;
  if (agent === 'guard') return state.features.azureRbac;
  return true;
}

/**
 * A pool Node's name, like AKS's `aks-<pool>-<8 digits>-vmss<6 base-36 digits>`, stable per cluster
 * and pool: the emulated apiserver serves the Nodes under it, controller-manager schedules onto it.
 */
export function nodeName(cluster: string, pool: string, index: number): string {
  const h = createHash('sha256').update(`${cluster}/${pool}`).digest('hex');
  const digits = String(parseInt(h.slice(0, 8), 16) % 100_000_000).padStart(8, '0');
  return `aks-${pool}-${digits}-vmss${index.toString(36).padStart(6, '0')}`;
}

export function metadataOf(state: ClusterState): ClusterMetadata {
  let nodes = 0;
  let cores = 0;
  for (const pool of state.nodePools) {
    nodes += pool.count;
    cores += pool.count * pool.coresPerNode;
  }
  return {
    kubernetesVersion: state.kubernetesVersion,
    totalNodeCount: nodes,
    totalCoreCount: cores,
    agentVersion: state.agentVersion,
    distribution: state.distribution,
    distributionVersion: state.distributionVersion,
    infrastructure: state.infrastructure,
  };
}

/**
 * What a PUT of a cluster not yet onboarded answers besides the resource (arcfleet's stand-in for the
 * onboarding material `az connectedk8s connect` receives): the one-time token and the broker JWT of
 * the onboarding user (useless without the cluster's private key, which never leaves the cluster).
 */
export const BOOTSTRAP_HEADERS = {
  token: 'x-arcfleet-bootstrap-token',
  jwt: 'x-arcfleet-bootstrap-jwt',
} as const;

/** The helm-values equivalent: what `az connectedk8s connect` hands the agents at install time. */
export const onboardingSecretSchema = z.strictObject({
  resourceId: z.string(),
  privateKeyPem: z.string(),
  publicKey: z.string(),
  bootstrapToken: z.string(),
  hubUrl: z.string(),
  /** The onboarding NATS user (register only), for the key above; absent without broker accounts. */
  bootstrapJwt: z.string().min(1).max(8192).optional(),
});
export type OnboardingSecret = z.infer<typeof onboardingSecretSchema>;

/** Secret `azure-identity-certificate` in namespace azure-arc, shared by the cluster's agents. */
export const identitySecretSchema = z.strictObject({
  certificate: z.string(),
  'azure-identity-certificate-expiration-time': z.string(),
  issuedAt: z.string(),
  /** Set by clusteridentityoperator when the certificate expired and it stopped trying. */
  state: z.enum(['Valid', 'Expired']),
  /**
   * W3C trace context of the onboarding (set with tracing on): resource-sync-agent's first sync
   * continues that trace. Checked by the propagator when read; an invalid value starts a new trace.
   */
  traceparent: z.string().max(128).optional(),
  tracestate: z.string().max(512).optional(),
  /** base64 SPKI of the hub's signing key (from the identity reply): checks cluster-connect tokens. */
  issuerPublicKey: z.string().max(4096).optional(),
  /** The cluster's NATS user JWT (same lifetime as the certificate); the agents connect with it. */
  natsUserJwt: z.string().min(1).max(8192).optional(),
});
export type IdentitySecret = z.infer<typeof identitySecretSchema>;

/**
 * What an agent remembers about one cluster across its own restarts, `agents/<agent>.json` (like a
 * ConfigMap an operator keeps for itself). Survives the process; removed with the cluster.
 */
export const agentMemoSchema = z.strictObject({
  /** SHA-256 of the identity certificate whose first sync (onboarding trace) already ended. */
  firstSyncCertificate: z.string().max(128).optional(),
  /** flux-logs-agent: the last Flux log entry the hub acknowledged (shipping resumes after it). */
  fluxLogsShippedSeq: z.int().min(0).optional(),
});
export type AgentMemo = z.infer<typeof agentMemoSchema>;

/**
 * resource-sync-agent's record of its link to Azure for one cluster, `agents/connectivity.json`: written
 * when its heartbeats start and when they stop (never per heartbeat: at 10,000 clusters that would be
 * thousands of file writes a second). The emulated apiserver computes the `clustermetadata` resource's
 * `lastConnectivityTime` from it: while the link is up (and the writing process alive), the latest
 * heartbeat tick since `upSinceMs`; after, `lastContactMs`. Simulated epoch ms throughout.
 */
export const linkConnectivitySchema = z.strictObject({
  /** When the heartbeats started; null while they are stopped. */
  upSinceMs: z.number().min(0).nullable(),
  /** The last heartbeat sent (or the link's start, before the first). */
  lastContactMs: z.number().min(0),
  heartbeatIntervalMs: z.number().min(1),
});
export type LinkConnectivity = z.infer<typeof linkConnectivitySchema>;

/**
 * An agent's "pod status" for one cluster, `status/<agent>.json`: written by the agent's host when the
 * agent starts for the cluster, removed when it is stopped for it. Its freshness comes from the
 * writing process's beat (ProcessBeat): a killed process stops beating, and metrics-agent judges the
 * agent down once the later of `lastSeenMs` and that beat is older than its staleness bound.
 */
export const agentStatusSchema = z.strictObject({
  agent: z.enum(AGENT_NAMES),
  version: z.string().min(1).max(64),
  pid: z.int().min(0),
  /** Real ms (Date.now) the host process started. */
  startedAtMs: z.number().min(0),
  /** Real ms (Date.now) of the last refresh. */
  lastSeenMs: z.number().min(0),
  state: z.enum(['Running', 'Error']),
  errors: z
    .array(
      z.strictObject({
        message: z.string().max(1024),
        severity: z.enum(['Error', 'Warning']),
        time: z.string().max(64),
      }),
    )
    .max(20)
    .default([]),
});
export type AgentStatus = z.infer<typeof agentStatusSchema>;

/**
 * An agent process's liveness, `<dataDir>/run/<agent>.alive.json`, refreshed by its host every status
 * interval. A cluster's status file is written when its agent starts there; while the process that
 * wrote it (same pid and start time) keeps beating, the status counts as fresh. One write per process
 * per interval instead of one per cluster: at 1,000 clusters that is the difference between 1 and 500
 * file writes a second per agent process.
 */
export const processBeatSchema = z.strictObject({
  agent: z.enum(AGENT_NAMES),
  pid: z.int().min(0),
  startedAtMs: z.number().min(0),
  lastSeenMs: z.number().min(0),
});
export type ProcessBeat = z.infer<typeof processBeatSchema>;
