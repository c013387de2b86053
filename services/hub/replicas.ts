/**
 * What running several hub replicas adds to one (docs/scale-out.md#hub-replicas): the leader lease,
 * and read-your-writes on the ARM API. An ARM write is answered once every change it made is in KV; an
 * ARM read (and write) first waits until this replica's watches have delivered every revision the
 * buckets held when it arrived. A client that wrote through one replica therefore reads its write
 * through any other. The live page and /metrics read memory as it is (eventually the same).
 */
import type { FastifyInstance } from 'fastify';
import type { NatsConnection } from 'nats';
import type { Logger } from '../../platform/log.js';
import type { HubMetrics } from './metrics.js';
import { openKv } from './persistence/kv.js';
import { LeaderLease, SOLE_LEADER, type Leadership } from './persistence/leader-lease.js';
import type { HubSettings } from './settings.js';

/** The stores' barrier and acknowledgement, over all of the hub's replicated buckets. */
export interface Consistency {
  /** Resolves once memory holds every write made to the buckets before the call. */
  sync(): Promise<void>;
  /** Resolves once every change made so far is in KV. */
  settle(): Promise<void>;
}

const WRITES = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

/** Only the ARM resources: health, metrics, the page and its feed do not wait. */
function isArm(url: string): boolean {
  return url.startsWith('/subscriptions/');
}

export function registerReplicaConsistency(
  app: FastifyInstance,
  consistency: () => Consistency | undefined,
): void {
  app.addHook('preHandler', async (request) => {
    const c = consistency();
    if (c && isArm(request.url)) await c.sync();
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    const c = consistency();
    if (c && WRITES.has(request.method) && isArm(request.url)) await c.settle();
    return payload;
  });
}

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
