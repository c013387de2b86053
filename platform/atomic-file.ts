/**
 * The one way arcfleet replaces a file: write a temp file beside it, fsync, rename over the old one
 * (npm's `write-file-atomic`, which also queues concurrent writes of one path within a process, so
 * two writers never share a temp file). A reader sees the old content or the new, never a torn one;
 * a caller that acknowledges after this resolves has acknowledged something durable.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import writeFileAtomic from 'write-file-atomic';

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
 * order they were called, so the last call's content is what stays (the mkdir before the write would
 * otherwise let concurrent calls overtake each other).
 */
export function writeFileAtomically(
  path: string,
  data: string | Buffer,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const key = resolve(path);
  const write = async (): Promise<void> => {
    await mkdir(dirname(key), { recursive: true });
    await writeFileAtomic(key, data, {
      fsync: opts.durable ?? true,
      ...(opts.mode === undefined ? {} : { mode: opts.mode }),
    });
  };
  const next = (queues.get(key) ?? Promise.resolve()).then(write, write);
  queues.set(key, next);
  const forget = (): void => {
    if (queues.get(key) === next) queues.delete(key);
  };
  next.then(forget, forget);
  return next;
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
