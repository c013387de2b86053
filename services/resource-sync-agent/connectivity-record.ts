/**
 * resource-sync-agent's link record for the emulated apiserver (`agents/connectivity.json`, see
 * contract/cluster-state.ts): written when heartbeats start and when they stop, never per heartbeat.
 * The apiserver turns it into the `clustermetadata` resource's `lastConnectivityTime`. Writes run one
 * at a time in order (a stop right after a start must land last); a failed write is logged, not fatal.
 */
import type { AgentContext } from '../../agent-runtime/agent-instance.js';
import type { Clock } from '../../platform/clock.js';

export class ConnectivityRecord {
  private upSinceMs: number | null = null;
  private lastContactMs = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: AgentContext,
    private readonly clock: Clock,
    private readonly heartbeatIntervalMs: number,
    /** Writes in flight, awaited when the instance closes. */
    private readonly endings: Set<Promise<void>>,
  ) {}

  /** Heartbeats start now. */
  up(): void {
    this.upSinceMs = this.clock.now();
    this.lastContactMs = this.upSinceMs;
    this.write();
  }

  /** A heartbeat went out (memory only). */
  heartbeat(): void {
    this.lastContactMs = this.clock.now();
  }

  /** Heartbeats stopped: the last contact is the last heartbeat sent. */
  down(): void {
    if (this.upSinceMs === null) return;
    this.upSinceMs = null;
    this.write();
  }

  private write(): void {
    const record = {
      upSinceMs: this.upSinceMs,
      lastContactMs: this.lastContactMs,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
    };
    const { store, clusterName, logger } = this.ctx;
    const write = this.chain.then(() =>
      store.writeConnectivity(clusterName, record).catch((err: unknown) => {
        logger.warn({ event: 'sync.connectivity_write_failed', err }, 'connectivity record write failed');
      }),
    );
    this.chain = write;
    this.endings.add(write);
    void write.finally(() => this.endings.delete(write));
  }
}
