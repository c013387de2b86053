/**
 * The connectedClusters resources: the ARM operations on them (PUT, PATCH, DELETE, reads, the PUT's
 * operation) and their connectivity over time, over an injected store, clock and control publisher.
 * What agents' messages do to a record is agent-bus/agent-protocol.ts. No network code here.
 */
import type { ArcTimings } from '../../../platform/settings.js';
import type { Clock } from '../../../platform/clock.js';
import {
  ArcError,
  ERROR_CODES,
  PROTOCOL_VERSION,
  type ClusterRef,
  clusterKey,
  type ControlMessage,
} from '../../../contract/index.js';
import { newBootstrapToken } from '../../../platform/identity.js';
import type { Logger } from '../../../platform/log.js';
import { ATTR, spanEvent } from '../../../platform/tracing-spans.js';
import type { HubMetrics } from '../metrics.js';
import type { ProjectionStore } from '../persistence/projection-store.js';
import { evaluate, type Step, type Transition } from './connectivity.js';
import {
  hashToken,
  newRecord,
  pushTransition,
  renderResource,
  type ClusterRecord,
  type DesiredResource,
} from './projection.js';
import { agentProfileChanged, checkAgentProfile, type AgentReleaseLookup } from './agent-profile.js';
import { checkDesiredSize, type PatchChange } from './validation.js';
import { showDueMetadata } from './late-metadata.js';
import { countRecords, GroupCounts, type FleetCounts } from './counts.js';
import {
  beginDelete,
  beginUpdate,
  completeDueWrite,
  isDue,
  operationView,
  parseOperationId,
  type OperationView,
} from './operations.js';

export const MAX_CLUSTERS_PER_RESOURCE_GROUP = 800;

/** A resource being deleted takes no other write (ARM answers 409 until it is gone). */
function refuseWhileDeleting(record: ClusterRecord): void {
  if (record.provisioningState === 'Deleting')
    throw new ArcError(
      ERROR_CODES.Conflict,
      `The connected cluster '${record.ref.name}' is being deleted. Wait for the deletion to finish, then create it again.`,
      { status: 409 },
    );
}

/** Simulated ms of the resource's own life, apart from its agents (HubSettings). */
export interface ResourceTimings {
  /** A PUT's operation completes this long after the PUT. */
  provisioningDelayMs: number;
  /** A DELETE removes the resource this long after the DELETE. */
  deleteDelayMs: number;
  /** A resource whose agents were never heard reads AgentNotInstalled this long after its creation. */
  agentNotInstalledAfterMs: number;
  /** Metadata is shown this long after the agents first register, plus up to `metadataJitterMs`. */
  metadataDelayMs: number;
  metadataJitterMs: number;
}

export const DEFAULT_RESOURCE_TIMINGS: ResourceTimings = Object.freeze({
  provisioningDelayMs: 10_000,
  deleteDelayMs: 30_000,
  agentNotInstalledAfterMs: 3_600_000,
  metadataDelayMs: 5 * 60_000,
  metadataJitterMs: 5 * 60_000,
});

export interface ConnectedClustersDeps {
  store: ProjectionStore;
  clock: Clock;
  timings: ArcTimings;
  resourceTimings?: ResourceTimings;
  metrics: HubMetrics;
  logger: Logger;
  /** Tells a deleted cluster's agents to disconnect. */
  publishControl: (ref: ClusterRef, message: ControlMessage) => void;
  /** Hook for change feeds (events API, live page). */
  onTransition?: (record: ClusterRecord, transition: Transition) => void;
  /** Removes what belongs to a deleted cluster (its configuration resources); awaited by DELETE. */
  onClusterDeleted?: (record: ClusterRecord) => Promise<void>;
  /** The agent releases: `desiredAgentVersion` checked against them, support shown in `agentErrors`. */
  releases?: AgentReleaseLookup;
}

export interface PutResult {
  record: ClusterRecord;
  created: boolean;
  /** Present when a new one-time bootstrap token was issued. */
  bootstrapToken: string | undefined;
}

