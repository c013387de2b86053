/**
 * The cluster store's change journal, `<dataDir>/run/cluster-changes.journal`: one line
 * `<what> <cluster>\n` per write of a file the agent hosts watch (cluster.json, the onboarding and
 * identity secrets: `state`, `onboarding`, `identity`; the emulated apiserver's stored objects: `kube`)
 * and per removed cluster (`removed`), appended by whichever process made the change (agents, the CLI,
 * the launcher, the emulated apiserver) once the file is in place.
 *
 * Why: an agent host used to stat three files of every cluster every poll (180,000 stats a second for
 * six agents at 10,000 clusters). With the journal a poll reads only the bytes appended since the last
 * one and looks at the clusters named there: O(changes), not O(clusters).
 *
 * Every append is one write(2) on an O_APPEND descriptor, so lines of concurrent writers never
 * interleave. The journal is bounded: the writer whose append takes it past `rotateBytes` renames it
 * to `<path>.old` and the next append starts a new file. A reader notices a new file (inode and birth
 * time: a file removed and created again may get the same inode), a shrunk file or an over-long
 * backlog and answers `rescan` (the caller then scans the whole store, as before the
 * journal); a crash between a file write and its line, or a hand edit, is caught by the caller's slow
 * periodic rescan.
 */
import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** What a journal line says changed; readers only use the cluster name. */
export type ClusterChange = 'state' | 'onboarding' | 'identity' | 'kube' | 'removed';

/** Past this size the journal is rotated (about 100,000 lines). */
export const JOURNAL_ROTATE_BYTES = 4 * 1024 * 1024;

/** A backlog larger than this is not parsed: a full scan is cheaper (a reader stalled for long). */
const MAX_READ_BYTES = 8 * 1024 * 1024;

/** The writer's side: one per ClusterStore, shared by its writes. */
export class ClusterJournal {
  constructor(
    readonly path: string,
    private readonly rotateBytes = JOURNAL_ROTATE_BYTES,
  ) {}

  /**
   * Appends one line; never throws. A line that cannot be written only delays the change until the
   * readers' periodic rescan, and the file it describes is already written, so the caller's write
   * stands either way.
   */
  async append(cluster: string, what: ClusterChange): Promise<void> {
    const line = `${what} ${cluster}\n`;
    try {
      await this.appendLine(line);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return;
      await mkdir(dirname(this.path), { recursive: true })
        .then(() => this.appendLine(line))
        .catch(() => undefined);
    }
  }

  private async appendLine(line: string): Promise<void> {
    const fh = await open(this.path, 'a');
    try {
      await fh.write(line);
      const st = await fh.stat();
      if (st.size > this.rotateBytes) await this.rotate(st.ino);
    } finally {
      await fh.close();
    }
  }

  /** Renames the journal away unless another writer already did (its inode is no longer ours). */
  private async rotate(ino: number): Promise<void> {
    const current = await stat(this.path).catch(() => undefined);
    if (current?.ino === ino) await rename(this.path, `${this.path}.old`).catch(() => undefined);
  }
}

/** What changed since the last read: the clusters named, or "scan everything". */
export type JournalRead =
  | { readonly kind: 'changes'; readonly clusters: ReadonlySet<string> }
  | { readonly kind: 'rescan'; readonly reason: RescanReason };

export type RescanReason = 'first' | 'replaced' | 'truncated' | 'backlog';

const NOTHING: JournalRead = { kind: 'changes', clusters: new Set() };

/**
 * The reader's side: one per agent host. Synchronous on purpose (one stat per poll, one read when
 * the journal grew), like the host's stats.
 */
export class ClusterChangeReader {
  private started = false;
  /** Identity of the journal read so far (fileId); undefined while there is none. */
  private id: string | undefined;
  private offset = 0;

  constructor(
    readonly path: string,
    private readonly maxReadBytes = MAX_READ_BYTES,
  ) {}

  /**
   * The clusters named since the last call. `rescan` on the first call, and whenever lines may have
   * been missed. Call it BEFORE a full scan: lines appended during the scan are then returned next time.
   */
  read(): JournalRead {
    const st = statSync(this.path, { throwIfNoEntry: false });
    if (!this.started) {
      this.started = true;
      this.moveTo(st && fileId(st), st?.size ?? 0);
      return { kind: 'rescan', reason: 'first' };
    }
    if (!st) {
      if (this.id === undefined) return NOTHING;
      this.moveTo(undefined, 0);
      return { kind: 'rescan', reason: 'replaced' };
    }
    const id = fileId(st);
    if (this.id === undefined) {
      // A journal appeared where there was none: every line in it was appended after the last
      // full scan (which saw no journal), so it is read from its start.
      this.moveTo(id, 0);
    } else if (id !== this.id) {
      this.moveTo(id, st.size);
      return { kind: 'rescan', reason: 'replaced' };
    }
    if (st.size < this.offset) {
      this.moveTo(id, st.size);
      return { kind: 'rescan', reason: 'truncated' };
    }
    if (st.size === this.offset) return NOTHING;
    if (st.size - this.offset > this.maxReadBytes) {
      this.moveTo(id, st.size);
      return { kind: 'rescan', reason: 'backlog' };
    }
    return this.readFrom(id, st.size);
  }

  private moveTo(id: string | undefined, offset: number): void {
    this.id = id;
    this.offset = offset;
  }

  private readFrom(id: string, size: number): JournalRead {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      this.moveTo(undefined, 0); // rotated between the stat and the open
      return { kind: 'rescan', reason: 'replaced' };
    }
    try {
      if (fileId(fstatSync(fd)) !== id) {
        this.moveTo(undefined, 0);
        return { kind: 'rescan', reason: 'replaced' };
      }
      const buf = Buffer.alloc(size - this.offset);
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      // Only whole lines: a line still being copied in is read next time.
      const end = buf.lastIndexOf(0x0a, n - 1);
      if (end < 0) return NOTHING;
      this.offset += end + 1;
      return { kind: 'changes', clusters: parseClusters(buf.toString('utf8', 0, end)) };
    } finally {
      closeSync(fd);
    }
  }
}

/** Which file this is: its inode, and its birth time since inodes are reused. */
function fileId(st: Stats): string {
  return `${st.ino}:${st.birthtimeMs}`;
}

/** The cluster names of journal lines (`<what> <cluster>`); malformed lines are skipped. */
export function parseClusters(text: string): Set<string> {
  const clusters = new Set<string>();
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0 && space < line.length - 1) clusters.add(line.slice(space + 1));
  }
  return clusters;
}
