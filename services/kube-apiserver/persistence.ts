/**
 * Durable writes of a cluster's stored objects to `<cluster>/kube/objects.json`, coalesced: a write
 * request resolves once a file containing the change has been renamed into place, and requests that
 * arrive while a write is due or running share the next one. A lone write after a quiet period goes
 * out at once; a burst is written at most once per interval (real ms), so 1,000 creates cost a few
 * file writes, not 1,000.
 */
import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { persistedObjectsSchema, type PersistedObjects } from './object-store.js';
import { SECRET_FILE_MODE, writeFileAtomically } from '../../platform/atomic-file.js';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class CoalescingWriter {
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private lastStartMs = -Infinity;

  constructor(
    private readonly intervalMs: number,
    /** Must take its snapshot synchronously, before its first await. */
    private readonly write: () => Promise<void>,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Resolves once a write that includes every change made before this call has completed. */
  request(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.schedule();
    return done;
  }

  get pending(): boolean {
    return this.waiters.length > 0 || this.writing !== undefined;
  }

  /** Writes what is pending now (shutdown); resolves when nothing is pending. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.writing || this.waiters.length > 0) {
      if (this.writing) await this.writing.catch(() => undefined);
      else this.run();
    }
  }

  private schedule(): void {
    if (this.timer || this.writing) return;
    const waitMs = Math.max(0, this.lastStartMs + this.intervalMs - this.nowMs());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, waitMs);
  }

  private run(): void {
    const batch = this.waiters;
    this.waiters = [];
    this.lastStartMs = this.nowMs();
    this.writing = this.write().then(
      () => {
        for (const w of batch) w.resolve();
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
      },
    );
    void this.writing.finally(() => {
      this.writing = undefined;
      if (this.waiters.length > 0) this.schedule();
    });
  }
}

export function objectsPath(clusterDir: string): string {
  return join(clusterDir, 'kube', 'objects.json');
}

/**
 * Reads the stored objects; undefined when there are none yet. A file that does not parse is moved
 * aside (`objects.json.corrupt-<ms>`) and reported through `onCorrupt`, never served half-read.
 */
export async function loadObjects(
  clusterDir: string,
  onCorrupt: (err: unknown, movedTo: string) => void,
): Promise<PersistedObjects | undefined> {
  const path = objectsPath(clusterDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return persistedObjectsSchema.parse(JSON.parse(text));
  } catch (err) {
    const aside = `${path}.corrupt-${Date.now()}`;
    await rename(path, aside).catch(() => undefined);
    onCorrupt(err, aside);
    return undefined;
  }
}

/**
 * Writes the snapshot atomically (temp file + rename). Skipped when the cluster's directory is gone
 * (the cluster was removed: its objects go with it, and writing would recreate the directory).
 */
export async function saveObjects(clusterDir: string, text: string): Promise<boolean> {
  try {
    await stat(join(clusterDir, 'cluster.json'));
  } catch {
    return false;
  }
  // The cluster's Secrets (extensions' protected settings, Flux deploy keys) are in it.
  await writeFileAtomically(objectsPath(clusterDir), text, { mode: SECRET_FILE_MODE });
  return true;
}
