/**
 * Log lines at a bounded rate, for what a client or a peer can make happen as often as it likes (an
 * invalid frame, a refused message, an unreachable collector): the first of a kind is written, its
 * repeats within the interval are only counted and the next line says how many were suppressed.
 */
import type { Logger } from './log.js';

/**
 * Logs at most one line per key and interval, with the number of suppressed repeats; so an
 * unreachable collector costs one warning a minute, not one per batch.
 */
export class RateLimitedReporter {
  private readonly seen = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Returns true when the line was written. `key` groups repeats (default: the event and the start of
   * the message); `fields` go into the line.
   */
  report(
    event: string,
    message: string,
    err?: unknown,
    opts: { key?: string; fields?: Record<string, unknown> } = {},
  ): boolean {
    const key = `${event}\u0000${opts.key ?? message.slice(0, 120)}`;
    const nowMs = this.now();
    const last = this.seen.get(key);
    if (last && nowMs - last.atMs < this.intervalMs) {
      last.suppressed++;
      return false;
    }
    if (this.seen.size >= 200) this.seen.clear();
    this.seen.set(key, { atMs: nowMs, suppressed: 0 });
    this.logger.warn(
      {
        event,
        detail: message,
        suppressed: last?.suppressed ?? 0,
        ...opts.fields,
        ...(err === undefined ? {} : { err }),
      },
      message,
    );
    return true;
  }
}
