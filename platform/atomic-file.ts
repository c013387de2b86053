/**
 * The one way arcfleet replaces a file: write a temp file beside it, fsync, rename over the old one. A
 * reader sees the old content or the new, never a torn one; a caller that acknowledges after this
 * resolves has acknowledged something durable. Writes of one path within a process are chained, so the
 * last call's content is what stays.
 *
 * Hand-written rather than npm's `write-file-atomic` (docs/design.md): that library resolves the real
 * path (an lstat per path component), stats, chowns and chmods on every write and registers an exit
 * handler per write, about 20 system calls where 5 do; an agent process writes a few files per cluster
 * it onboards, and those calls were a quarter of clusteridentityoperator's onboarding CPU.
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { noteWriteFailed, noteWriteSucceeded } from './write-health.js';

export interface AtomicWriteOptions {
  /** File mode for a new file or to enforce on an existing one (secrets: 0o600). */
  readonly mode?: number;
  /**
   * fsync before the rename (default true). Off only for state a crash may lose without harm
   * (emulated pod status, process beats), which is rewritten every few seconds.
   */
  readonly durable?: boolean;
}

/** The writes of each path in flight in this process, chained in call order. */
const queues = new Map<string, Promise<void>>();

/**
 * Replaces `path` with `data`, creating its directory when missing. Writes of one path run in the
 * order they were called, so the last call's content is what stays (unchained, a later call's rename
 * could land before an earlier one's).
 */
export function writeFileAtomically(
  path: string,
  data: string | Buffer,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const key = resolve(path);
  const write = (): Promise<void> => replace(key, data, opts);
  const next = (queues.get(key) ?? Promise.resolve()).then(write, write);
  queues.set(key, next);
  const forget = (): void => {
    if (queues.get(key) === next) queues.delete(key);
  };
  next.then(forget, forget);
  return next;
}

let tempSeq = 0;

/** Temp file, write, fsync, close, rename; the directory is created when missing. */
async function replace(path: string, data: string | Buffer, opts: AtomicWriteOptions): Promise<void> {
  // Ends in `.tmp`: readers that list a directory for `*.json` never see one half-written.
  const temp = `${path}.${process.pid}.${++tempSeq}.tmp`;
  const mode = opts.mode ?? 0o666;
  const handle = await open(temp, 'w', mode).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    await mkdir(dirname(path), { recursive: true });
    return open(temp, 'w', mode);
  });
  try {
    try {
      await handle.writeFile(data);
      if (opts.durable ?? true) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    noteWriteSucceeded(resolve(path));
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    noteWriteFailed(resolve(path), err);
    throw new FileWriteError(path, err);
  }
}

/**
 * A file that could not be written, naming it: Node's own write errors (ENOSPC, EIO) name no path. `code`
 * is the system error's, so callers can still tell a full disk from a missing directory.
 */
export class FileWriteError extends Error {
  readonly code: string | undefined;
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    const e = cause as NodeJS.ErrnoException;
    super(`Cannot write ${path}: ${e.code ? `${e.code} (${describe(e)})` : String(cause)}`, { cause });
    this.name = 'FileWriteError';
    this.code = e.code;
  }
}

function describe(e: NodeJS.ErrnoException): string {
  // "ENOSPC: no space left on device, write" → "no space left on device"
  return e.message.replace(/^[A-Z]+: /, '').replace(/, \w+( '.*')?$/, '');
}

/** `writeFileAtomically` of pretty-printed JSON with a final newline. */
export function writeJsonAtomically(
  path: string,
  value: unknown,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  return writeFileAtomically(path, `${JSON.stringify(value, null, 2)}\n`, opts);
}

/** The mode of every secret arcfleet writes: its owner reads and writes it, nobody else. */
export const SECRET_FILE_MODE = 0o600;

/** Whether `path` exists (the files the fleet makes once and keeps: trust chain, CA, token issuer). */
export function fileExists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
