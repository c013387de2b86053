/**
 * The hub's behaviour: ARM operations on connectedClusters and the agent protocol, over an injected
 * store, clock and control publisher. No network code here.
 */
import type { ArcTimings } from '../../../platform/settings.js';
import type { Clock } from '../../../platform/clock.js';
import {
  ArcError,
  ERROR_CODES,
  IdentityError,
  PROTOCOL_VERSION,
  type ClusterRef,
  clusterKey,
  type AckReply,
  type AgentHealth,
  type ControlMessage,
  type Heartbeat,
  type IdentityReply,
  type MetadataReport,
  type RegisterRequest,
  type ConnectivityStatus,
  type ProvisioningState,
} from '../../../contract/index.js';
import type { IdentityAuthority } from '../../../platform/identity.js';
import { ProofVerifier, newBootstrapToken, type CertificateClaims } from '../../../platform/identity.js';
import type { Logger } from '../../../platform/log.js';
import { evaluate, onCertificate, onHeartbeat, type Step, type Transition } from './connectivity.js';
import type { HubMetrics } from '../metrics.js';
import {
  hashToken,
  healthSignature,
  newRecord,
  pushTransition,
  type ClusterRecord,
  type DesiredResource,
} from './projection.js';
import type { PatchChange } from './validation.js';
import type { ProjectionStore } from '../persistence/projection-store.js';
import { ATTR, spanEvent } from '../../../platform/tracing.js';

export const MAX_CLUSTERS_PER_RESOURCE_GROUP = 800;

function identityReply(
  issued: { certificate: string; claims: CertificateClaims },
  issuerPublicKey: string,
): IdentityReply {
  return {
    v: PROTOCOL_VERSION,
    type: 'identity',
    certificate: issued.certificate,
    notBefore: new Date(issued.claims.nbf).toISOString(),
    notAfter: new Date(issued.claims.exp).toISOString(),
    issuerPublicKey,
  };
}

function rgKey(ref: ClusterRef): string {
  return `${ref.subscriptionId.toLowerCase()}/${ref.resourceGroup.toLowerCase()}`;
}

export interface HubDeps {
  store: ProjectionStore;
  clock: Clock;
  timings: ArcTimings;
  authority: IdentityAuthority;
  metrics: HubMetrics;
  logger: Logger;
  publishControl: (ref: ClusterRef, message: ControlMessage) => void;
  /** Hook for change feeds (events API, live page). */
  onTransition?: (record: ClusterRecord, transition: Transition) => void;
  /** Removes what belongs to a deleted cluster (its configuration resources); awaited by DELETE. */
  onClusterDeleted?: (record: ClusterRecord) => Promise<void>;
}

export interface PutResult {
  record: ClusterRecord;
  created: boolean;
  /** Present when a new one-time bootstrap token was issued. */
  bootstrapToken: string | undefined;
}

export class Hub {
  readonly startedAtMs: number;
  private readonly verifier = new ProofVerifier();
  private readonly certCache = new Map<string, CertificateClaims>();
  private readonly operations = new Map<string, string>();
  private perResourceGroup: Map<string, number> | undefined;

