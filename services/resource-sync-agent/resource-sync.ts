/**
 * resource-sync-agent, per cluster: once a Valid identity secret exists, connects, reports the
 * cluster metadata (request; latest generation wins, retried until acked) and heartbeats (publish)
 * every heartbeat interval. Stops on a definitive identity refusal or a `disconnect` control, and
 * resumes when a new certificate appears.
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
import { toIso } from '../../agent-runtime/timestamps.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';
import {
  metadataOf,
  type ClusterState,
  type IdentitySecret,
  ERROR_CODES,
  type ClusterMetadata,
  type ControlMessage,
  type Heartbeat,
  type MetadataReport,
  PROTOCOL_VERSION,
} from '../../contract/index.js';
import type { ArcTimings } from '../../platform/settings.js';
import { readCertificateClaims } from '../../platform/identity.js';
import {
  ATTR,
  contextFromTraceFields,
  failSpan,
  startInternalSpan,
  tracingEnabled,
} from '../../platform/tracing.js';
import { LatestOutbox } from './outbox.js';
import { backoffDelay } from '../../platform/backoff.js';

export const AGENT = 'resource-sync-agent' as const;

/** Refusals after which this certificate will never be accepted again. */
export const HALTING_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.IdentityExpired,
  ERROR_CODES.IdentityRevoked,
  ERROR_CODES.ClusterExpired,
]);
/** Refusals of a report that resending the same report cannot fix. */
const UNDELIVERABLE_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.InvalidMessage,
  ERROR_CODES.MessageTooLarge,
  ERROR_CODES.UnsupportedProtocolVersion,
]);

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

export type SyncStatus = 'waiting' | 'connecting' | 'running' | 'halted' | 'disconnected' | 'closed';

interface PendingReport {
  readonly changedAt: string;
  readonly metadata: ClusterMetadata;
}

