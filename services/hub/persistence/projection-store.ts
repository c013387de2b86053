/**
 * Projections served from memory, persisted to JetStream KV with coalesced writes:
 * - `important` changes (status transitions, metadata, identity, API writes) are flushed on the next
 *   flush tick (`persistIntervalMs`, real time, default 100 ms), batched across clusters;
 * - heartbeat-only changes (lastConnectivityTime) are flushed at most once per
 *   `heartbeatPersistIntervalMs` per cluster, so a heartbeat does not cost a KV write.
 * A hub restart therefore loses at most the last few lastConnectivityTime updates, never a status or metadata.
 * Replies that an agent relies on (a metadata ack, a certificate) wait for `whenPersisted`, so nothing
 * the hub has acknowledged can be lost by a hub crash: an agent that got no reply sends again.
 */
import type { Logger } from '../../../platform/log.js';
import type { ClusterRecord } from '../connected-clusters/projection.js';

/** Anything stored by key: the cluster projections, and the configuration documents (configuration/). */
export interface KeyedRecord {
  readonly key: string;
}

export interface ProjectionPersistence<R extends KeyedRecord = ClusterRecord> {
  loadAll(): Promise<R[]>;
  put(record: R): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface ProjectionStoreOptions<R extends KeyedRecord = ClusterRecord> {
  persistence: ProjectionPersistence<R>;
  logger: Logger;
  persistIntervalMs: number;
  heartbeatPersistIntervalMs: number;
  onWrite?: (kind: 'important' | 'heartbeat') => void;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

export class ProjectionStore<R extends KeyedRecord = ClusterRecord> {
  private readonly records = new Map<string, R>();
  private readonly important = new Set<string>();
  private readonly heartbeatOnly = new Set<string>();
  private readonly lastPersistedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Callers waiting for a key's next successful write (see whenPersisted). */
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly opts: ProjectionStoreOptions<R>) {}

  async load(): Promise<number> {
    for (const r of await this.opts.persistence.loadAll()) this.records.set(r.key, r);
    return this.records.size;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.persistIntervalMs);
    this.timer.unref();
  }

  get(key: string): R | undefined {
    return this.records.get(key);
  }

  values(): IterableIterator<R> {
    return this.records.values();
  }

  get size(): number {
    return this.records.size;
  }

  /** Inserts or replaces, persisted on the next flush. */
  set(record: R): void {
    this.records.set(record.key, record);
    this.markImportant(record.key);
  }

  markImportant(key: string): void {
    this.important.add(key);
    this.heartbeatOnly.delete(key);
  }

  markHeartbeat(key: string): void {
    if (!this.important.has(key)) this.heartbeatOnly.add(key);
  }

  /**
   * Resolves once the key's current record is in KV: after the next successful write of a key with
   * unwritten changes, or after the write in flight. Rejects if the store closes first.
   */
  async whenPersisted(key: string): Promise<void> {
    if (!this.important.has(key)) {
      await this.flushing;
      // The write in flight failed: the key is dirty again; wait for the retry.
      if (!this.important.has(key)) return;
    }
    await new Promise<void>((resolve, reject) => {
      const list = this.waiters.get(key) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(key, list);
    });
  }

  /** Deletes now (awaited), so that a re-create cannot be overtaken by a stale write. */
  async delete(key: string): Promise<void> {
    this.records.delete(key);
    for (const w of this.takeWaiters(key)) w.resolve();
    this.important.delete(key);
    this.heartbeatOnly.delete(key);
    this.lastPersistedAt.delete(key);
    await this.flushing;
    await this.opts.persistence.delete(key);
  }

  /** Writes what is due. Never runs twice at once. */
  async flush(force = false): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = this.doFlush(force).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async doFlush(force: boolean): Promise<void> {
    const now = Date.now();
    const due: Array<[string, 'important' | 'heartbeat']> = [];
    for (const key of this.important) due.push([key, 'important']);
    this.important.clear();
    for (const key of this.heartbeatOnly) {
      const last = this.lastPersistedAt.get(key) ?? 0;
      if (force || now - last >= this.opts.heartbeatPersistIntervalMs) {
        due.push([key, 'heartbeat']);
        this.heartbeatOnly.delete(key);
      }
    }
    const batch = 128;
    for (let i = 0; i < due.length; i += batch) {
      await Promise.all(
        due.slice(i, i + batch).map(async ([key, kind]) => {
          // Taken before the write: whoever waits from now on waits for the next one.
          const waiting = this.takeWaiters(key);
          const record = this.records.get(key);
          if (!record) {
            for (const w of waiting) w.resolve();
            return;
          }
          try {
            await this.opts.persistence.put(record);
            this.lastPersistedAt.set(key, now);
            this.opts.onWrite?.(kind);
            for (const w of waiting) w.resolve();
          } catch (err) {
            // Keep it dirty: the next tick retries (the broker may be restarting).
            this.important.add(key);
            if (waiting.length > 0) this.waiters.set(key, [...waiting, ...this.takeWaiters(key)]);
            this.opts.logger.warn({ event: 'hub.persist_failed', key, err }, 'projection write failed');
          }
        }),
      );
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing;
    await this.flush(true);
    for (const key of [...this.waiters.keys()])
      for (const w of this.takeWaiters(key)) w.reject(new Error('the projection store closed'));
  }

  private takeWaiters(key: string): Waiter[] {
    const list = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    return list;
  }
}
