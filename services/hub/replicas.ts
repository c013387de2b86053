/**
 * What running several hub replicas adds to one (docs/scale-out.md#hub-replicas): the leader lease.
 * Read-your-writes on the ARM API is arm/durable-writes.ts: an ARM read (and write) first waits until
 * this replica's watches have delivered every revision the buckets held when it arrived, so a client
 * that wrote through one replica reads its write through any other. The live page and /metrics read
 * memory as it is (eventually the same).
 */
import type { NatsConnection } from 'nats';
import type { Logger } from '../../platform/log.js';
import type { HubMetrics } from './metrics.js';
import { openKv } from './persistence/kv.js';
import { LeaderLease, SOLE_LEADER, type Leadership } from './persistence/leader-lease.js';
import type { HubSettings } from './settings.js';

export interface OpenedLeadership {
  readonly leadership: Leadership;
  /** Gives the lease up (SIGTERM). */
  release(): Promise<void>;
}

/** A lone hub leads without a lease; replicas run for one. */
export async function openLeadership(
  nc: NatsConnection,
  settings: HubSettings,
  logger: Logger,
  metrics: Pick<HubMetrics, 'leader'>,
): Promise<OpenedLeadership> {
  if (settings.replicas <= 1) {
    metrics.leader.set(1);
    return { leadership: SOLE_LEADER, release: async () => undefined };
  }
  metrics.leader.set(0);
  const kv = await openKv(nc, `${settings.kvBucket}-leader`, settings.jetstreamReplicas);
  const lease = new LeaderLease({
    kv,
    leaseMs: settings.leaseMs,
    logger,
    onChange: (leader) => metrics.leader.set(leader ? 1 : 0),
  });
  lease.start();
  return { leadership: lease, release: () => lease.release() };
}
