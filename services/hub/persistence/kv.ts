/**
 * JetStream KV under the projection stores: opening a bucket (JetStream may still be starting), and the
 * store's persistence as one KV entry per record.
 */
import type { KV, NatsConnection } from 'nats';
import {
  ProjectionStore,
  RevisionConflict,
  type Stored,
  type KeyedRecord,
  type ProjectionPersistence,
  type ProjectionStoreOptions,
} from './projection-store.js';
import type { ClusterRecord } from '../connected-clusters/projection.js';
import type { Logger } from '../../../platform/log.js';
import { waitFor } from '../../../platform/wait.js';
import { BucketWatch } from './kv-watch.js';

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

/** JetStream's answer to a write whose expected revision is not the key's last (err_code 10071). */
function isWrongRevision(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } } | undefined)?.api_error?.err_code === 10071;
}

export class KvPersistence<R extends KeyedRecord = ClusterRecord> implements ProjectionPersistence<R> {
  constructor(private readonly kv: KV) {}

  async loadAll(): Promise<Array<Stored<R>>> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys()) keys.push(k);
    const out: Array<Stored<R>> = [];
    const batch = 64;
    for (let i = 0; i < keys.length; i += batch) {
      const entries = await Promise.all(keys.slice(i, i + batch).map((k) => this.kv.get(k)));
      for (const e of entries)
        if (e && e.operation === 'PUT' && e.value.length > 0)
          out.push({ record: e.json<R>(), revision: e.revision });
    }
    return out;
  }

  async write(key: string, json: string, revision: number | undefined): Promise<number> {
    try {
      // create: the key is new or deleted (a delete marker is last); update: it is still at `revision`.
      return revision === undefined
        ? await this.kv.create(key, json)
        : await this.kv.update(key, json, revision);
    } catch (err) {
      if (isWrongRevision(err)) throw new RevisionConflict(key);
      throw err;
    }
  }

  async read(key: string): Promise<Stored<R> | undefined> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return undefined;
    return { record: e.json<R>(), revision: e.revision };
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }
}

/** A projection store over its own bucket, loaded and flushing; watched when other replicas write it. */
export interface OpenedStore<R extends KeyedRecord> {
  readonly store: ProjectionStore<R>;
  /** The read-your-writes barrier (replicas); undefined for a lone hub, whose memory is the truth. */
  readonly watch: BucketWatch<R> | undefined;
}

export async function openProjectionStore<R extends KeyedRecord>(
  nc: NatsConnection,
  bucket: string,
  opts: Omit<ProjectionStoreOptions<R>, 'persistence'> & {
    readonly replicas?: number;
    readonly logger: Logger;
  },
): Promise<OpenedStore<R>> {
  const { replicas, ...storeOpts } = opts;
  const kv = await openKv(nc, bucket, replicas);
  const store = new ProjectionStore<R>({ ...storeOpts, persistence: new KvPersistence<R>(kv) });
  await untilJetStream(`the records of ${bucket}`, () => store.load());
  store.start();
  if (!opts.replicated) return { store, watch: undefined };
  const watch = new BucketWatch<R>(kv, store, bucket, opts.logger);
  watch.start();
  return { store, watch };
}
