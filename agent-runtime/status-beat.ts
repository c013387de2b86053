/**
 * The emulated pod status of one agent process: a status file per running instance
 * (`status/<agent>.json`, written when the instance starts, removed when it stops) and ONE process
 * beat refreshed on an interval. A beat per process rather than a rewrite of every status file keeps
 * a host of 1,000 clusters at one write per interval, and a killed process stops beating, which is
 * how metrics-agent and the emulated apiserver tell that its agents are down (agent-liveness.ts).
 */
import type { AgentName } from '../contract/index.js';
import type { Logger } from '../platform/log.js';
import type { ClusterStore } from './cluster-store.js';

export interface StatusBeatOptions {
  readonly agentName: AgentName;
  readonly store: ClusterStore;
  readonly logger: Logger;
  /** Real ms between process beats. */
  readonly intervalMs: number;
}

export class StatusBeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private stopped = false;
  /** Status writes in flight, awaited before a status file is removed (or it could reappear). */
  private readonly writes = new Map<string, Promise<void>>();
  readonly startedAtMs = Date.now();

  constructor(private readonly opts: StatusBeatOptions) {}

  /** Beats now and every interval. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => this.beat(), this.opts.intervalMs);
    this.timer.unref();
    this.beat();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The process's beat keeps every status file it wrote fresh (never throws; failures are logged). */
  private beat(): void {
    if (this.stopped || this.beating) return;
    this.beating = this.opts.store
      .writeProcessBeat({
        agent: this.opts.agentName,
        pid: process.pid,
        startedAtMs: this.startedAtMs,
        lastSeenMs: Date.now(),
      })
      .catch((err: unknown) => {
        this.opts.logger.warn({ event: 'host.beat_write_failed', err }, 'process beat write failed');
      })
      .finally(() => {
        this.beating = undefined;
      });
  }

  /** An instance started for `cluster`: its status says Running (one write at a time per cluster). */
  writeRunning(cluster: string, version: string): void {
    if (this.stopped || this.writes.has(cluster)) return;
    const write = this.opts.store
      .writeAgentStatus(cluster, {
        agent: this.opts.agentName,
        version,
        pid: process.pid,
        startedAtMs: this.startedAtMs,
        lastSeenMs: Date.now(),
        state: 'Running',
        errors: [],
      })
      .catch((err: unknown) => {
        this.opts.logger.warn({ event: 'host.status_write_failed', cluster, err }, 'status write failed');
      })
      .finally(() => this.writes.delete(cluster));
    this.writes.set(cluster, write);
  }

  /** The instance stopped: its status file goes (after any write still in flight). Never throws. */
  async remove(cluster: string): Promise<void> {
    await this.writes.get(cluster);
    await this.opts.store.removeAgentStatus(cluster, this.opts.agentName).catch((err: unknown) => {
      this.opts.logger.warn({ event: 'host.status_remove_failed', cluster, err }, 'status remove failed');
    });
  }
}
