/**
 * Certificate renewal schedule, pure: driven by a Clock, no network. Renews at
 * notBefore + renewAfter + random(0..jitter) (simulated), retries with backoff until it succeeds,
 * and gives up for good once the certificate has expired (clock.now() >= notAfter).
 */
import type { Clock, TimerHandle } from '../../platform/clock.js';

export type RenewOutcome =
  | { readonly kind: 'renewed'; readonly notBeforeMs: number; readonly notAfterMs: number }
  /** Transient failure (timeout, hub unavailable): try again later. */
  | { readonly kind: 'retry'; readonly reason: string }
  /** The hub says the certificate or the cluster has expired. */
  | { readonly kind: 'expired'; readonly reason: string }
  /** A definitive refusal (revoked, foreign, ...): stop trying. */
  | { readonly kind: 'fatal'; readonly reason: string };

export type RenewalState = 'idle' | 'waiting' | 'renewing' | 'backoff' | 'expired' | 'stopped';

export interface RenewalOptions {
  readonly clock: Clock;
  /** Simulated ms after notBefore at which renewal starts. */
  readonly renewAfterMs: number;
  /** Simulated ms of random spread added to renewAfterMs. */
  readonly jitterMs: number;
  /** Simulated ms of delay before retry number `attempt` (0-based). */
  readonly retryDelayMs: (attempt: number) => number;
  /** One renewal attempt; must not throw (a throw counts as `retry`). */
  readonly attempt: () => Promise<RenewOutcome>;
  /** The certificate expired without a successful renewal. Called once. */
  readonly onExpired: (reason: string) => void;
  /** A definitive refusal stopped the schedule. */
  readonly onFatal?: (reason: string) => void;
  /** A failed attempt that will be retried. */
  readonly onRetry?: (reason: string, attempt: number, delayMs: number) => void;
  readonly random?: () => number;
}

/**
 * Largest single timer, in simulated ms: Node timers overflow past 2^31-1 real ms (~24.8 days), and a
 * 46-day renewal at time scale 1 would otherwise fire at once.
 */
const MAX_REAL_TIMER_MS = 2 ** 31 - 1;

/** Runs `fn` when the clock reaches `atMs`, chaining timers that fit Node's limit. */
export function scheduleAt(clock: Clock, atMs: number, fn: () => void): () => void {
  let handle: TimerHandle | undefined;
  let cancelled = false;
  const maxSim = Math.max(1, Math.floor(MAX_REAL_TIMER_MS * clock.timeScale * 0.99));
  const arm = (): void => {
    if (cancelled) return;
    const remaining = atMs - clock.now();
    if (remaining <= 0) {
      handle = undefined;
      fn();
      return;
    }
    handle = clock.setTimeout(arm, Math.min(remaining, maxSim));
  };
  arm();
  return () => {
    cancelled = true;
    if (handle) clock.clear(handle);
  };
}

export class RenewalScheduler {
  private stateValue: RenewalState = 'idle';
  private notAfterMs = 0;
  private renewAtMs: number | undefined;
  private attempts = 0;
  /** Bumped on every (re)start and stop: stale async results are ignored. */
  private epoch = 0;
  private cancelTimer: (() => void) | undefined;
  private cancelExpiry: (() => void) | undefined;
  /** The attempt in flight (its reply may still write the identity secret). */
  private running: Promise<void> | undefined;

  constructor(private readonly opts: RenewalOptions) {}

  /** Resolves once no attempt is in flight: a closing agent waits for it before it is gone. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  get state(): RenewalState {
    return this.stateValue;
  }

  /** Simulated ms of the next renewal attempt, when waiting or backing off. */
  get nextAttemptAtMs(): number | undefined {
    return this.renewAtMs;
  }

  /** Schedules renewal of a certificate valid in [notBeforeMs, notAfterMs). */
  start(notBeforeMs: number, notAfterMs: number): void {
    this.clearTimers();
    this.epoch++;
    this.attempts = 0;
    this.notAfterMs = notAfterMs;
    const { clock } = this.opts;
    if (clock.now() >= notAfterMs) {
      this.expire('certificate already expired');
      return;
    }
    const jitter = Math.floor((this.opts.random ?? Math.random)() * Math.max(0, this.opts.jitterMs));
    // Never later than just before expiry: a renewal window wider than the validity still renews.
    const at = Math.min(notBeforeMs + this.opts.renewAfterMs + jitter, notAfterMs - 1);
    const epoch = this.epoch;
    this.cancelExpiry = scheduleAt(clock, notAfterMs, () => {
      if (epoch === this.epoch) this.expire('certificate expired before it could be renewed');
    });
    this.wait(at);
  }

  /** Stops everything (disconnect, shutdown). */
  stop(): void {
    this.clearTimers();
    this.epoch++;
    if (this.stateValue !== 'expired') this.stateValue = 'stopped';
    this.renewAtMs = undefined;
  }

  private wait(atMs: number, state: RenewalState = 'waiting'): void {
    this.stateValue = state;
    this.renewAtMs = atMs;
    const epoch = this.epoch;
    this.cancelTimer = scheduleAt(this.opts.clock, atMs, () => {
      if (epoch !== this.epoch) return;
      const running = this.run().finally(() => {
        if (this.running === running) this.running = undefined;
      });
      this.running = running;
    });
  }

  private async run(): Promise<void> {
    const epoch = this.epoch;
    this.stateValue = 'renewing';
    this.renewAtMs = undefined;
    let outcome: RenewOutcome;
    try {
      outcome = await this.opts.attempt();
    } catch (err) {
      outcome = { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
    }
    if (epoch !== this.epoch) return;
    switch (outcome.kind) {
      case 'renewed':
        this.start(outcome.notBeforeMs, outcome.notAfterMs);
        return;
      case 'expired':
        this.expire(outcome.reason);
        return;
      case 'fatal':
        this.clearTimers();
        this.epoch++;
        this.stateValue = 'stopped';
        this.opts.onFatal?.(outcome.reason);
        return;
      case 'retry': {
        const now = this.opts.clock.now();
        if (now >= this.notAfterMs) {
          this.expire(outcome.reason);
          return;
        }
        const delay = Math.max(1, this.opts.retryDelayMs(this.attempts));
        this.attempts++;
        this.opts.onRetry?.(outcome.reason, this.attempts, delay);
        // No retry would land before expiry: the expiry timer ends it.
        if (now + delay >= this.notAfterMs) {
          this.stateValue = 'backoff';
          this.renewAtMs = undefined;
        } else this.wait(now + delay, 'backoff');
        return;
      }
    }
  }

  private expire(reason: string): void {
    this.clearTimers();
    this.epoch++;
    this.renewAtMs = undefined;
    this.stateValue = 'expired';
    this.opts.onExpired(reason);
  }

  private clearTimers(): void {
    this.cancelTimer?.();
    this.cancelExpiry?.();
    this.cancelTimer = undefined;
    this.cancelExpiry = undefined;
  }
}
