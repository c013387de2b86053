/**
 * Projections served from memory, persisted to JetStream KV with coalesced writes:
 * - `important` changes (status transitions, metadata, identity, API writes) are flushed on the next
 *   flush tick (`persistIntervalMs`, real time, default 100 ms), batched across clusters;
 * - heartbeat-only changes (lastConnectivityTime) are flushed at most once per
 *   `heartbeatPersistIntervalMs` per cluster, so a heartbeat does not cost a KV write.
 * A hub restart therefore loses at most the last few lastConnectivityTime updates, never a status or metadata.
 * Replies that an agent relies on (a metadata ack, a certificate) wait for `whenPersisted`, so nothing
 * the hub has acknowledged can be lost by a hub crash: an agent that got no reply sends again.
 *
 * Several hub replicas write the same buckets (docs/scale-out.md#hub-replicas): every write is a
 * compare-and-set on the revision this replica last saw of the key; on a conflict the replica re-reads
 * the key, rebases its change onto it (merge.ts) and writes again, so no replica's update is lost. With
 * `replicated`, the KV watch (kv-watch.ts) feeds the other replicas' writes into memory (`applyRemote`).
 */
import type { Logger } from '../../../platform/log.js';
import type { ClusterRecord } from '../connected-clusters/projection.js';
import { RemoteView, type RemoteEntry } from './remote-view.js';
import { merge3, replaceContents } from './merge.js';
import { noteTouched } from './write-scope.js';

/** Anything stored by key: the cluster projections, and the configuration documents (configuration/). */
export interface KeyedRecord {
  readonly key: string;
}

/** A record as stored, with the KV revision it was stored at. */
export interface Stored<R> {
  readonly record: R;
  readonly revision: number;
}

/** The key was written by someone else since the revision given (a compare-and-set refused). */
export class RevisionConflict extends Error {
  constructor(readonly key: string) {
    super(`${key} was changed by another writer`);
  }
}

export interface ProjectionPersistence<R extends KeyedRecord = ClusterRecord> {
  loadAll(): Promise<Array<Stored<R>>>;
  /**
   * Writes `json` if the key is still at `revision` (undefined: absent or deleted); returns the new
   * revision, or throws RevisionConflict.
   */
  write(key: string, json: string, revision: number | undefined): Promise<number>;
  /** The key's current record; undefined when absent or deleted. */
  read(key: string): Promise<Stored<R> | undefined>;
  delete(key: string): Promise<void>;
}

export interface ProjectionStoreOptions<R extends KeyedRecord = ClusterRecord> {
  persistence: ProjectionPersistence<R>;
  logger: Logger;
  persistIntervalMs: number;
  heartbeatPersistIntervalMs: number;
  onWrite?: (kind: 'important' | 'heartbeat') => void;
  /** Counts compare-and-set conflicts (another replica wrote the key first). */
  onConflict?: () => void;
  /** Other hub replicas write the same bucket: keep what is needed to rebase onto their writes. */
  replicated?: boolean;
  /** What only this replica knows of a record, carried onto a newer one from KV (see RemoteView). */
  keepLocal?: (local: R, fresh: R) => void;
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** Rebases per write before it is left for the next flush tick (another replica keeps winning). */
const MAX_REBASES = 5;

export class ProjectionStore<R extends KeyedRecord = ClusterRecord> extends RemoteView<R> {
  private readonly important = new Set<string>();
  /** Keys a running flush has taken and not yet written (or failed to). */
  private readonly writing = new Set<string>();
  private readonly heartbeatOnly = new Set<string>();
  private readonly lastPersistedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** Callers waiting for a key's next successful write (see whenPersisted). */
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(private readonly opts: ProjectionStoreOptions<R>) {
    super(opts.replicated === true, opts.keepLocal);
  }

  async load(): Promise<number> {
    for (const s of await this.opts.persistence.loadAll()) this.adopt(s.record.key, s.record, s.revision);
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
    noteTouched(this, key);
  }

