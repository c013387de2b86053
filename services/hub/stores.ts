/**
 * The hub's JetStream KV buckets, each kept in memory by a projection store (persistence/kv.ts): the
 * connected clusters, their configuration documents, resource groups, published releases and the
 * tenant's custom roles. Opened together, settled together (an ARM write is answered once its change
 * is in KV), closed together.
 */
import type { NatsConnection } from 'nats';
import type { Logger } from '../../platform/log.js';
import type { Consistency } from './arm/durable-writes.js';
import type { RoleDefinitionRecord } from './configuration/role-definitions.js';
import type { ClusterConfigRecord } from './configuration/records.js';
import { keepLatestHeartbeat, type ClusterRecord } from './connected-clusters/projection.js';
import type { HubMetrics } from './metrics.js';
import { openProjectionStore, type OpenedStore } from './persistence/kv.js';
import type { ReleaseRecord } from './releases/release-records.js';
import type { ResourceGroupRecord } from './resource-groups/resource-groups.js';
import type { HubSettings } from './settings.js';

export interface HubStores {
  readonly clusters: OpenedStore<ClusterRecord>;
  /** One configuration document per cluster (extensions, Flux, role assignments, ...). */
  readonly configurations: OpenedStore<ClusterConfigRecord>;
  readonly groups: OpenedStore<ResourceGroupRecord>;
  readonly releases: OpenedStore<ReleaseRecord>;
  readonly roles: OpenedStore<RoleDefinitionRecord>;
}

export async function openHubStores(
  nc: NatsConnection,
  settings: HubSettings,
  logger: Logger,
  metrics: HubMetrics,
): Promise<HubStores> {
  const options = {
    logger,
    persistIntervalMs: settings.persistIntervalMs,
    heartbeatPersistIntervalMs: settings.heartbeatPersistIntervalMs,
    onWrite: (kind: 'important' | 'heartbeat') => metrics.kvWrites.inc({ kind }),
    replicas: settings.jetstreamReplicas,
    replicated: settings.replicas > 1,
    onConflict: () => metrics.kvConflicts.inc(),
  };
  const bucket = settings.kvBucket;
  return {
    clusters: await openProjectionStore<ClusterRecord>(nc, bucket, {
      ...options,
      keepLocal: keepLatestHeartbeat,
    }),
    configurations: await openProjectionStore<ClusterConfigRecord>(nc, `${bucket}-config`, options),
    groups: await openProjectionStore<ResourceGroupRecord>(nc, `${bucket}-groups`, options),
    releases: await openProjectionStore<ReleaseRecord>(nc, `${bucket}-releases`, options),
    roles: await openProjectionStore<RoleDefinitionRecord>(nc, `${bucket}-roles`, options),
  };
}

const opened = (stores: HubStores) =>
  [stores.clusters, stores.configurations, stores.groups, stores.releases, stores.roles] as const;

/** Every ARM write waits for its change to be in KV (arm/durable-writes.ts); replicas also sync reads. */
export function storeConsistency(stores: HubStores, replicated: boolean): Consistency {
  return {
    sync: replicated
      ? async () => void (await Promise.all(opened(stores).map((o) => o.watch?.sync())))
      : async () => undefined,
    settle: async (touched) =>
      void (await Promise.all(
        opened(stores).map(({ store }) =>
          // Without a record of the request's keys, every change so far (the safe side).
          store.settle(touched ? (touched.get(store) ?? []) : undefined),
        ),
      )),
  };
}

export async function closeHubStores(stores: HubStores): Promise<void> {
  for (const { watch } of opened(stores)) watch?.close();
  for (const { store } of opened(stores)) await store.close();
}
