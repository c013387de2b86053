/**
 * The agent processes' liveness, watched once for the whole controller-manager process. Each agent
 * process writes one beat file for all its clusters, so a process killed, restarted or replaced shows
 * in the beats at once for every cluster; reading them per cluster would cost 1,000 looks every status
 * interval at 1,000 clusters to find nothing new. Here the beats are read once per interval and every
 * cluster's controller is told only when what they say changed.
 */
import { AGENT_NAMES, type ProcessBeat } from '../../contract/index.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';

export interface ProcessWatchOptions {
  readonly clock: Clock;
  /** Simulated ms between reads of the beats. */
  readonly everyMs: number;
  /** Real ms: a beat older than this is a process that stopped. */
  readonly staleAfterMs: number;
  /** Real ms now (default Date.now). */
  readonly nowMs?: () => number;
}

/** Which process runs each agent, and whether it still beats. */
export function beatSignature(
  beats: ReadonlyMap<string, ProcessBeat>,
  nowMs: number,
  staleAfterMs: number,
): string {
  return AGENT_NAMES.map((agent) => {
    const beat = beats.get(agent);
    return beat ? `${nowMs - beat.lastSeenMs > staleAfterMs ? 0 : 1}:${beat.pid}:${beat.startedAtMs}` : '-';
  }).join('|');
}

export class ProcessWatch {
  private readonly listeners = new Set<() => void>();
  private timer: TimerHandle | undefined;
  private signature: string | undefined;
  private reading = false;
  private read: (() => Promise<ReadonlyMap<string, ProcessBeat>>) | undefined;

  constructor(private readonly opts: ProcessWatchOptions) {}

  /**
   * Calls `listener` whenever the beats say something new. `readBeats` reads this process's shard's
   * beats (the same for every cluster it hosts); the watch runs while anyone listens.
   */
  subscribe(listener: () => void, readBeats: () => Promise<ReadonlyMap<string, ProcessBeat>>): () => void {
    this.read ??= readBeats;
    this.listeners.add(listener);
    this.timer ??= this.opts.clock.setInterval(() => void this.tick(), this.opts.everyMs);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        this.opts.clock.clear(this.timer);
        this.timer = undefined;
      }
    };
  }

  private async tick(): Promise<void> {
    if (this.reading || !this.read) return;
    this.reading = true;
    try {
      const signature = beatSignature(
        await this.read(),
        (this.opts.nowMs ?? Date.now)(),
        this.opts.staleAfterMs,
      );
      if (signature === this.signature) return;
      this.signature = signature;
      for (const listener of [...this.listeners]) listener();
    } catch {
      // An unreadable beat file is a moment's race with its writer: the next tick reads it again.
    } finally {
      this.reading = false;
    }
  }
}
