/**
 * flux-logs-agent, per cluster: ships the Flux controllers' log (agent-runtime/flux-log.ts) to the hub,
 * oldest first, in `flux-logs` requests. The cursor (the last entry the hub acknowledged, which it
 * acknowledges only once the entries are durable) moves only on an acknowledgement and is kept in
 * the agent's memo, so a cut link, a refused batch or a restart of either side resends and never
 * skips; the hub drops what it already holds.
 *
 * A cluster without Flux configurations has no log, and its instance holds no link: the link opens
 * with the first log line (a fleet mostly without Flux costs no connection per cluster). It looks
 * at the log when the cluster's apiserver objects change (each reconcile writes the Flux objects) and
 * every `lookIntervalMs` besides.
 */
import type {
  AgentContext,
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
} from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import { FluxLogReader } from '../../agent-runtime/flux-log.js';
import { HALTING_ERRORS, LinkedAgent } from '../../agent-runtime/linked-agent.js';
import type { Clock } from '../../platform/clock.js';
import { FLUX_LOGS_MAX_ENTRIES, PROTOCOL_VERSION, type FluxLogsReport } from '../../contract/index.js';

export const AGENT = 'flux-logs-agent' as const;

/** Real ms after an apiserver change before the log is read: the reconcile writes its lines last. */
const AFTER_CHANGE_MS = 250;

export interface ShipperCounters {
  shipped(entries: number): void;
  lost(entries: number): void;
  invalid(lines: number): void;
}

export interface FluxLogsAgentOptions {
  readonly clock: Clock;
  /** Real ms between looks at the log. */
  readonly lookIntervalMs: number;
  readonly counters?: ShipperCounters;
  /** Entries per request (default FLUX_LOGS_MAX_ENTRIES). */
  readonly batch?: number;
}

export function fluxLogsAgentFactory(opts: FluxLogsAgentOptions): AgentFactory {
  return (ctx, snapshot) => new FluxLogShipper(ctx, opts, snapshot);
}

export class FluxLogShipper implements AgentInstance {
  private readonly reader: FluxLogReader;
  private linked: LinkedAgent | undefined;
  private link: AgentLink | undefined;
  /** Last entry the hub acknowledged; read from the memo on first use. */
  private cursor: number | undefined;
  private pending = 0;
  private shipping: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly interval: NodeJS.Timeout;
  private soon: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: FluxLogsAgentOptions,
    private snapshot: ClusterSnapshot,
  ) {
    this.reader = new FluxLogReader(ctx.store.dir(ctx.clusterName));
    this.interval = setInterval(() => this.look(), opts.lookIntervalMs);
    this.interval.unref();
    this.look();
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    this.linked?.update(snapshot, changes);
    if (changes.kube && this.soon === undefined) {
      this.soon = setTimeout(() => {
        this.soon = undefined;
        this.look();
      }, AFTER_CHANGE_MS);
      this.soon.unref();
    }
  }

  outboxDepth(): number {
    return this.pending;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    if (this.soon) clearTimeout(this.soon);
    await this.linked?.close();
    await this.shipping;
  }

  private look(): void {
    if (this.closed) return;
    if (!this.linked) {
      if (!this.reader.exists()) return;
      this.linked = new LinkedAgent(this.ctx, this.snapshot, {
        onLinkUp: (link) => {
          this.link = link;
          this.look();
        },
        onLinkDown: () => {
          this.link = undefined;
        },
        outboxDepth: () => this.pending,
      });
    }
    if (!this.link) return;
    if (this.shipping) {
      this.again = true;
      return;
    }
    this.shipping = this.shipAll()
      .catch((err: unknown) => {
        this.ctx.logger.warn({ event: 'flux_logs.ship_failed', err }, 'could not ship the Flux logs');
      })
      .finally(() => {
        this.shipping = undefined;
        if (this.again) {
          this.again = false;
          this.look();
        }
      });
  }

  /** Ships batches until the log is shipped or a batch is not acknowledged (the next look retries). */
  private async shipAll(): Promise<void> {
    const name = this.ctx.clusterName;
    this.cursor ??= (await this.ctx.store.readAgentMemo(name, AGENT))?.fluxLogsShippedSeq ?? 0;
    for (;;) {
      const link = this.link;
      if (!link || this.closed) return;
      const read = await this.reader.read(this.cursor, this.opts.batch ?? FLUX_LOGS_MAX_ENTRIES);
      this.pending = read.pending;
      if (read.invalid > 0) this.opts.counters?.invalid(read.invalid);
      if (read.lost > 0) {
        this.opts.counters?.lost(read.lost);
        this.ctx.logger.warn(
          { event: 'flux_logs.lost', entries: read.lost },
          'Flux log lines were rotated away before they were shipped',
        );
      }
      const last = read.entries.at(-1);
      if (last === undefined) return;
      const report: FluxLogsReport = {
        v: PROTOCOL_VERSION,
        type: 'flux-logs',
        agent: AGENT,
        sentAt: new Date(this.opts.clock.now()).toISOString(),
        entries: [...read.entries],
      };
      const result = await link.request('flux-logs', report);
      if (!result.ok) {
        this.ctx.logger.debug({ event: 'flux_logs.not_delivered', reason: result.reason }, 'not delivered');
        return;
      }
      const reply = result.reply;
      if (reply.type === 'error') {
        if (HALTING_ERRORS.has(reply.code)) this.linked?.halt(reply.code);
        this.ctx.logger.warn(
          { event: 'flux_logs.refused', code: reply.code, detail: reply.message },
          'Flux logs refused',
        );
        return;
      }
      if (reply.type !== 'ack' || reply.seq === undefined) return;
      const acked = Math.min(reply.seq, last.seq);
      if (acked <= this.cursor) return;
      this.opts.counters?.shipped(
        read.entries.filter((e) => e.seq > (this.cursor ?? 0) && e.seq <= acked).length,
      );
      this.cursor = acked;
      const memo = (await this.ctx.store.readAgentMemo(name, AGENT)) ?? {};
      await this.ctx.store.writeAgentMemo(name, AGENT, { ...memo, fluxLogsShippedSeq: acked });
    }
  }
}