export class ConnectedClusters {
  /** Since when the hub hears the agents: its start, or its last reconnect to the broker. */
  private hearingSinceMs: number;
  /** The hub's own broker connection is down: the agents' silence proves nothing. */
  private deaf = false;
  private readonly operations = new Map<string, string>();
  /** Clusters per resource group, for ARM's quota: kept incrementally (a scan per PUT was quadratic). */
  private readonly perResourceGroup: GroupCounts;
  /** DELETEs being carried out (their removal is asynchronous; a tick must not start one twice). */
  private readonly removing = new Set<string>();
  readonly resourceTimings: ResourceTimings;

  constructor(private readonly deps: ConnectedClustersDeps) {
    this.resourceTimings = deps.resourceTimings ?? DEFAULT_RESOURCE_TIMINGS;
    this.perResourceGroup = new GroupCounts(() => deps.store.values());
    this.hearingSinceMs = deps.clock.now();
    for (const r of deps.store.values()) this.operations.set(r.operation.id, r.key);
    deps.store.onRemoteChange((_key, before, after) => this.remoteChanged(before, after));
  }

  /** Another hub replica changed a record (replicas: the KV watch): the indexes and feeds follow. */
  private remoteChanged(before: ClusterRecord | undefined, after: ClusterRecord | undefined): void {
    if (before) {
      this.operations.delete(before.operation.id);
      this.perResourceGroup.adjust(before.ref, -1);
    }
    if (!after) return;
    this.operations.set(after.operation.id, after.key);
    this.perResourceGroup.adjust(after.ref, 1);
    // Its transitions reach this replica's event log and live page as if made here.
    const lastSeen = before?.transitions.at(-1)?.atMs ?? -Infinity;
    for (const t of after.transitions) if (t.atMs > lastSeen) this.deps.onTransition?.(after, t);
  }

  get(ref: ClusterRef): ClusterRecord | undefined {
    return this.deps.store.get(clusterKey(ref));
  }

  require(ref: ClusterRef): ClusterRecord {
    const record = this.get(ref);
    if (!record)
      throw new ArcError(
        ERROR_CODES.ResourceNotFound,
        `The Resource 'Microsoft.Kubernetes/connectedClusters/${ref.name}' under resource group '${ref.resourceGroup}' was not found.`,
        { status: 404 },
      );
    return record;
  }

  /** Every projection (the live page's tiles). */
  all(): IterableIterator<ClusterRecord> {
    return this.deps.store.values();
  }

  byKey(key: string): ClusterRecord | undefined {
    return this.deps.store.get(key);
  }

  /** All records of a subscription (and resource group), in a stable order for paging. */
  list(subscriptionId: string, resourceGroup?: string): ClusterRecord[] {
    const sub = subscriptionId.toLowerCase();
    const rg = resourceGroup?.toLowerCase();
    const out: ClusterRecord[] = [];
    for (const r of this.deps.store.values())
      if (
        r.ref.subscriptionId.toLowerCase() === sub &&
        (rg === undefined || r.ref.resourceGroup.toLowerCase() === rg)
      )
        out.push(r);
    out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return out;
  }

  /** The status of operation `id` (of a PUT or DELETE), and the record it is about while it exists. */
  operation(id: string): { view: OperationView; record: ClusterRecord | undefined; key: string } | undefined {
    const key = this.operations.get(id) ?? parseOperationId(id)?.key;
    if (key === undefined) return undefined;
    const record = this.deps.store.get(key);
    const view = operationView(record, id);
    return view && { view, record, key };
  }

  counts(): FleetCounts {
    return countRecords(this.deps.store.values());
  }

  /** The support window of the agent releases offered now (none: this hub offers none). */
  agentSupport() {
    return this.deps.releases?.support();
  }

  /** The ARM resource, with the agents' support judged against the releases offered now. */
  render(record: ClusterRecord) {
    return renderResource(record, this.agentSupport());
  }

