/**
 * Restart policy of the launcher's supervisor, like a kubelet's CrashLoopBackOff: a service that exits
 * without being asked to is restarted after a delay that doubles with each consecutive crash (capped),
 * and resets once the service has run long enough to count as healthy. A service that crashes too
 * often within a window is given up on, so a broken build or config fails loudly instead of looping.
 * Pure: the caller passes the times.
 */
import { backoffBound } from '../platform/backoff.js';

export interface RestartPolicyOptions {
  /** Real ms before the first restart. */
  readonly baseMs: number;
  /** Real ms: no delay is longer. */
  readonly maxMs: number;
  /** A service that ran at least this long (real ms) before crashing starts again from `baseMs`. */
  readonly stableMs: number;
  /** More crashes than this within `windowMs` and the service is given up on. */
  readonly maxCrashes: number;
  readonly windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  baseMs: 500,
  maxMs: 30_000,
  stableMs: 30_000,
  maxCrashes: 10,
  windowMs: 60_000,
};

export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly restart: number }
  | { readonly action: 'give-up'; readonly reason: string };

export class RestartPolicy {
  private consecutive = 0;
  private restarts = 0;
  private crashTimes: number[] = [];

  constructor(private readonly opts: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Called when the service exited unasked at `nowMs` after running since `startedAtMs`. */
  onCrash(nowMs: number, startedAtMs: number): RestartDecision {
    if (nowMs - startedAtMs >= this.opts.stableMs) this.consecutive = 0;
    this.crashTimes = [...this.crashTimes.filter((t) => nowMs - t < this.opts.windowMs), nowMs];
    if (this.crashTimes.length > this.opts.maxCrashes)
      return {
        action: 'give-up',
        reason: `${this.crashTimes.length} crashes within ${this.opts.windowMs / 1000} s`,
      };
    const delayMs = backoffBound(this.consecutive, this.opts);
    this.consecutive++;
    this.restarts++;
    return { action: 'restart', delayMs, restart: this.restarts };
  }
}