  constructor(private readonly deps: HubDeps) {
    this.startedAtMs = deps.clock.now();
    for (const r of deps.store.values()) this.operations.set(r.operation.id, r.key);
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

  /** Kept incrementally: a scan per PUT made onboarding a large fleet quadratic. */
  private countInResourceGroup(ref: ClusterRef): number {
    if (!this.perResourceGroup) {
      this.perResourceGroup = new Map();
      for (const r of this.deps.store.values()) this.adjustResourceGroup(r.ref, 1);
    }
    return this.perResourceGroup.get(rgKey(ref)) ?? 0;
  }

  private adjustResourceGroup(ref: ClusterRef, delta: number): void {
    if (!this.perResourceGroup) return;
    const k = rgKey(ref);
    this.perResourceGroup.set(k, (this.perResourceGroup.get(k) ?? 0) + delta);
  }

  operation(id: string): ClusterRecord | undefined {
    const key = this.operations.get(id);
    return key === undefined ? undefined : this.deps.store.get(key);
  }

  counts(): {
    byStatus: Map<ConnectivityStatus, number>;
    byProvisioningState: Map<ProvisioningState, number>;
    byLocation: Map<string, number>;
    byDistribution: Map<string, number>;
  } {
    const byStatus = new Map<ConnectivityStatus, number>();
    const byProvisioningState = new Map<ProvisioningState, number>();
    const byLocation = new Map<string, number>();
    const byDistribution = new Map<string, number>();
    for (const r of this.deps.store.values()) {
      byStatus.set(r.connectivity.status, (byStatus.get(r.connectivity.status) ?? 0) + 1);
      byProvisioningState.set(r.provisioningState, (byProvisioningState.get(r.provisioningState) ?? 0) + 1);
      const loc = r.desired.location;
      byLocation.set(loc, (byLocation.get(loc) ?? 0) + 1);
      const dist = r.desired.distribution ?? r.metadata?.distribution ?? '';
      byDistribution.set(dist, (byDistribution.get(dist) ?? 0) + 1);
    }
    return { byStatus, byProvisioningState, byLocation, byDistribution };
  }

  put(ref: ClusterRef, desired: DesiredResource, caller: string): PutResult {
    const key = clusterKey(ref);
    const existing = this.deps.store.get(key);
    const now = this.deps.clock.now();
    const nowIso = new Date(now).toISOString();
    if (!existing) {
      if (this.countInResourceGroup(ref) >= MAX_CLUSTERS_PER_RESOURCE_GROUP)
        throw new ArcError(
          ERROR_CODES.QuotaExceeded,
          `Resource group '${ref.resourceGroup}' already holds ${MAX_CLUSTERS_PER_RESOURCE_GROUP} resources of type Microsoft.Kubernetes/connectedClusters.`,
          { status: 409 },
        );
      const token = newBootstrapToken();
      const record = newRecord(key, ref, desired, nowIso, now, token, caller);
      this.deps.store.set(record);
      this.adjustResourceGroup(ref, 1);
      this.operations.set(record.operation.id, key);
      this.deps.logger.info(
        { event: 'cluster.created', key, operationId: record.operation.id },
        'cluster created',
      );
      return { record, created: true, bootstrapToken: token };
    }
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
    existing.desired = desired;
    existing.lastModifiedAt = nowIso;
    let token: string | undefined;
    if (!onboarded) {
      // Not onboarded yet: a re-run of `connect` gets a fresh token, the old one stops working.
      token = newBootstrapToken();
      existing.bootstrapTokenHash = hashToken(token);
    }
    this.deps.store.set(existing);
    return { record: existing, created: false, bootstrapToken: token };
  }

  patch(ref: ClusterRef, change: PatchChange): ClusterRecord {
    const record = this.require(ref);
    const d = record.desired;
    if (change.tags !== undefined) d.tags = change.tags;
    if (change.distribution !== undefined) d.distribution = change.distribution;
    if (change.distributionVersion !== undefined) d.distributionVersion = change.distributionVersion;
    if (change.azureHybridBenefit !== undefined) d.azureHybridBenefit = change.azureHybridBenefit;
    if (change.gateway !== undefined) d.extra.gateway = change.gateway;
    record.lastModifiedAt = new Date(this.deps.clock.now()).toISOString();
    this.deps.store.set(record);
    return record;
  }

  async delete(ref: ClusterRef): Promise<boolean> {
    const record = this.get(ref);
    if (!record) return false;
    await this.deps.store.delete(record.key);
    await this.deps.onClusterDeleted?.(record);
    this.adjustResourceGroup(record.ref, -1);
    this.operations.delete(record.operation.id);
    this.deps.publishControl(record.ref, {
      v: PROTOCOL_VERSION,
      type: 'control',
      action: 'disconnect',
      reason: 'The connectedClusters resource was deleted.',
    });
    this.deps.logger.info({ event: 'cluster.deleted', key: record.key }, 'cluster deleted');
    return true;
  }

  // ---- agent protocol ----

  register(
    key: string,
    req: RegisterRequest,
    subject: string,
    payload: Uint8Array,
    signature: string | undefined,
  ): IdentityReply {
    const record = this.deps.store.get(key);
    if (!record)
      throw new IdentityError(
        ERROR_CODES.IdentityRevoked,
        'no connectedClusters resource exists for this cluster',
      );
    if (record.connectivity.status === 'Expired')
      throw new IdentityError(
        ERROR_CODES.ClusterExpired,
        'the cluster certificate has expired; delete the connectedClusters resource and connect again',
      );
    const tokenHash = hashToken(req.bootstrapToken);
    const tokenOk =
      tokenHash === record.bootstrapTokenHash ||
      // A retry after a lost reply: the same key may claim again with the token it already used.
      (record.bootstrapTokenHash === undefined && tokenHash === record.consumedBootstrapTokenHash);
    if (!tokenOk)
      throw new IdentityError(
        ERROR_CODES.InvalidBootstrapToken,
        'the bootstrap token is unknown or already used',
      );
    if (req.agentPublicKey !== record.desired.agentPublicKeyCertificate)
      throw new IdentityError(
        ERROR_CODES.IdentityInvalid,
        'the agent public key does not match properties.agentPublicKeyCertificate',
      );
    if (!signature || !this.verifier.verify(req.agentPublicKey, subject, payload, signature))
      throw new IdentityError(ERROR_CODES.IdentityInvalid, 'the request is not signed by the agent key');
    const now = this.deps.clock.now();
    const issued = this.deps.authority.issue(key, req.agentPublicKey, now, this.deps.timings.certValidityMs);
    record.identity.serials = [issued.claims.serial];
    record.identity.certExpiresMs = issued.claims.exp;
    record.connectivity = onCertificate(record.connectivity, issued.claims.exp);
    record.consumedBootstrapTokenHash = tokenHash;
    record.bootstrapTokenHash = undefined;
    if (record.provisioningState === 'Accepted') record.provisioningState = 'Provisioning';
    this.deps.store.markImportant(key);
    spanEvent('certificate issued', {
      [ATTR.clusterKey]: key,
      'arcfleet.certificate.serial': issued.claims.serial,
      'arcfleet.certificate.not_after': new Date(issued.claims.exp).toISOString(),
    });
    this.deps.logger.info(
      {
        event: 'identity.issued',
        key,
        serial: issued.claims.serial,
        notAfter: new Date(issued.claims.exp).toISOString(),
      },
      'identity certificate issued',
    );
    return identityReply(issued, this.deps.authority.publicKeySpki());
  }

  /**
   * Checks `Arc-Identity` + `Arc-Signature` of a message on a cluster's subject. Returns the record
   * and the certificate claims, or throws IdentityError with the precise reason.
   */
  authenticate(
    key: string,
    certificate: string | undefined,
    signature: string | undefined,
    subject: string,
    payload: Uint8Array,
  ): { record: ClusterRecord; claims: CertificateClaims } {
    if (!certificate)
      throw new IdentityError(ERROR_CODES.IdentityMissing, 'the message carries no identity certificate');
    let claims = this.certCache.get(certificate);
    if (!claims) {
      claims = this.deps.authority.verifyCertificate(certificate);
      if (this.certCache.size > 50_000) this.certCache.clear();
      this.certCache.set(certificate, claims);
    }
    if (claims.sub !== key)
      throw new IdentityError(
        ERROR_CODES.IdentityForeign,
        'the identity certificate belongs to another cluster',
      );
    const record = this.deps.store.get(key);
    if (!record || !record.identity.serials.includes(claims.serial))
      throw new IdentityError(ERROR_CODES.IdentityRevoked, 'the identity certificate has been revoked');
    if (claims.exp <= this.deps.clock.now())
      throw new IdentityError(ERROR_CODES.IdentityExpired, 'the identity certificate has expired');
    if (!signature || !this.verifier.verify(claims.spki, subject, payload, signature))
      throw new IdentityError(
        ERROR_CODES.IdentityInvalid,
        'the message signature does not match the certificate',
      );
    return { record, claims };
  }

  renew(record: ClusterRecord, claims: CertificateClaims): IdentityReply {
    if (record.connectivity.status === 'Expired')
      throw new IdentityError(ERROR_CODES.ClusterExpired, 'the cluster certificate has expired');
    const now = this.deps.clock.now();
    const issued = this.deps.authority.issue(record.key, claims.spki, now, this.deps.timings.certValidityMs);
    // Keep the previous serial: the cluster's other agents switch over when they re-read the secret.
    record.identity.serials = [issued.claims.serial, claims.serial];
    record.identity.certExpiresMs = issued.claims.exp;
    record.connectivity = onCertificate(record.connectivity, issued.claims.exp);
    this.deps.store.markImportant(record.key);
    spanEvent('certificate renewed', {
      [ATTR.clusterKey]: record.key,
      'arcfleet.certificate.serial': issued.claims.serial,
      'arcfleet.certificate.not_after': new Date(issued.claims.exp).toISOString(),
    });
    this.deps.logger.info(
      { event: 'identity.renewed', key: record.key, serial: issued.claims.serial },
      'identity renewed',
    );
    return identityReply(issued, this.deps.authority.publicKeySpki());
  }

  /** Resolves once the cluster's projection as it is now is in KV. */
  persisted(key: string): Promise<void> {
    return this.deps.store.whenPersisted(key);
  }

  heartbeat(record: ClusterRecord, _message: Heartbeat): void {
    this.refuseExpired(record);
    this.deps.metrics.heartbeats.inc();
    const now = this.deps.clock.now();
    const stepped = this.apply(record, onHeartbeat(record.connectivity, now));
    if (!stepped) this.deps.store.markHeartbeat(record.key);
  }

  metadata(record: ClusterRecord, report: MetadataReport): AckReply {
    this.refuseExpired(record);
    const now = this.deps.clock.now();
    if (record.metadata === undefined || report.generation > record.metadata.generation) {
      const changedAtMs = Date.parse(report.changedAt);
      record.metadata = { ...report.metadata, generation: report.generation, changedAtMs };
      this.deps.metrics.metadataReports.inc();
      this.deps.metrics.metadataSyncLagSeconds.observe(Math.max(0, now - changedAtMs) / 1000);
      this.deps.store.markImportant(record.key);
    }
    // A metadata report proves the agents are alive just as a heartbeat does.
    this.apply(record, onHeartbeat(record.connectivity, now));
    this.deps.store.markHeartbeat(record.key);
    return { v: PROTOCOL_VERSION, type: 'ack', generation: record.metadata.generation };
  }

  /**
   * metrics-agent's report of the cluster's agents: fills `arcAgentProfile`. A report whose content is
   * unchanged (apart from times) keeps the earlier one, so error times say when the problem was first seen.
   */
  agentHealth(record: ClusterRecord, report: AgentHealth): AckReply {
    this.refuseExpired(record);
    const components = report.components;
    const agentState = components.every((c) => c.state === 'Running') ? 'Succeeded' : 'Failed';
    const next = { agentState, components } as const;
    if (!record.agentHealth || healthSignature(record.agentHealth) !== healthSignature(next)) {
      record.agentHealth = { ...next, reportedAtMs: this.deps.clock.now() };
      this.deps.store.markImportant(record.key);
      this.deps.logger.info(
        { event: 'hub.agent_health_changed', key: record.key, agentState },
        'agent health changed',
      );
    }
    return { v: PROTOCOL_VERSION, type: 'ack' };
  }

  /** Re-evaluates every cluster against the clock (Offline, Expired). */
  tick(): void {
    const now = this.deps.clock.now();
    const threshold = this.deps.timings.offlineThresholdMs;
    for (const record of this.deps.store.values())
      for (let i = 0; i < 3; i++)
        if (!this.apply(record, evaluate(record.connectivity, now, threshold, this.startedAtMs))) break;
  }

  private refuseExpired(record: ClusterRecord): void {
    if (record.connectivity.status === 'Expired')
      throw new IdentityError(ERROR_CODES.ClusterExpired, 'the cluster certificate has expired');
  }

  /** Stores a step's state; returns true when the status changed. */
  private apply(record: ClusterRecord, step: Step): boolean {
    record.connectivity = step.state;
    const t = step.transition;
    if (!t) return false;
    pushTransition(record, t);
    this.deps.metrics.transitions.inc({ from: t.from, to: t.to });
    if (t.to === 'Connected' && record.provisioningState !== 'Succeeded') {
      // Inside the span of the message that proved the agents alive (the onboarding trace's last step).
      spanEvent('marked Connected', {
        [ATTR.clusterKey]: record.key,
        'arcfleet.connectivity.from': t.from,
        'arcfleet.onboarding.seconds': Math.max(0, t.atMs - record.connectRequestedMs) / 1000,
      });
      record.provisioningState = 'Succeeded';
      record.operation = {
        ...record.operation,
        status: 'Succeeded',
        endTime: new Date(t.atMs).toISOString(),
      };
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
