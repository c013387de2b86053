/**
 * The one backoff: exponential (`base·2^n`, capped at `max`), with full jitter where many clients
 * retry together (each wait drawn uniformly below the bound), so a fleet that loses its link together
 * does not come back in one burst. Used for NATS reconnects, agent retries and the supervisor's
 * restarts (which want the bound itself, CrashLoopBackOff style). Pure: time and randomness are
 * injected.
 */
export interface BackoffOptions {
  /** The bound of the first wait (ms; the caller's unit). */
  readonly baseMs: number;
  /** No wait is ever longer. */
  readonly maxMs: number;
  /** [0, 1); default Math.random. */
  readonly random?: () => number;
}

/** `min(max, base·2^attempt)`: the bound of attempt `attempt`'s wait (attempt 0 is the first). */
export function backoffBound(attempt: number, opts: Pick<BackoffOptions, 'baseMs' | 'maxMs'>): number {
  return Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30));
}

/** Full jitter: uniform in [0, bound), at least 1 ms. */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  return Math.max(1, Math.floor((opts.random ?? Math.random)() * backoffBound(attempt, opts)));
}

export interface ReconnectBackoffOptions extends BackoffOptions {
  readonly now?: () => number;
}

export class ReconnectBackoff {
  private attempt = 0;
  private drawn: { at: number; waitMs: number } | undefined;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly opts: ReconnectBackoffOptions) {
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? Date.now;
  }

  /** The bound of the current attempt's wait (real ms). */
  bound(): number {
    return backoffBound(this.attempt, this.opts);
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
