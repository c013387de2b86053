/**
 * The hub's record of one connected cluster and its rendering as the ARM resource. Pure.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  CONNECTED_CLUSTER_TYPE,
  resourceId,
  type ConnectedCluster,
  type ConnectivityStatus,
  type ProvisioningState,
  type AgentHealth,
  type ClusterMetadata,
  type ClusterRef,
  FLEET_TENANT_ID,
  outOfSupport,
  outOfSupportMessage,
  type AgentSupport,
} from '../../../contract/index.js';
import { initialConnectivity, type ConnectivityState, type Transition } from './connectivity.js';
import { createOperation, type ClusterOperation, type OperationKind } from './operations.js';

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

/** The user-writable part of the resource, as last PUT/PATCHed. */
export interface DesiredResource {
  location: string;
  tags: Record<string, string>;
  kind?: string | undefined;
  identityType: 'None' | 'SystemAssigned';
  agentPublicKeyCertificate: string;
  distribution?: string | undefined;
  distributionVersion?: string | undefined;
  infrastructure?: string | undefined;
  privateLinkState?: 'Enabled' | 'Disabled' | undefined;
  azureHybridBenefit?: 'True' | 'False' | 'NotApplicable' | undefined;
  /** Remaining optional property objects passed through as given (aadProfile, gateway, ...). */
  extra: Record<string, unknown>;
}

export interface ClusterRecord {
  /** Format version of the persisted record. */
  v: 1;
  key: string;
  ref: ClusterRef;
  desired: DesiredResource;
  provisioningState: ProvisioningState;
  connectivity: ConnectivityState;
  metadata: (ClusterMetadata & { generation: number; changedAtMs: number }) | undefined;
  /** A report taken but not shown before `metadataDueMs` (late-metadata.ts). */
  pendingMetadata?: (ClusterMetadata & { generation: number; changedAtMs: number }) | undefined;
  /** Simulated ms from which metadata is shown; drawn when the agents first register. */
  metadataDueMs?: number | undefined;
  identity: {
    principalId: string;
    tenantId: string;
    /** Serials of certificates the hub currently honours (the newest and, during renewal, the previous). */
    serials: string[];
    certExpiresMs: number | undefined;
  };
  /** sha256 of the one-time bootstrap token; undefined once used. */
  bootstrapTokenHash: string | undefined;
  /** sha256 of the token that was used, so a retried registration by the same key succeeds. */
  consumedBootstrapTokenHash?: string | undefined;
  /** The resource's newest ARM operation (operations.ts). */
  operation: ClusterOperation;
  /** Earlier operations still answered by id (bounded); absent in older records. */
  pastOperations?: Array<{
    id: string;
    kind: OperationKind;
    status: OperationStatus;
    endTime?: string | undefined;
  }>;
  createdAt: string;
  createdBy: string;
  lastModifiedAt: string;
  /** The caller of the last PUT or PATCH; absent in records written before it was kept: createdBy. */
  lastModifiedBy?: string | undefined;
  /** When the PUT happened (simulated ms), to measure onboarding duration. */
  connectRequestedMs: number;
  /** Recent transitions, newest last (bounded). */
  transitions: Transition[];
  /** metrics-agent's last report of the cluster's agents; undefined until one arrives. */
  agentHealth?: AgentHealthRecord | undefined;
}

export interface AgentHealthRecord {
  agentState: 'Succeeded' | 'Failed';
  components: AgentHealth['components'];
  reportedAtMs: number;
}

export const TENANT_ID = FLEET_TENANT_ID;
export const MAX_TRANSITIONS_KEPT = 20;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newRecord(
  key: string,
  ref: ClusterRef,
  desired: DesiredResource,
  nowIso: string,
  nowMs: number,
  bootstrapToken: string,
  createdBy: string,
  provisioningDelayMs: number,
): ClusterRecord {
  return {
    v: 1,
    key,
    ref,
    desired,
    provisioningState: 'Accepted',
    connectivity: initialConnectivity(),
    metadata: undefined,
    identity: { principalId: randomUUID(), tenantId: TENANT_ID, serials: [], certExpiresMs: undefined },
    bootstrapTokenHash: hashToken(bootstrapToken),
    operation: createOperation(key, 'write', nowMs, provisioningDelayMs),
    createdAt: nowIso,
    createdBy,
    lastModifiedAt: nowIso,
    connectRequestedMs: nowMs,
    transitions: [],
  };
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * The resource's own upgrade settings (`arcAgentProfile` as PUT): `agentAutoUpgrade` (Enabled unless
 * Disabled) and `desiredAgentVersion` (honoured with auto-upgrade off).
 */
export function agentProfileOf(record: ClusterRecord): { autoUpgrade: boolean; desiredVersion?: string } {
  const raw = record.desired.extra['arcAgentProfile'];
  const p = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const desired = p['desiredAgentVersion'];
  return {
    autoUpgrade: p['agentAutoUpgrade'] !== 'Disabled',
    ...(typeof desired === 'string' && desired !== '' ? { desiredVersion: desired } : {}),
  };
}

/**
 * The ARM resource. `support`: the agent releases' support window, which adds an `agentErrors` entry
 * for agents more than N-2 minors behind.
 */
