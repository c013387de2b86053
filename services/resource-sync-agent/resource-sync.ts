/**
 * resource-sync-agent, per cluster: once a Valid identity secret exists, connects, reports the
 * cluster metadata (request; latest generation wins, retried until acked) and heartbeats (publish)
 * every heartbeat interval. Stops on a definitive identity refusal or a `disconnect` control, and
 * resumes when a new certificate appears. The identity life cycle (when to connect, renewals,
 * disconnect, halting) is the shared `LinkedAgent`; this module is what happens while the link is up.
 */
import { createHash } from 'node:crypto';
import { trace, type Context, type Span } from '@opentelemetry/api';
import type {
  AgentContext,
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
} from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import {
  HALTING_ERRORS,
  LinkedAgent,
  type CertificateChange,
  type LinkedAgentLog,
  type LinkedAgentStatus,
} from '../../agent-runtime/linked-agent.js';
import { toIso } from '../../agent-runtime/timestamps.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';
import {
  metadataOf,
  type ClusterState,
  type IdentitySecret,
  ERROR_CODES,
  type ClusterMetadata,
  type Heartbeat,
  type MetadataReport,
  PROTOCOL_VERSION,
} from '../../contract/index.js';
import type { ArcTimings } from '../../platform/settings.js';
import { tracingEnabled } from '../../platform/tracing.js';
import { contextFromTraceFields } from '../../platform/tracing-propagation.js';
import { ATTR, failSpan, startInternalSpan } from '../../platform/tracing-spans.js';
import { LatestOutbox } from './outbox.js';
import { backoffDelay } from '../../platform/backoff.js';

export const AGENT = 'resource-sync-agent' as const;

/** Refusals of a report that resending the same report cannot fix. */
const UNDELIVERABLE_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.InvalidMessage,
  ERROR_CODES.MessageTooLarge,
  ERROR_CODES.UnsupportedProtocolVersion,
]);

/** The life-cycle log events this agent has always written (the integration tests wait for them). */
const SYNC_LOG: Partial<LinkedAgentLog> = {
  linkUp: ['sync.connected', 'connected; syncing'],
  connectFailed: ['sync.connect_failed', 'could not connect'],
  disconnect: ['sync.disconnect', 'disconnect: stopping'],
  closeFailed: ['sync.link_close_failed', 'link close failed'],
  identityUnreadable: ['sync.identity_unreadable', 'identity secret unreadable'],
};

export interface ResourceSyncOptions {
  readonly clock: Clock;
  readonly timings: Pick<ArcTimings, 'heartbeatIntervalMs'>;
  /** Real ms: first retry delay ceiling for a metadata report (default 500). */
  readonly retryBaseMs?: number;
  /** Real ms: largest retry delay (default 10 000). */
  readonly retryCapMs?: number;
  readonly random?: () => number;
}

export function resourceSyncFactory(opts: ResourceSyncOptions): AgentFactory {
  return (ctx, snapshot) => new ResourceSyncAgent(ctx, opts, snapshot);
}

interface PendingReport {
  readonly changedAt: string;
  readonly metadata: ClusterMetadata;
}

