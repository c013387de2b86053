/**
 * Why this file exists: the metadata report, split out of resource-sync.ts. The latest cluster
 * metadata waits in the outbox (outbox.ts) and is sent as a request until the hub acknowledges it,
 * retried with backoff; refusals halt the agent (identity) or drop the report (undeliverable).
 */
import type { AgentContext } from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import { HALTING_ERRORS } from '../../agent-runtime/linked-agent.js';
import {
  ERROR_CODES,
  type ClusterMetadata,
  type MetadataReport,
  PROTOCOL_VERSION,
} from '../../contract/index.js';
import type { TimerHandle } from '../../platform/clock.js';
import { backoffDelay } from '../../platform/backoff.js';
import { AGENT } from './agent.js';
import type { FirstSync } from './first-sync.js';
import type { MetadataEntry } from './metadata-source.js';
import { LatestOutbox } from './outbox.js';
import type { ResourceSyncOptions } from './resource-sync.js';

/** Refusals of a report that resending the same report cannot fix. */
const UNDELIVERABLE_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.InvalidMessage,
  ERROR_CODES.MessageTooLarge,
  ERROR_CODES.UnsupportedProtocolVersion,
]);

interface PendingReport {
  readonly changedAt: string;
  readonly metadata: ClusterMetadata;
}

/** What the metadata report uses of the agent. */
export interface ReportHost {
  readonly opts: ResourceSyncOptions;
  readonly log: AgentContext['logger'];
  readonly firstSync: FirstSync;
  /** The link while syncing. */
  link(): AgentLink | undefined;
  /** Halts the agent when its certificate is past expiry (and says so). */
  expiredLocally(): boolean;
  /** Stops the agent until a new certificate. */
  halt(reason: string): void;
}

export class MetadataReporter {
  private readonly outbox = new LatestOutbox<PendingReport>();
  private retryTimer: TimerHandle | undefined;
  private sending = false;
  private attempt = 0;

  constructor(private readonly host: ReportHost) {}

  private get log(): AgentContext['logger'] {
    return this.host.log;
  }

  /** 1 while a metadata report waits to be sent or acknowledged. */
  get depth(): number {
    return this.outbox.pending ? 1 : 0;
  }

  /** Offers the latest metadata read (metadata-source.ts); an older generation than held is dropped. */
  offer(entry: MetadataEntry): void {
    this.outbox.put(entry.generation, { changedAt: entry.changedAt, metadata: entry.metadata });
  }

  /** Forgets what the hub acknowledged (a new identity: the hub may not have it); offer again after. */
  resetAcks(): void {
    this.outbox.resetAcks();
  }

  /** The link went down: no retry pending, and the next one starts from the first delay. */
  stop(): void {
    if (this.retryTimer) this.host.opts.clock.clear(this.retryTimer);
    this.retryTimer = undefined;
    this.attempt = 0;
  }

  async flush(): Promise<void> {
    const { opts } = this.host;
    const link = this.host.link();
    const entry = this.outbox.pending;
    if (this.sending || !link || !entry || this.retryTimer) return;
    if (this.host.expiredLocally()) return;
    this.sending = true;
    const report: MetadataReport = {
      v: PROTOCOL_VERSION,
      type: 'metadata',
      agent: AGENT,
      generation: entry.generation,
      changedAt: entry.item.changedAt,
      sentAt: new Date(opts.clock.now()).toISOString(),
      metadata: entry.item.metadata,
    };
    let result: Awaited<ReturnType<AgentLink['request']>>;
    try {
      result = await link.request('metadata', report, undefined, this.host.firstSync.ctx);
    } finally {
      this.sending = false;
    }
    if (link !== this.host.link()) return;
    if (result.ok && result.reply.type === 'ack') {
      this.outbox.ack(entry.generation);
      this.attempt = 0;
      this.host.firstSync.end();
      this.log.debug({ event: 'sync.metadata_acked', generation: entry.generation }, 'metadata acknowledged');
      if (this.outbox.pending) void this.flush();
      return;
    }
    let reason: string;
    if (result.ok && result.reply.type === 'error') {
      const { code, message } = result.reply;
      if (HALTING_ERRORS.has(code)) {
        this.host.halt(code);
        this.log.error(
          { event: 'sync.refused', code, detail: message },
          'the hub refused our identity; heartbeats stopped until a new certificate',
        );
        return;
      }
      if (UNDELIVERABLE_ERRORS.has(code)) {
        this.outbox.ack(entry.generation);
        this.host.firstSync.end(code, message);
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
      baseMs: opts.retryBaseMs ?? 500,
      maxMs: opts.retryCapMs ?? 10_000,
      ...(opts.random ? { random: opts.random } : {}),
    });
    this.log.warn(
      { event: 'sync.metadata_retry', reason, attempt: this.attempt, delayMs, generation: entry.generation },
      'metadata report failed; will retry',
    );
    this.retryTimer = opts.clock.setTimeout(() => {
      this.retryTimer = undefined;
      void this.flush();
    }, delayMs * opts.clock.timeScale);
  }
}
