/**
 * Reconnect backoff: exponential with full jitter (each wait drawn uniformly from 0..min(max, base·2^n)),
 * so a fleet that loses its link together does not come back in one burst. Pure: time and randomness
 * are injected.
 */
export interface BackoffOptions {
  /** Real ms: the bound of the first wait. */
  readonly baseMs: number;
  /** Real ms: no wait is ever longer. */
  readonly maxMs: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

export class ReconnectBackoff {
  private attempt = 0;
  private drawn: { at: number; waitMs: number } | undefined;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly opts: BackoffOptions) {
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
  }

  /** The bound of the current attempt's wait (real ms). */
  bound(): number {
    return Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** Math.min(this.attempt, 30));
  }

  /**
   * The wait before the next attempt. nats.js asks on every turn of its dial loop; the same draw is
   * returned until it has elapsed, then the next (doubled) bound is drawn from.
   */
  waitMs(): number {
    const now = this.now();
    if (this.drawn === undefined || now >= this.drawn.at + this.drawn.waitMs) {
      this.drawn = { at: now, waitMs: Math.floor(this.random() * this.bound()) };
      this.attempt++;
    }
    return this.drawn.waitMs;
  }

  /** After a successful (re)connection. */
  reset(): void {
    this.attempt = 0;
    this.drawn = undefined;
  }
}
