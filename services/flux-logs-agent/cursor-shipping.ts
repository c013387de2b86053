/**
 * flux-logs-agent's cursor rule, apart from its link so that a test can make any request fail: the
 * entries after the cursor go out oldest first, a batch at a time, and the cursor moves only to what
 * the hub acknowledged (it acknowledges once JetStream holds the entries). An unanswered request, a
 * refusal or a restart of either side therefore resends and never skips; the hub drops what it
 * already holds. The cursor is kept in the agent's memo through `cursor`.
 */
import type { RequestResult } from '../../agent-runtime/agent-link.js';
import type { FluxLogReader } from '../../agent-runtime/flux-log.js';
import { HALTING_ERRORS } from '../../agent-runtime/linked-agent.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { FLUX_LOGS_MAX_ENTRIES, PROTOCOL_VERSION, type FluxLogsReport } from '../../contract/index.js';

export const AGENT = 'flux-logs-agent' as const;

export interface ShipperCounters {
  shipped(entries: number): void;
  lost(entries: number): void;
  invalid(lines: number): void;
}

export interface CursorShippingOptions {
  readonly reader: Pick<FluxLogReader, 'read'>;
  /** Where the cursor is kept across restarts (the agent's memo). */
  readonly cursor: { load(): Promise<number>; save(seq: number): Promise<void> };
  /** Sends one request on the link; undefined while there is no link (shipping stops there). */
  readonly send: (report: FluxLogsReport) => Promise<RequestResult> | undefined;
  /** The hub refused the cluster's identity: the link halts. */
  readonly halt: (code: string) => void;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters?: ShipperCounters | undefined;
  /** Entries per request (default FLUX_LOGS_MAX_ENTRIES). */
  readonly batch?: number | undefined;
}

export class CursorShipping {
  /** Last entry the hub acknowledged; loaded on first use. */
  private cursor: number | undefined;
  /** Entries written and not yet acknowledged, as of the last read. */
  pending = 0;

  constructor(private readonly opts: CursorShippingOptions) {}

  /** Ships batches until the log is shipped or a batch is not acknowledged (the next call retries). */
  async shipAll(): Promise<void> {
    this.cursor ??= await this.opts.cursor.load();
    for (;;) {
      const read = await this.opts.reader.read(this.cursor, this.opts.batch ?? FLUX_LOGS_MAX_ENTRIES);
      this.pending = read.pending;
      if (read.invalid > 0) this.opts.counters?.invalid(read.invalid);
      if (read.lost > 0) {
        this.opts.counters?.lost(read.lost);
        this.opts.logger.warn(
          { event: 'flux_logs.lost', entries: read.lost },
          'Flux log lines were rotated away before they were shipped',
        );
      }
      const last = read.entries.at(-1);
      if (last === undefined) return;
      const sent = this.opts.send({
        v: PROTOCOL_VERSION,
        type: 'flux-logs',
        agent: AGENT,
        sentAt: new Date(this.opts.clock.now()).toISOString(),
        entries: [...read.entries],
      });
      if (sent === undefined) return;
      const result = await sent;
      if (!result.ok) {
        this.opts.logger.debug({ event: 'flux_logs.not_delivered', reason: result.reason }, 'not delivered');
        return;
      }
      const reply = result.reply;
      if (reply.type === 'error') {
        if (HALTING_ERRORS.has(reply.code)) this.opts.halt(reply.code);
        this.opts.logger.warn(
          { event: 'flux_logs.refused', code: reply.code, detail: reply.message },
          'Flux logs refused',
        );
        return;
      }
      if (reply.type !== 'ack' || reply.seq === undefined) return;
      // Never past what was sent: an ack for more is the hub's view of entries it had already.
      const acked = Math.min(reply.seq, last.seq);
      const from = this.cursor;
      if (acked <= from) return;
      this.opts.counters?.shipped(read.entries.filter((e) => e.seq > from && e.seq <= acked).length);
      this.cursor = acked;
      await this.opts.cursor.save(acked);
    }
  }
}
