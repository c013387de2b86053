/**
 * Bounded concurrency, one way for every process (npm's `p-limit`): `mapLimit` for a batch,
 * `ConnectionGate` for a stream of connection attempts that must also be spaced out, so that a fleet
 * restarting together does not open thousands of sockets in one burst.
 */
import { setTimeout as delay } from 'node:timers/promises';
import pLimit, { type LimitFunction } from 'p-limit';

/** Runs `fn` over `items` with at most `limit` in flight; results in order; rejects with the first error. */
export function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  return pLimit(Math.max(1, limit)).map(items, (item) => fn(item));
}

/** Runs each `fn` given with at most `limit` in flight (the others wait their turn, in order). */
export function concurrencyLimit(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  const run = pLimit(Math.max(1, limit));
  return (fn) => run(fn);
}

export interface ConnectionGateOptions {
  /** Connection attempts in flight at once (default 32). */
  readonly concurrency?: number;
  /** Minimum real ms between two attempt starts (default 2). */
  readonly spacingMs?: number;
}

export class ConnectionGate {
  readonly concurrency: number;
  readonly spacingMs: number;
  private readonly limit: LimitFunction;
  private nextStartMs = 0;

  constructor(opts: ConnectionGateOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? 32);
    this.spacingMs = Math.max(0, opts.spacingMs ?? 2);
    this.limit = pLimit(this.concurrency);
  }

  get inFlight(): number {
    return this.limit.activeCount;
  }

  get queued(): number {
    return this.limit.pendingCount;
  }

  /** Runs `fn` when a slot is free and the previous start is at least `spacingMs` ago. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      const now = Date.now();
      const at = Math.max(now, this.nextStartMs);
      this.nextStartMs = at + this.spacingMs;
      if (at > now) await delay(at - now);
      return fn();
    });
  }
}
