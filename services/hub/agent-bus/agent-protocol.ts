/**
 * The agent protocol's meaning: what an agent's register, renew, heartbeat, metadata and agent-health
 * messages do to its cluster's record. Who sent a message is settled before it arrives: the broker lets
 * a cluster's NATS user publish only on that cluster's subjects (docs/broker-identity.md), so the
 * subject names the caller. What is left to check here is the record: it exists (not deleted), is not
 * Expired, and register presents the one-time token and the key the resource names.
 * The NATS side (subscribing, decoding, replying) is agent-bus.ts; the records are connected-clusters/.
 */
import type { ArcTimings } from '../../../platform/settings.js';
import type { Clock } from '../../../platform/clock.js';
import {
  ERROR_CODES,
  IdentityError,
  PROTOCOL_VERSION,
  type AckReply,
  type AgentHealth,
  type Heartbeat,
  type IdentityReply,
  type MetadataReport,
  type RegisterRequest,
} from '../../../contract/index.js';
import type { CertificateClaims, IdentityAuthority } from '../../../platform/identity.js';
import type { Logger } from '../../../platform/log.js';
import { ATTR, spanEvent } from '../../../platform/tracing-spans.js';
import { onCertificate, onHeartbeat } from '../connected-clusters/connectivity.js';
import type { ConnectedClusters } from '../connected-clusters/connected-clusters.js';
import { hashToken, healthSignature, type ClusterRecord } from '../connected-clusters/projection.js';
import type { HubMetrics } from '../metrics.js';
import { SOLE_LEADER, type Leadership } from '../persistence/leader-lease.js';
import type { ProjectionStore } from '../persistence/projection-store.js';
import { metadataDueAt, newestMetadata, offerMetadata } from '../connected-clusters/late-metadata.js';

export interface AgentProtocolDeps {
  /** The records the messages change, and the connectivity state machine they step. */
  clusters: ConnectedClusters;
  store: ProjectionStore;
  clock: Clock;
  timings: ArcTimings;
  authority: IdentityAuthority;
  metrics: HubMetrics;
  logger: Logger;
  /** Whether this replica leads (persists heartbeats and makes their transitions); default: always. */
  leadership?: Leadership | undefined;
}

/** What the agent bus asks of the hub for each kind of agent message. */
export interface AgentMessages {
  register(key: string, req: RegisterRequest): IdentityReply;
  /** The record of the cluster a message's subject names; IdentityRevoked when there is none. */
  recordOf(key: string): ClusterRecord;
  renew(record: ClusterRecord): IdentityReply;
  heartbeat(record: ClusterRecord, message: Heartbeat): void;
  metadata(record: ClusterRecord, report: MetadataReport): AckReply;
  agentHealth(record: ClusterRecord, report: AgentHealth): AckReply;
  /** Resolves once the cluster's record as it is now is in KV (replies an agent relies on wait for it). */
  persisted(key: string): Promise<void>;
}

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

export class AgentProtocol implements AgentMessages {
  constructor(private readonly deps: AgentProtocolDeps) {}

  register(key: string, req: RegisterRequest): IdentityReply {
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
    const now = this.deps.clock.now();
    const issued = this.deps.authority.issue(key, req.agentPublicKey, now, this.deps.timings.certValidityMs);
    record.identity.serials = [issued.claims.serial];
    record.identity.certExpiresMs = issued.claims.exp;
    record.connectivity = onCertificate(record.connectivity, issued.claims.exp);
    record.consumedBootstrapTokenHash = tokenHash;
    record.bootstrapTokenHash = undefined;
    if (record.provisioningState === 'Accepted') record.provisioningState = 'Provisioning';
    if (record.metadata === undefined && record.metadataDueMs === undefined) {
      const t = this.deps.clusters.resourceTimings;
      record.metadataDueMs = metadataDueAt(now, t.metadataDelayMs, t.metadataJitterMs);
    }
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

  recordOf(key: string): ClusterRecord {
    const record = this.deps.store.get(key);
    if (!record)
      throw new IdentityError(
        ERROR_CODES.IdentityRevoked,
        'no connectedClusters resource exists for this cluster (deleted)',
      );
    return record;
  }

  persisted(key: string): Promise<void> {
    return this.deps.store.whenPersisted(key);
  }

  renew(record: ClusterRecord): IdentityReply {
    if (record.connectivity.status === 'Expired')
      throw new IdentityError(ERROR_CODES.ClusterExpired, 'the cluster certificate has expired');
    const now = this.deps.clock.now();
    const spki = record.desired.agentPublicKeyCertificate;
    const issued = this.deps.authority.issue(record.key, spki, now, this.deps.timings.certValidityMs);
    record.identity.serials = [issued.claims.serial, ...record.identity.serials.slice(0, 1)];
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

  heartbeat(record: ClusterRecord, _message: Heartbeat): void {
    this.refuseExpired(record);
    this.deps.metrics.heartbeats.inc();
    const now = this.deps.clock.now();
    const step = onHeartbeat(record.connectivity, now);
    if (!(this.deps.leadership ?? SOLE_LEADER).isLeader()) {
      // Every replica gets every heartbeat (docs/scale-out.md#hub-replicas): a follower keeps
      // lastConnectivityTime current in memory, so its reads answer as the leader's do, and leaves
      // the transition and the write to the leader.
      if (!step.transition) record.connectivity = step.state;
      return;
    }
    if (!this.deps.clusters.applyStep(record, step)) this.deps.store.markHeartbeat(record.key);
  }

  metadata(record: ClusterRecord, report: MetadataReport): AckReply {
    this.refuseExpired(record);
    const now = this.deps.clock.now();
    const changedAtMs = Date.parse(report.changedAt);
    const incoming = { ...report.metadata, generation: report.generation, changedAtMs };
    if (offerMetadata(record, incoming, now)) {
      this.deps.metrics.metadataReports.inc();
      this.deps.metrics.metadataSyncLagSeconds.observe(Math.max(0, now - changedAtMs) / 1000);
      this.deps.store.markImportant(record.key);
    }
    // A metadata report proves the agents are alive just as a heartbeat does.
    this.deps.clusters.applyStep(record, onHeartbeat(record.connectivity, now));
    this.deps.store.markHeartbeat(record.key);
    return { v: PROTOCOL_VERSION, type: 'ack', generation: newestMetadata(record)?.generation ?? 0 };
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

  private refuseExpired(record: ClusterRecord): void {
    if (record.connectivity.status === 'Expired')
      throw new IdentityError(ERROR_CODES.ClusterExpired, 'the cluster certificate has expired');
  }
}