export function renderResource(record: ClusterRecord, support?: AgentSupport): ConnectedCluster {
  const d = record.desired;
  const m = record.metadata;
  const status: ConnectivityStatus = record.connectivity.status;
  return {
    id: resourceId(record.ref),
    name: record.ref.name,
    type: CONNECTED_CLUSTER_TYPE,
    location: d.location,
    tags: d.tags,
    ...(d.kind === undefined ? {} : { kind: d.kind }),
    identity:
      d.identityType === 'SystemAssigned'
        ? {
            type: 'SystemAssigned',
            principalId: record.identity.principalId,
            tenantId: record.identity.tenantId,
          }
        : { type: 'None' },
    systemData: {
      createdBy: record.createdBy,
      createdByType: 'User',
      createdAt: record.createdAt,
      lastModifiedBy: record.lastModifiedBy ?? record.createdBy,
      lastModifiedByType: 'User',
      lastModifiedAt: record.lastModifiedAt,
    },
    properties: {
      agentPublicKeyCertificate: d.agentPublicKeyCertificate,
      kubernetesVersion: m?.kubernetesVersion ?? null,
      totalNodeCount: m?.totalNodeCount ?? null,
      totalCoreCount: m?.totalCoreCount ?? null,
      agentVersion: m?.agentVersion ?? null,
      provisioningState: record.provisioningState,
      distribution: d.distribution ?? m?.distribution ?? null,
      distributionVersion: d.distributionVersion ?? m?.distributionVersion ?? null,
      infrastructure: d.infrastructure ?? m?.infrastructure ?? null,
      offering: null,
      managedIdentityCertificateExpirationTime: iso(record.identity.certExpiresMs),
      lastConnectivityTime: iso(record.connectivity.lastHeartbeatMs),
      connectivityStatus: status,
      privateLinkState: d.privateLinkState ?? 'Disabled',
      azureHybridBenefit: d.azureHybridBenefit ?? 'NotApplicable',
      miscellaneousProperties: null,
      ...d.extra,
      arcAgentProfile: renderAgentProfile(record, record.agentHealth, support),
    },
  };
}

/**
 * `properties.arcAgentProfile`, from the resource's creation: the user's profile from PUT/PATCH
 * (`desiredAgentVersion`, `agentAutoUpgrade`, `systemComponents[].userSpecifiedVersion`) over the
 * defaults; once metrics-agent reported, also the read-only `agentState`, `systemComponents` and
 * `agentErrors` from the report.
 */
export function renderAgentProfile(
  record: ClusterRecord,
  health: AgentHealthRecord | undefined,
  support?: AgentSupport,
): Record<string, unknown> {
  const raw = record.desired.extra['arcAgentProfile'];
  const user: Record<string, unknown> = raw !== null && typeof raw === 'object' ? { ...raw } : {};
  const defaults = {
    desiredAgentVersion: record.metadata?.agentVersion ?? null,
    agentAutoUpgrade: 'Enabled',
  };
  const version = record.metadata?.agentVersion;
  const unsupported =
    support && version !== undefined && outOfSupport(version, support)
      ? [
          {
            message: outOfSupportMessage(version, support),
            severity: 'Warning',
            component: 'azure-arc',
            time: new Date(record.metadata!.changedAtMs).toISOString(),
          },
        ]
      : [];
  if (!health)
    return { ...defaults, ...user, ...(unsupported.length > 0 ? { agentErrors: unsupported } : {}) };
  const userVersions = new Map<string, string>();
  if (Array.isArray(user['systemComponents']))
    for (const c of user['systemComponents'] as unknown[])
      if (c !== null && typeof c === 'object') {
        const { type, userSpecifiedVersion } = c as Record<string, unknown>;
        if (typeof type === 'string' && typeof userSpecifiedVersion === 'string')
          userVersions.set(type, userSpecifiedVersion);
      }
  const systemComponents = health.components.map((c) => {
    const major = /^v?(\d+)/.exec(c.version);
    const userSpecifiedVersion = userVersions.get(c.type);
    return {
      type: c.type,
      ...(userSpecifiedVersion === undefined ? {} : { userSpecifiedVersion }),
      majorVersion: major ? Number(major[1]) : null,
      currentVersion: c.version === '' ? null : c.version,
    };
  });
  const agentErrors = [
    ...unsupported,
    ...health.components.flatMap((c) =>
      c.errors.map((e) => ({ message: e.message, severity: e.severity, component: c.type, time: e.time })),
    ),
  ];
  return {
    ...defaults,
    ...user,
    systemComponents,
    agentErrors,
    agentState: health.agentState,
  };
}

/** What identifies a health report apart from its time stamps (an unchanged report is not persisted). */
export function healthSignature(health: Pick<AgentHealthRecord, 'agentState' | 'components'>): string {
  return JSON.stringify([
    health.agentState,
    health.components.map((c) => [c.type, c.version, c.state, c.errors.map((e) => [e.severity, e.message])]),
  ]);
}

export function pushTransition(record: ClusterRecord, transition: Transition): void {
  record.transitions.push(transition);
  if (record.transitions.length > MAX_TRANSITIONS_KEPT) record.transitions.shift();
}

/**
 * Hub replicas: a follower's memory knows heartbeats the leader has not written yet (it writes them at
 * most every ARCFLEET_HUB_HEARTBEAT_PERSIST_INTERVAL). A newer record from KV in the same status keeps
 * the later lastConnectivityTime, so every replica shows the same one.
 */
export function keepLatestHeartbeat(local: ClusterRecord, fresh: ClusterRecord): void {
  const mine = local.connectivity.lastHeartbeatMs;
  const theirs = fresh.connectivity.lastHeartbeatMs;
  if (fresh.connectivity.status !== local.connectivity.status || mine === undefined) return;
  if (theirs === undefined || mine > theirs)
    fresh.connectivity = { ...fresh.connectivity, lastHeartbeatMs: mine };
}
