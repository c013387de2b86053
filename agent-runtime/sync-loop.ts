/**
 * The work queue of a per-cluster controller, for one key: what a client-go work queue gives a
 * controller, cut to what the cluster-side agents need. Shared by cluster-metadata-operator,
 * controller-manager and resource-sync-agent's metadata reader.
 *
 * - `request()` asks for a sync. It runs after the settle delay, so a burst of changes (a cluster
 *   onboarding writes its state, its secrets and the controllers' own objects within moments) costs
 *   one sync; with no settle delay it starts at once.
 * - One sync runs at a time; requests during a sync cause exactly one more after it.
 * - A failed sync is retried with backoff (full jitter, so a fleet whose apiserver was down does not
 *   come back in one burst); a request ends the retry's wait.
 */
import { backoffDelay } from '../platform/backoff.js';
import type { Clock, TimerHandle } from '../platform/clock.js';
import type { Logger } from '../platform/log.js';

export interface SyncLoopOptions {
  readonly clock: Clock;
  /** Simulated ms from a request to the sync it causes (default 0: at once); requests meanwhile share it. */
  readonly settleMs?: number;
  /** Simulated ms: first retry delay ceiling after a failed sync (default 30 s); doubles up to the cap. */
  readonly retryBaseMs?: number;
  /** Simulated ms: largest retry delay (default 5 min). */
  readonly retryCapMs?: number;
  readonly random?: () => number;
  /** Runs a sync; a service bounds how many of its clusters sync at once with it. */
  readonly run?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** A sync failed; `attempt` is 1 for the first failure of a streak. */
  readonly onError: (err: unknown, attempt: number, retryInMs: number) => void;
}

export class SyncLoop {
  private syncing: Promise<void> | undefined;
  private again = false;
  /** The next sync: after the settle delay (a request), or after a backoff (a failure). */
  private timer: { readonly handle: TimerHandle; readonly retry: boolean } | undefined;
  private attempt = 0;
  private closed = false;
  /** Syncs that failed (tests, metrics). */
  failures = 0;

  constructor(
    private readonly sync: () => Promise<void>,
    private readonly opts: SyncLoopOptions,
  ) {}

  request(): void {
    if (this.closed) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    if (this.timer && !this.timer.retry) return;
    const settleMs = this.opts.settleMs ?? 0;
    if (settleMs <= 0) {
      this.clearTimer();
      this.start();
    } else this.schedule(settleMs, false);
  }

  /** Resolves once no sync runs (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  /** Whether a sync is running or due (settling or waiting to retry). */
  get busy(): boolean {
    return this.syncing !== undefined || this.timer !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.settled();
  }

  private schedule(delayMs: number, retry: boolean): void {
    this.clearTimer();
    const handle = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, delayMs);
    this.timer = { handle, retry };
  }

  private clearTimer(): void {
    if (this.timer) this.opts.clock.clear(this.timer.handle);
    this.timer = undefined;
  }

  private start(): void {
    if (this.closed) return;
    const run = this.opts.run ?? ((fn) => fn());
    this.syncing = run(() => this.attemptSync()).finally(() => {
      this.syncing = undefined;
      if (this.again) {
        this.again = false;
        this.request();
      }
    });
  }

  private async attemptSync(): Promise<void> {
    if (this.closed) return;
    try {
      await this.sync();
      this.attempt = 0;
    } catch (err) {
      this.failures++;
      if (this.closed) return;
      const delay = backoffDelay(this.attempt++, {
        baseMs: this.opts.retryBaseMs ?? 30_000,
        maxMs: this.opts.retryCapMs ?? 300_000,
        ...(this.opts.random ? { random: this.opts.random } : {}),
      });
      this.opts.onError(err, this.attempt, delay);
      if (!this.again) this.schedule(delay, true);
    }
  }
}

/**
 * The usual `onError`: the first failure of a streak at warn, its retries at debug, so an apiserver
 * that is down for long does not fill the log with a line per cluster per retry.
 */
export function logSyncFailures(logger: Logger, event: string, message: string): SyncLoopOptions['onError'] {
  return (err, attempt, retryInMs) =>
    logger[attempt === 1 ? 'warn' : 'debug']({ event, err, retryInMs, attempt }, message);
}