export class ResourceSyncAgent implements AgentInstance {
  private readonly linked: LinkedAgent;
  private snapshot: ClusterSnapshot;
  /** The link while syncing (up, and this certificate's first-sync question settled). */
  private link: AgentLink | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private sending = false;
  private attempt = 0;
  /** Certificate in use (or last used, when halted or disconnected). */
  private certificate: string | undefined;
  private readonly outbox = new LatestOutbox<PendingReport>();
  private readonly endings = new Set<Promise<void>>();
  /** The first sync of a new certificate, continuing its onboarding trace (tracing on only). */
  private firstSync: { readonly span: Span; readonly ctx: Context; readonly fingerprint: string } | undefined;
  /** Settles once it is known whether this certificate's first sync is still to come (memo read). */
  private firstSyncDecided: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: ResourceSyncOptions,
    snapshot: ClusterSnapshot,
  ) {
    this.snapshot = snapshot;
    this.offer(snapshot.state);
    this.linked = new LinkedAgent(
      ctx,
      snapshot,
      {
        onCertificate: (s, change) => this.onCertificate(s, change),
        onLinkUp: (link) => this.onLinkUp(link),
        onStop: (next) => this.onStop(next),
        onLinkDown: () => this.onLinkDown(),
        onSnapshot: (s, changes) => this.onSnapshot(s, changes),
        outboxDepth: () => (this.outbox.pending ? 1 : 0),
        settle: async () => {
          await Promise.all([...this.endings]);
        },
      },
      { log: SYNC_LOG },
    );
  }

  get currentStatus(): LinkedAgentStatus {
    return this.linked.currentStatus;
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.linked.update(snapshot, changes);
  }

  /** 1 while a metadata report waits to be sent or acknowledged. */
  outboxDepth(): number {
    return this.linked.outboxDepth();
  }

  close(): Promise<void> {
    return this.linked.close();
  }

  private get log(): AgentContext['logger'] {
    return this.ctx.logger;
  }

  private onSnapshot(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (!changes.state) return;
    this.offer(snapshot.state);
    void this.flush();
  }

  /** A new certificate: a new key means a new onboarding, whose hub may not have our metadata. */
  private onCertificate(snapshot: ClusterSnapshot, change: CertificateChange): void {
    this.snapshot = snapshot;
    const identity = snapshot.identity as IdentitySecret;
    this.certificate = identity.certificate;
    if (!change.starting)
      this.log.info(
        { event: 'sync.identity_updated', newKey: change.newKey },
        'using the new identity certificate',
      );
    if (change.starting || change.newKey) {
      this.resend();
      this.beginFirstSync(identity);
    }
  }

  private onLinkUp(link: AgentLink): void {
    // A restarted agent must know whether this certificate's first sync is done before it sends.
    void this.firstSyncDecided.then(() => {
      if (this.linked.link !== link) return;
      this.link = link;
      this.sendHeartbeat();
      this.heartbeatTimer = this.opts.clock.setInterval(
        () => this.sendHeartbeat(),
        this.opts.timings.heartbeatIntervalMs,
      );
      void this.flush();
    });
  }

  private onStop(next: LinkedAgentStatus): void {
    this.endFirstSync(next);
    if (next !== 'waiting') return;
    // The life cycle's snapshot: this.snapshot catches up only after the identity was evaluated.
    const expired = this.linked.cluster.identity?.state === 'Expired';
    if (expired) this.log.error({ event: 'sync.identity_expired' }, 'identity certificate expired; stopped');
    const reason = expired ? 'identity expired' : 'no valid identity';
    this.log.info({ event: 'sync.stopped', reason }, 'stopped: waiting for a valid identity');
  }

  private onLinkDown(): void {
    this.link = undefined;
    if (this.heartbeatTimer) this.opts.clock.clear(this.heartbeatTimer);
    if (this.retryTimer) this.opts.clock.clear(this.retryTimer);
    this.heartbeatTimer = undefined;
    this.retryTimer = undefined;
    this.attempt = 0;
  }

  /**
   * One onboarding is one trace: the first sync with a certificate continues the trace that
   * clusteridentityoperator stored in the identity secret (heartbeat and metadata until the first ack).
   */
  private beginFirstSync(identity: IdentitySecret): void {
    this.endFirstSync('superseded');
    if (!tracingEnabled() || identity.traceparent === undefined) return;
    const parent = contextFromTraceFields(identity);
    if (!trace.getSpanContext(parent)) return;
    const fingerprint = certificateFingerprint(identity.certificate);
    const { store, clusterName } = this.ctx;
    // A restarted agent finds this certificate's first sync already done: its onboarding trace is over.
    this.firstSyncDecided = store.readAgentMemo(clusterName, AGENT).then(
      (memo) => {
        if (memo?.firstSyncCertificate === fingerprint || this.certificate !== identity.certificate) return;
        const status = this.linked.currentStatus;
        if (status !== 'connecting' && status !== 'up') return;
        this.endFirstSync('superseded');
        const span = startInternalSpan('first sync', parent, { [ATTR.clusterName]: clusterName });
        this.firstSync = { span, ctx: trace.setSpan(parent, span), fingerprint };
      },
      (err: unknown) => this.log.warn({ event: 'sync.memo_unreadable', err }, 'agent memo unreadable'),
    );
  }

  /** Ends the first-sync span; `failure` when it ended without an ack. */
  private endFirstSync(failure?: string, message?: string): void {
    const first = this.firstSync;
    if (!first) return;
    this.firstSync = undefined;
    if (failure !== undefined) failSpan(first.span, failure, message);
    first.span.end();
    if (failure !== undefined) return;
    const write = this.ctx.store
      .writeAgentMemo(this.ctx.clusterName, AGENT, { firstSyncCertificate: first.fingerprint })
      .catch((err: unknown) =>
        this.log.warn({ event: 'sync.memo_write_failed', err }, 'agent memo write failed'),
      );
    this.endings.add(write);
    void write.finally(() => this.endings.delete(write));
  }

  private offer(state: ClusterState): void {
    this.outbox.put(state.generation, {
      changedAt: toIso(state.changedAt, this.opts.clock.now()),
      metadata: metadataOf(state),
    });
  }

  /** Makes the current state pending again (a new identity: the hub may not have it). */
  private resend(): void {
    this.outbox.resetAcks();
    if (!this.outbox.pending) this.offer(this.snapshot.state);
  }

  /** A certificate past its expiry is never accepted again: stop instead of being refused forever. */
  private expiredLocally(): boolean {
    const notAfterMs = this.linked.notAfterMs;
    if (this.opts.clock.now() < notAfterMs) return false;
    this.linked.halt('identity expired');
    this.log.error(
      { event: 'sync.identity_expired', notAfter: new Date(notAfterMs).toISOString() },
      'identity certificate expired; heartbeats stopped until a new certificate',
    );
    return true;
  }

  private sendHeartbeat(): void {
    if (!this.link || this.expiredLocally()) return;
    const message: Heartbeat = {
      v: PROTOCOL_VERSION,
      type: 'heartbeat',
      agent: AGENT,
      agentVersion: this.snapshot.state.agentVersion,
      sentAt: new Date(this.opts.clock.now()).toISOString(),
    };
    this.link.publish('heartbeat', message, this.firstSync?.ctx);
  }

  private async flush(): Promise<void> {
    const link = this.link;
    const entry = this.outbox.pending;
    if (this.sending || !link || !entry || this.retryTimer) return;
    if (this.expiredLocally()) return;
    this.sending = true;
    const report: MetadataReport = {
      v: PROTOCOL_VERSION,
      type: 'metadata',
      agent: AGENT,
      generation: entry.generation,
      changedAt: entry.item.changedAt,
      sentAt: new Date(this.opts.clock.now()).toISOString(),
      metadata: entry.item.metadata,
    };
    let result: Awaited<ReturnType<AgentLink['request']>>;
    try {
      result = await link.request('metadata', report, undefined, this.firstSync?.ctx);
    } finally {
      this.sending = false;
    }
    if (link !== this.link) return;
    if (result.ok && result.reply.type === 'ack') {
      this.outbox.ack(entry.generation);
      this.attempt = 0;
      this.endFirstSync();
      this.log.debug({ event: 'sync.metadata_acked', generation: entry.generation }, 'metadata acknowledged');
      if (this.outbox.pending) void this.flush();
      return;
    }
    let reason: string;
    if (result.ok && result.reply.type === 'error') {
      const { code, message } = result.reply;
      if (HALTING_ERRORS.has(code)) {
        this.linked.halt(code);
        this.log.error(
          { event: 'sync.refused', code, detail: message },
          'the hub refused our identity; heartbeats stopped until a new certificate',
        );
        return;
      }
      if (UNDELIVERABLE_ERRORS.has(code)) {
        this.outbox.ack(entry.generation);
        this.endFirstSync(code, message);
        this.log.error(
          { event: 'sync.metadata_rejected', code, detail: message, generation: entry.generation },
          'metadata report rejected; dropped',
        );
        return;
      }
      reason = code;
    } else if (result.ok) reason = `unexpected reply ${result.reply.type}`;
    else reason = result.reason;
    const delayMs = backoffDelay(this.attempt++, {
      baseMs: this.opts.retryBaseMs ?? 500,
      maxMs: this.opts.retryCapMs ?? 10_000,
      ...(this.opts.random ? { random: this.opts.random } : {}),
    });
    this.log.warn(
      { event: 'sync.metadata_retry', reason, attempt: this.attempt, delayMs, generation: entry.generation },
      'metadata report failed; will retry',
    );
    this.retryTimer = this.opts.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, delayMs * this.opts.clock.timeScale);
  }
}

function certificateFingerprint(certificate: string): string {
  return createHash('sha256').update(certificate).digest('hex');
}