  put(ref: ClusterRef, desired: DesiredResource, caller: string): PutResult {
    checkDesiredSize(ref.name, desired);
    checkAgentProfile(desired, this.deps.releases);
    const key = clusterKey(ref);
    const existing = this.deps.store.get(key);
    const now = this.deps.clock.now();
    const nowIso = new Date(now).toISOString();
    if (!existing) {
      if (this.perResourceGroup.count(ref) >= MAX_CLUSTERS_PER_RESOURCE_GROUP)
        throw new ArcError(
          ERROR_CODES.QuotaExceeded,
          `Resource group '${ref.resourceGroup}' already holds ${MAX_CLUSTERS_PER_RESOURCE_GROUP} resources of type Microsoft.Kubernetes/connectedClusters.`,
          { status: 409 },
        );
      const token = newBootstrapToken();
      const record = newRecord(
        key,
        ref,
        desired,
        nowIso,
        now,
        token,
        caller,
        this.resourceTimings.provisioningDelayMs,
      );
      this.deps.store.set(record);
      this.perResourceGroup.adjust(ref, 1);
      this.operations.set(record.operation.id, key);
      this.deps.logger.info(
        { event: 'cluster.created', key, operationId: record.operation.id },
        'cluster created',
      );
      return { record, created: true, bootstrapToken: token };
    }
    refuseWhileDeleting(existing);
    if (existing.desired.location !== desired.location)
      throw new ArcError(
        ERROR_CODES.InvalidResourceLocation,
        `The resource '${ref.name}' already exists in location '${existing.desired.location}'. A resource cannot be moved to '${desired.location}'; delete it and connect again.`,
        { status: 409, target: 'location' },
      );
    const onboarded = existing.identity.serials.length > 0;
    const keyChanged = existing.desired.agentPublicKeyCertificate !== desired.agentPublicKeyCertificate;
    if (onboarded && keyChanged)
      throw new ArcError(
        ERROR_CODES.Conflict,
        `The cluster '${ref.name}' is already connected with another agent key. Delete it and connect again to replace the agent.`,
        { status: 409, target: 'properties.agentPublicKeyCertificate' },
      );
    if (onboarded && agentProfileChanged(existing.desired, desired))
      this.deps.publishControl(ref, {
        v: PROTOCOL_VERSION,
        type: 'control',
        action: 'upgrade-check',
        reason: 'arcAgentProfile changed',
      });
    existing.desired = desired;
    existing.lastModifiedAt = nowIso;
    existing.lastModifiedBy = caller;
    this.operations.delete(existing.operation.id);
    beginUpdate(existing, now, this.resourceTimings.provisioningDelayMs);
    this.operations.set(existing.operation.id, key);
    let token: string | undefined;
    if (!onboarded) {
      // Not onboarded yet: a re-run of `connect` gets a fresh token, the old one stops working.
      token = newBootstrapToken();
      existing.bootstrapTokenHash = hashToken(token);
      existing.connectRequestedMs = now;
    }
    this.deps.store.set(existing);
    return { record: existing, created: false, bootstrapToken: token };
  }

  patch(ref: ClusterRef, change: PatchChange, caller: string): ClusterRecord {
    const record = this.require(ref);
    refuseWhileDeleting(record);
    // Built aside and checked first: a change too large to store leaves the record as it was.
    const d = { ...record.desired, extra: { ...record.desired.extra } };
    if (change.tags !== undefined) d.tags = change.tags;
    if (change.distribution !== undefined) d.distribution = change.distribution;
    if (change.distributionVersion !== undefined) d.distributionVersion = change.distributionVersion;
    if (change.azureHybridBenefit !== undefined) d.azureHybridBenefit = change.azureHybridBenefit;
    if (change.gateway !== undefined) d.extra.gateway = change.gateway;
    checkDesiredSize(ref.name, d);
    record.desired = d;
    record.lastModifiedAt = new Date(this.deps.clock.now()).toISOString();
    record.lastModifiedBy = caller;
    this.deps.store.set(record);
    return record;
  }

  /**
   * A DELETE: the resource shows Deleting and goes once `deleteDelayMs` passed (tick). Undefined when
   * there is no such resource; a DELETE of one already being deleted gets the running operation.
   */
  beginDelete(ref: ClusterRef): ClusterRecord | undefined {
    const record = this.get(ref);
    if (!record) return undefined;
    const before = record.operation.id;
    if (beginDelete(record, this.deps.clock.now(), this.resourceTimings.deleteDelayMs)) {
      this.operations.delete(before);
      this.operations.set(record.operation.id, record.key);
      this.deps.store.set(record);
      this.deps.logger.info(
        { event: 'cluster.deleting', key: record.key, operationId: record.operation.id },
        'cluster deleting',
      );
    }
    return record;
  }

  /** Removes the resource now: what a DELETE's operation does when it completes. */
  async delete(ref: ClusterRef): Promise<boolean> {
    const record = this.get(ref);
    if (!record) return false;
    await this.remove(record);
    return true;
  }