  markHeartbeat(key: string): void {
    if (!this.important.has(key)) this.heartbeatOnly.add(key);
  }

  protected override isDirty(key: string): boolean {
    return this.important.has(key) || this.heartbeatOnly.has(key);
  }

  protected override forget(key: string): void {
    for (const w of this.takeWaiters(key)) w.resolve();
    this.important.delete(key);
    this.heartbeatOnly.delete(key);
    this.lastPersistedAt.delete(key);
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

  /**
   * Resolves once the changes of `keys` (default: every key) are in KV, the hub acknowledging an ARM
   * write: those with unwritten changes and those whose write is in flight, which may still fail (the
   * broker gone) and then wait for their retry. Concurrent callers each wait for their own keys even
   * when another caller's flush has already taken them.
   */
  async settle(keys?: Iterable<string>): Promise<void> {
    const due = new Set<string>();
    for (const key of keys ?? [...this.important, ...this.writing])
      if (this.important.has(key) || this.writing.has(key)) due.add(key);
    if (due.size === 0) return;
    const pending = [...due].map((key) => this.whenPersisted(key));
    void this.flush();
    await Promise.all(pending);
  }

  /** Deletes now (awaited), so that a re-create cannot be overtaken by a stale write. */
  async delete(key: string): Promise<void> {
    this.records.delete(key);
    this.forget(key);
    await this.flushing;
    await this.opts.persistence.delete(key);
    this.dropRevision(key);
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
    // In flight from now until each write ends (settle waits for them, even in later batches).
    for (const [key] of due) this.writing.add(key);
    const batch = 128;
    for (let i = 0; i < due.length; i += batch)
      await Promise.all(due.slice(i, i + batch).map(([key, kind]) => this.writeOne(key, kind, now)));
  }

  private async writeOne(key: string, kind: 'important' | 'heartbeat', now: number): Promise<void> {
    // Taken before the write: whoever waits from now on waits for the next one.
    const waiting = this.takeWaiters(key);
    try {
      for (let attempt = 0; ; attempt++) {
        const record = this.records.get(key);
        if (!record) break;
        const json = JSON.stringify(record);
        try {
          this.wrote(key, json, await this.opts.persistence.write(key, json, this.revisionOf(key)));
          this.lastPersistedAt.set(key, now);
          this.opts.onWrite?.(kind);
          break;
        } catch (err) {
          if (!(err instanceof RevisionConflict) || attempt >= MAX_REBASES) throw err;
          this.opts.onConflict?.();
          this.rebase(key, await this.opts.persistence.read(key));
        }
      }
      for (const w of waiting) w.resolve();
    } catch (err) {
      // Keep it dirty: the next tick retries (the broker may be restarting).
      if (this.records.has(key)) this.important.add(key);
      if (waiting.length > 0) this.waiters.set(key, [...waiting, ...this.takeWaiters(key)]);
      this.opts.logger.warn({ event: 'hub.persist_failed', key, err }, 'projection write failed');
    } finally {
      this.writing.delete(key);
    }
  }

  /** After a refused write: the key as it is in KV now, with this replica's change on top. */
  private rebase(key: string, fresh: Stored<R> | undefined): void {
    const local = this.records.get(key);
    if (!local) return;
    if (!fresh) {
      // Deleted by another replica (a DELETE of the resource): the deletion wins over a late change.
      this.removeLocal(key);
      return;
    }
    if (this.replicated) replaceContents(local, merge3(this.baseOf(key), local, fresh.record) as object);
    this.adopt(key, local, fresh.revision, JSON.stringify(fresh.record));
  }

  /** An entry of the KV watch: another replica's write (or this one's, already known). */
  applyRemote(entry: RemoteEntry<R>): void {
    this.applyEntry(entry);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flushing;
    await this.flush(true);
    this.closeView();
    for (const key of [...this.waiters.keys()])
      for (const w of this.takeWaiters(key)) w.reject(new Error('the projection store closed'));
  }

  private takeWaiters(key: string): Waiter[] {
    const list = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    return list;
  }
}
