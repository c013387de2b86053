/**
 * The in-memory records of a projection store and what keeps them current when other hub replicas
 * write the same bucket: each record's last known KV revision (the compare-and-set of the next write),
 * the record as it was at that revision (the base a conflicting change is rebased from, replicas only),
 * and the KV watch's entries applied in order, so LIST, the live page and the metrics work from memory
 * on every replica. `caughtUp` is the read-your-writes barrier: a read waits until the watch has
 * delivered the bucket's last revision (see kv-watch.ts).
 */
import { merge3, replaceContents } from './merge.js';

/** One entry of the KV watch: a record written, or deleted (`record` undefined). */
export interface RemoteEntry<R> {
  readonly key: string;
  readonly revision: number;
  readonly record: R | undefined;
  /** The record's JSON as stored, when the caller has it (saves serialising it again). */
  readonly json?: string | undefined;
}

/** Told of every change another replica made (indexes, the event log). */
export type RemoteChange<R> = (key: string, before: R | undefined, after: R | undefined) => void;

interface CatchUp {
  readonly revision: number;
  resolve(ok: boolean): void;
}

export abstract class RemoteView<R extends { readonly key: string }> {
  protected readonly records = new Map<string, R>();
  private readonly revisions = new Map<string, number>();
  private readonly bases = new Map<string, string>();
  private watched = 0;
  private catchUps: CatchUp[] = [];
  private readonly listeners: Array<RemoteChange<R>> = [];

  constructor(
    protected readonly replicated: boolean,
    private readonly keepLocal?: (local: R, fresh: R) => void,
  ) {}

  /** Unwritten changes to the key are pending. */
  protected abstract isDirty(key: string): boolean;
  /** The key is gone: drop its pending writes (their waiters are answered). */
  protected abstract forget(key: string): void;

  onRemoteChange(listener: RemoteChange<R>): void {
    this.listeners.push(listener);
  }

  /** The last bucket revision the watch has delivered. */
  get watchedRevision(): number {
    return this.watched;
  }

  /** Resolves true once the watch has delivered `revision`, false after `timeoutMs`. */
  caughtUp(revision: number, timeoutMs: number): Promise<boolean> {
    if (revision <= this.watched) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      this.catchUps.push({
        revision,
        resolve: (ok) => {
          clearTimeout(timer);
          resolve(ok);
        },
      });
    });
  }

  protected revisionOf(key: string): number | undefined {
    return this.revisions.get(key);
  }

  protected baseOf(key: string): unknown {
    const json = this.bases.get(key);
    return json === undefined ? undefined : JSON.parse(json);
  }

  protected adopt(key: string, record: R, revision: number, json?: string): void {
    this.records.set(key, record);
    this.revisions.set(key, revision);
    if (this.replicated) this.bases.set(key, json ?? JSON.stringify(record));
  }

  /** This replica's write landed at `revision`. */
  protected wrote(key: string, json: string, revision: number): void {
    if (revision <= (this.revisions.get(key) ?? 0)) return;
    this.revisions.set(key, revision);
    if (this.replicated) this.bases.set(key, json);
  }

  protected dropRevision(key: string): void {
    this.revisions.delete(key);
    this.bases.delete(key);
  }

  protected removeLocal(key: string): void {
    const before = this.records.get(key);
    this.records.delete(key);
    this.forget(key);
    this.dropRevision(key);
    this.notify(key, before, undefined);
  }

  protected applyEntry(e: RemoteEntry<R>): void {
    try {
      this.applyChange(e);
    } finally {
      this.advance(e.revision);
    }
  }

  private applyChange(e: RemoteEntry<R>): void {
    const known = this.revisions.get(e.key);
    // This replica's own write coming back, or older than what it holds.
    if (known !== undefined && e.revision <= known) return;
    const local = this.records.get(e.key);
    if (e.record === undefined) {
      // A record created here and not yet written is newer than any delete it has not seen.
      if (local && known !== undefined) this.removeLocal(e.key);
      return;
    }
    const json = e.json ?? JSON.stringify(e.record);
    if (!local) {
      this.adopt(e.key, e.record, e.revision, json);
      this.notify(e.key, undefined, e.record);
      return;
    }
    const before = { ...local };
    if (this.isDirty(e.key)) replaceContents(local, merge3(this.baseOf(e.key), local, e.record) as object);
    else {
      this.keepLocal?.(local, e.record);
      replaceContents(local, e.record);
    }
    this.adopt(e.key, local, e.revision, json);
    this.notify(e.key, before, local);
  }

  private advance(revision: number): void {
    if (revision <= this.watched) return;
    this.watched = revision;
    if (!this.catchUps.some((c) => c.revision <= revision)) return;
    const due = this.catchUps.filter((c) => c.revision <= revision);
    this.catchUps = this.catchUps.filter((c) => c.revision > revision);
    for (const c of due) c.resolve(true);
  }

  protected closeView(): void {
    for (const c of this.catchUps) c.resolve(false);
    this.catchUps = [];
  }

  private notify(key: string, before: R | undefined, after: R | undefined): void {
    for (const l of this.listeners)
      try {
        l(key, before, after);
      } catch {
        // A listener's bug must not stop the watch; the listeners log their own failures.
      }
  }
}
