/**
 * JetStream KV under the projection stores: opening a bucket (JetStream may still be starting), and the
 * store's persistence as one KV entry per record.
 */
import type { KV, NatsConnection } from 'nats';
import {
  ProjectionStore,
  type KeyedRecord,
  type ProjectionPersistence,
  type ProjectionStoreOptions,
} from './projection-store.js';
import type { ClusterRecord } from '../connected-clusters/projection.js';
import { waitFor } from '../../../platform/wait.js';

export function openKv(nc: NatsConnection, bucket: string): Promise<KV> {
  // JetStream may still be starting right after nats-server comes up; keep trying for 30 s.
  return waitFor(() => nc.jetstream().views.kv(bucket, { history: 1 }), {
    timeoutMs: 30_000,
    intervalMs: 500,
    message: `JetStream KV bucket ${bucket}`,
  });
}

export class KvPersistence<R extends KeyedRecord = ClusterRecord> implements ProjectionPersistence<R> {
  constructor(private readonly kv: KV) {}

  async loadAll(): Promise<R[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    const out: R[] = [];
    const batch = 64;
    for (let i = 0; i < keys.length; i += batch) {
      const entries = await Promise.all(keys.slice(i, i + batch).map((k) => this.kv.get(k)));
      for (const e of entries) if (e && e.operation === 'PUT' && e.value.length > 0) out.push(e.json<R>());
    }
    return out;
  }

  async put(record: R): Promise<void> {
    await this.kv.put(record.key, JSON.stringify(record));
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }
}

/** A projection store over its own bucket, loaded and flushing. */
export async function openProjectionStore<R extends KeyedRecord>(
  nc: NatsConnection,
  bucket: string,
  opts: Omit<ProjectionStoreOptions<R>, 'persistence'>,
): Promise<ProjectionStore<R>> {
  const store = new ProjectionStore<R>({
    ...opts,
    persistence: new KvPersistence<R>(await openKv(nc, bucket)),
  });
  await store.load();
  store.start();
  return store;
}
