/**
 * The Flux controllers' log on the cluster, `<cluster>/flux-logs/flux.log`: JSON lines, one per entry
 * (contract/flux-logs.ts), numbered per cluster. It stands in for the controllers' container logs that
 * the real flux-logs-agent tails on the node: config-agent (the emulated controllers) appends,
 * flux-logs-agent reads what it has not shipped.
 *
 * Bounded like a node's container logs: past `FLUX_LOG_ROTATE_BYTES` the file becomes `flux.log.1`
 * (replacing the one before) and a new file starts. A shipper that falls more than a whole file behind
 * loses the oldest lines, and says how many (the numbering has a gap), as log collectors do.
 */
import { closeSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { fluxLogEntrySchema, type FluxLogEntry, type FluxLogLine } from '../contract/index.js';

export const FLUX_LOG_DIR = 'flux-logs';
export const FLUX_LOG_FILE = 'flux.log';
/** Past this size the log is rotated (about 1,500 lines). */
export const FLUX_LOG_ROTATE_BYTES = 512 * 1024;

export const fluxLogPath = (clusterDir: string): string => join(clusterDir, FLUX_LOG_DIR, FLUX_LOG_FILE);

/** The writer's side, one per cluster (its config-agent instance): appends, numbers, rotates. */
export class FluxLogWriter {
  private seq: number | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly clusterDir: string,
    private readonly rotateBytes = FLUX_LOG_ROTATE_BYTES,
  ) {}

  /** Appends the entries in one write; calls are serialized so numbering never repeats. */
  write(entries: readonly FluxLogLine[]): Promise<void> {
    if (entries.length === 0) return this.chain;
    const next = this.chain.then(() => this.append(entries));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async append(entries: readonly FluxLogLine[]): Promise<void> {
    const path = fluxLogPath(this.clusterDir);
    // After a restart numbering continues from the file: the shipper's cursor is a number.
    let seq = (this.seq ??= lastSeq(path));
    const text = entries.map((e) => `${JSON.stringify({ seq: ++seq, ...e })}\n`).join('');
    // Not recursive: a cluster removed meanwhile must not get its directory back.
    const made = await mkdir(join(this.clusterDir, FLUX_LOG_DIR)).then(
      () => true,
      (err: NodeJS.ErrnoException) => err.code === 'EEXIST',
    );
    if (!made) return;
    const fh = await open(path, 'a');
    try {
      await fh.write(text);
      this.seq = seq;
      if ((await fh.stat()).size > this.rotateBytes) await rename(path, `${path}.1`);
    } finally {
      await fh.close();
    }
  }
}

/** The last entry number in the log (or in its rotated predecessor); 0 for none. */
export function lastSeq(path: string): number {
  for (const file of [path, `${path}.1`]) {
    const tail = readTail(file, 64 * 1024);
    const lines = tail.split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const entry = parseLine(lines[i] ?? '');
      if (entry) return entry.seq;
    }
  }
  return 0;
}

function readTail(path: string, bytes: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = statSync(path).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function parseLine(line: string): FluxLogEntry | undefined {
  if (line.trim() === '') return undefined;
  try {
    const parsed = fluxLogEntrySchema.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export interface FluxLogRead {
  /** Entries after the cursor, oldest first, at most the number asked for. */
  readonly entries: readonly FluxLogEntry[];
  /** Lines that were not entries (a torn or hand-edited line), skipped. */
  readonly invalid: number;
  /** Entries after the cursor that were rotated away before they could be read. */
  readonly lost: number;
  /** Entries after the cursor still to ship, these included. */
  readonly pending: number;
}

/**
 * The reader's side, one per cluster (its flux-logs-agent instance). Remembers how far into the
 * current file it has parsed, so a look after an append reads only the new bytes; a rotated or new
 * file is read again from the start (with its predecessor), filtered by the cursor.
 */
export class FluxLogReader {
  private ino: number | undefined;
  private offset = 0;
  private backlog: FluxLogEntry[] = [];

  constructor(private readonly clusterDir: string) {}

  /** Whether the cluster has a Flux log at all (before its first configuration it has none). */
  exists(): boolean {
    return stat(fluxLogPath(this.clusterDir)) !== undefined;
  }

  async read(afterSeq: number, max: number): Promise<FluxLogRead> {
    const path = fluxLogPath(this.clusterDir);
    const st = stat(path);
    let invalid = 0;
    if (st === undefined || st.ino !== this.ino || st.size < this.offset) {
      const older = await readLines(`${path}.1`);
      const current = st === undefined ? { text: '', consumed: 0 } : await readLines(path);
      this.ino = st?.ino;
      this.offset = current.consumed;
      this.backlog = [];
      invalid += this.take(older.text) + this.take(current.text);
    } else if (st.size > this.offset) {
      const fresh = await readFrom(path, this.offset, st.size);
      this.offset += fresh.consumed;
      invalid += this.take(fresh.text);
    }
    this.backlog = this.backlog.filter((e) => e.seq > afterSeq);
    const first = this.backlog[0];
    const lost = first === undefined ? 0 : Math.max(0, first.seq - afterSeq - 1);
    return { entries: this.backlog.slice(0, max), invalid, lost, pending: this.backlog.length };
  }

  /** Parses whole lines into the backlog (in order, no repeats); returns how many were not entries. */
  private take(text: string): number {
    let invalid = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const entry = parseLine(line);
      if (!entry) invalid++;
      else if (entry.seq > (this.backlog.at(-1)?.seq ?? 0)) this.backlog.push(entry);
    }
    return invalid;
  }
}

function stat(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** The file's whole lines (a line still being written is left for the next read). */
async function readLines(path: string): Promise<{ text: string; consumed: number }> {
  const buf = await readFile(path).catch(() => Buffer.alloc(0));
  return wholeLines(buf);
}

async function readFrom(
  path: string,
  start: number,
  end: number,
): Promise<{ text: string; consumed: number }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return wholeLines(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

function wholeLines(buf: Buffer): { text: string; consumed: number } {
  const end = buf.lastIndexOf(0x0a) + 1;
  return { text: buf.subarray(0, end).toString('utf8'), consumed: end };
}