  private async remove(record: ClusterRecord): Promise<void> {
    await this.deps.store.delete(record.key);
    // Told before onClusterDeleted revokes the cluster's broker user, which ends its connections.
    this.deps.publishControl(record.ref, {
      v: PROTOCOL_VERSION,
      type: 'control',
      action: 'disconnect',
      reason: 'The connectedClusters resource was deleted.',
    });
    await this.deps.onClusterDeleted?.(record);
    this.perResourceGroup.adjust(record.ref, -1);
    this.operations.delete(record.operation.id);
    this.deps.logger.info({ event: 'cluster.deleted', key: record.key }, 'cluster deleted');
  }

  /** Completes the record's operation, and shows its metadata, if their time has come. */
  private completeDue(record: ClusterRecord, now: number): void {
    if (showDueMetadata(record, now)) this.deps.store.set(record);
    if (!isDue(record, now)) return;
    if (record.operation.kind === 'delete') {
      if (this.removing.has(record.key)) return;
      this.removing.add(record.key);
      this.remove(record)
        .catch((err: unknown) =>
          this.deps.logger.error({ event: 'cluster.delete_failed', key: record.key, err }, 'delete failed'),
        )
        .finally(() => this.removing.delete(record.key));
      return;
    }
    completeDueWrite(record, now);
    this.deps.store.set(record);
    this.deps.logger.info(
      {
        event: 'cluster.provisioned',
        key: record.key,
        provisioningState: record.provisioningState,
        operationId: record.operation.id,
      },
      `${record.ref.name}: ${record.provisioningState}`,
    );
  }

  /** Resolves once the cluster's projection as it is now is in KV. */
  persisted(key: string): Promise<void> {
    return this.deps.store.whenPersisted(key);
  }

  /**
   * The hub's broker connection went down (false) or came back (true). A hub cut off from the broker
   * cannot tell silent clusters from its own absence (a broker node failing over, its own link
   * reconnecting): no cluster goes Offline while it is down, and deadlines count from its return.
   */
  brokerLink(up: boolean): void {
    this.deaf = !up;
    if (up) this.hearingSinceMs = this.deps.clock.now();
  }

  /** Completes due operations and re-evaluates every cluster against the clock (Offline, Expired, ...). */
  tick(): void {
    const now = this.deps.clock.now();
    const threshold = this.deps.timings.offlineThresholdMs;
    const blindSince = this.deaf ? now : this.hearingSinceMs;
    const missingAfter = this.resourceTimings.agentNotInstalledAfterMs;
    // One pass over the fleet per tick (10,000 records every evaluate interval).
    for (const record of this.deps.store.values()) {
      this.completeDue(record, now);
      const missingAt = record.connectRequestedMs + missingAfter;
      for (let i = 0; i < 3; i++)
        if (!this.applyStep(record, evaluate(record.connectivity, now, threshold, blindSince, missingAt)))
          break;
    }
  }

  /**
   * Stores a step of the connectivity state machine (from the clock here, from agent messages in the
   * agent protocol); returns true when the status changed.
   */
  applyStep(record: ClusterRecord, step: Step): boolean {
    record.connectivity = step.state;
    const t = step.transition;
    if (!t) return false;
    pushTransition(record, t);
    this.deps.metrics.transitions.inc({ from: t.from, to: t.to });
    if (t.to === 'Connected' && (t.from === 'Connecting' || t.from === 'AgentNotInstalled')) {
      // Inside the span of the message that proved the agents alive (the onboarding trace's last step).
      spanEvent('marked Connected', {
        [ATTR.clusterKey]: record.key,
        'arcfleet.connectivity.from': t.from,
        'arcfleet.onboarding.seconds': Math.max(0, t.atMs - record.connectRequestedMs) / 1000,
      });
      this.deps.metrics.onboardingSeconds.observe(Math.max(0, t.atMs - record.connectRequestedMs) / 1000);
    }
    this.deps.store.markImportant(record.key);
    this.deps.logger.info(
      {
        event: 'cluster.transition',
        key: record.key,
        from: t.from,
        to: t.to,
        reason: t.reason,
        at: new Date(t.atMs).toISOString(),
      },
      `${record.ref.name}: ${t.from} -> ${t.to}`,
    );
    this.deps.onTransition?.(record, t);
    return true;
  }
}