export class ResourceSyncAgent implements AgentInstance {
  private status: SyncStatus = 'waiting';
  private snapshot: ClusterSnapshot;
  private link: AgentLink | undefined;
  private abort: AbortController | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private sending = false;
  private attempt = 0;
  /** Certificate and key in use (or last used, when halted or disconnected). */
  private certificate: string | undefined;
  private spki: string | undefined;
  /** Simulated expiry of `certificate`. */
  private certExpMs = Infinity;
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
    this.evaluate();
  }

  get currentStatus(): SyncStatus {
    return this.status;
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (changes.state) this.offer(snapshot.state);
    if (changes.identity || changes.onboarding) this.evaluate();
    if (changes.state) void this.flush();
  }

  /** 1 while a metadata report waits to be sent or acknowledged. */
  outboxDepth(): number {
    return this.outbox.pending ? 1 : 0;
  }

  async close(): Promise<void> {
    this.deactivate('closed');
    await Promise.all([...this.endings]);
  }

  private get log(): AgentContext['logger'] {
    return this.ctx.logger;
  }

  /** Starts, switches credentials or stops according to the secrets. */
  private evaluate(): void {
    if (this.status === 'closed') return;
    const { onboarding, identity } = this.snapshot;
    let spki: string | undefined;
    let expMs = Infinity;
    if (onboarding && identity?.state === 'Valid') {
      try {
        ({ spki, exp: expMs } = readCertificateClaims(identity.certificate));
      } catch (err) {
        this.log.warn({ event: 'sync.identity_unreadable', err }, 'identity secret unreadable');
      }
    }
    const usable = onboarding !== undefined && identity !== undefined && spki === onboarding.publicKey;
    if (!usable || !identity || !onboarding) {
      if (this.status === 'running' || this.status === 'connecting') {
        const reason = identity?.state === 'Expired' ? 'identity expired' : 'no valid identity';
        if (identity?.state === 'Expired')
          this.log.error({ event: 'sync.identity_expired' }, 'identity certificate expired; stopped');
        this.deactivate('waiting');
        this.log.info({ event: 'sync.stopped', reason }, 'stopped: waiting for a valid identity');
      }
      return;
    }
    if (this.status === 'running' || this.status === 'connecting') {
      if (identity.certificate !== this.certificate) {
        const newKey = spki !== this.spki;
        this.certificate = identity.certificate;
        this.spki = spki;
        this.certExpMs = expMs;
        this.link?.setCredentials({
          privateKeyPem: onboarding.privateKeyPem,
          certificate: identity.certificate,
        });
        this.log.info({ event: 'sync.identity_updated', newKey }, 'using the new identity certificate');
        if (newKey) {
          this.beginFirstSync(identity);
          this.resend();
        }
      }
      return;
    }
    // waiting, halted or disconnected: (re)start only with a certificate we have not given up on.
    if (
      (this.status === 'halted' || this.status === 'disconnected') &&
      identity.certificate === this.certificate
    )
      return;
    const newKey = spki !== this.spki;
    this.certificate = identity.certificate;
    this.spki = spki;
    this.certExpMs = expMs;
    if (newKey) this.outbox.resetAcks();
    this.resend();
    this.beginFirstSync(identity);
    this.activate(onboarding.privateKeyPem, identity.certificate);
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
        if (this.status !== 'connecting' && this.status !== 'running') return;
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

  private activate(privateKeyPem: string, certificate: string): void {
    this.status = 'connecting';
    const abort = new AbortController();
    this.abort = abort;
    const { subscriptionId, resourceGroup, name } = this.snapshot.state;
    void this.ctx
      .openLink(
        { subscriptionId, resourceGroup, name },
        { privateKeyPem, certificate },
        { onControl: (m) => this.onControl(m), signal: abort.signal },
      )
      .then(async (link) => {
        await this.firstSyncDecided;
        if (abort.signal.aborted || this.status !== 'connecting') {
          this.track(link.close());
          return;
        }
        this.link = link;
        // The secret may have changed while connecting.
        const current = this.snapshot.identity;
        const key = this.snapshot.onboarding?.privateKeyPem ?? privateKeyPem;
        if (current?.state === 'Valid' && current.certificate !== certificate) {
          link.setCredentials({ privateKeyPem: key, certificate: current.certificate });
          this.certificate = current.certificate;
          this.certExpMs = readCertificateClaims(current.certificate).exp;
        }
        this.status = 'running';
        this.log.info({ event: 'sync.connected' }, 'connected; syncing');
        this.sendHeartbeat();
        this.heartbeatTimer = this.opts.clock.setInterval(
          () => this.sendHeartbeat(),
          this.opts.timings.heartbeatIntervalMs,
        );
        void this.flush();
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        this.log.error({ event: 'sync.connect_failed', err }, 'could not connect');
        if (this.status === 'connecting') this.status = 'waiting';
      });
  }

  /** Stops timers and closes the link; the next status says why. */
  private deactivate(next: SyncStatus): void {
    this.status = next;
    this.abort?.abort(new Error(next));
    this.abort = undefined;
    if (this.heartbeatTimer) this.opts.clock.clear(this.heartbeatTimer);
    if (this.retryTimer) this.opts.clock.clear(this.retryTimer);
    this.heartbeatTimer = undefined;
    this.retryTimer = undefined;
    this.attempt = 0;
    this.endFirstSync(next);
    const link = this.link;
    this.link = undefined;
    if (link) this.track(link.close());
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((err: unknown) => {
      this.log.warn({ event: 'sync.link_close_failed', err }, 'link close failed');
    });
    this.endings.add(guarded);
    void guarded.finally(() => this.endings.delete(guarded));
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
    if (this.opts.clock.now() < this.certExpMs) return false;
    this.deactivate('halted');
    this.log.error(
      { event: 'sync.identity_expired', notAfter: new Date(this.certExpMs).toISOString() },
      'identity certificate expired; heartbeats stopped until a new certificate',
    );
    return true;
  }

  private sendHeartbeat(): void {
    if (this.status !== 'running' || !this.link || this.expiredLocally()) return;
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
    if (this.sending || this.status !== 'running' || !link || !entry || this.retryTimer) return;
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
    if (this.status !== 'running' || link !== this.link) return;
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
        this.deactivate('halted');
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

  private onControl(message: ControlMessage): void {
    if (message.action !== 'disconnect' || this.status === 'closed') return;
    this.log.info({ event: 'sync.disconnect', reason: message.reason }, 'disconnect: stopping');
    this.deactivate('disconnected');
  }
}

function certificateFingerprint(certificate: string): string {
  return createHash('sha256').update(certificate).digest('hex');
}
