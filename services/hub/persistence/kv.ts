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

export function openKv(nc: NatsConnection, bucket: string, replicas = 1): Promise<KV> {
  // JetStream may still be starting right after nats-server comes up (a NATS cluster first elects its
  // meta leader); keep trying for 60 s.
  return waitFor(() => nc.jetstream().views.kv(bucket, { history: 1, replicas }), {
    timeoutMs: 60_000,
    intervalMs: 500,
    message: `JetStream KV bucket ${bucket}`,
  });
}

/** Real ms the hub waits at start for JetStream to answer (a NATS cluster electing a leader). */
const JETSTREAM_START_MS = 60_000;

/**
 * Runs a start-up step that reads or writes JetStream until it succeeds: right after a broker node dies,
 * JetStream answers nothing until the survivors elect a new leader (4–9 s in nats-server 2.9), and a
 * hub (re)started then must wait, not exit.
 */
export function untilJetStream<T>(what: string, step: () => Promise<T>): Promise<T> {
  return waitFor(step, {
    timeoutMs: JETSTREAM_START_MS,
    intervalMs: 500,
    until: () => true,
    message: what,
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
  opts: Omit<ProjectionStoreOptions<R>, 'persistence'> & { readonly replicas?: number },
): Promise<ProjectionStore<R>> {
  const { replicas, ...storeOpts } = opts;
  const store = new ProjectionStore<R>({
    ...storeOpts,
    persistence: new KvPersistence<R>(await openKv(nc, bucket, replicas)),
  });
  await untilJetStream(`the records of ${bucket}`, () => store.load());
  store.start();
  return store;
}
