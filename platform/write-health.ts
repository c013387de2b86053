/**
 * Whether this process can write what it must keep: a service whose writes fail (a full disk, a
 * read-only or lost volume, a broker refusing its store's writes) is alive but not doing its job, and
 * its `/healthz` says so, naming what it could not write, so a supervisor can restart it (the launcher
 * does; a Kubernetes liveness probe would). A write that succeeds again clears it.
 */

export interface WriteFailure {
  /** The file (or store) that could not be written. */
  readonly target: string;
  /** The error code (ENOSPC, EROFS, ...) or message. */
  readonly error: string;
  /** Real ms of the first failure since the last success. */
  readonly sinceMs: number;
}

const failing = new Map<string, WriteFailure>();

/** Errors of the storage itself; others (a directory removed under a racing write) say nothing of it. */
const STORAGE_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);

/** Notes a failed write of `target` (kept until a write succeeds again). */
export function noteWriteFailed(target: string, err: unknown, nowMs = Date.now()): void {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && !STORAGE_ERRORS.has(code)) return;
  const error = code ?? (err instanceof Error ? err.message : String(err));
  const known = failing.get(target);
  failing.set(target, { target, error, sinceMs: known?.sinceMs ?? nowMs });
  // Bounded: a process writes few distinct targets at once; the oldest failure is the one that matters.
  if (failing.size > 1000) failing.delete(failing.keys().next().value as string);
}

/**
 * Notes a successful write of `target`. Files are written on one volume, so one success means the
 * storage is back: every failure is forgotten, also of files no one writes again.
 */
export function noteWriteSucceeded(target: string): void {
  if (failing.size === 0) return;
  failing.delete(target);
  if (isFile(target)) for (const k of failing.keys()) if (isFile(k)) failing.delete(k);
}

/** A file's absolute path, or another store's name (a KV bucket). */
const isFile = (target: string): boolean => target.startsWith('/');

/**
 * The oldest write that has been failing for at least `graceMs` (one failed write may be a moment's
 * trouble; a minute of them is a service that cannot work), or undefined when the process can write.
 */
export function writeFailure(graceMs: number, nowMs = Date.now()): WriteFailure | undefined {
  let oldest: WriteFailure | undefined;
  for (const f of failing.values()) if (!oldest || f.sinceMs < oldest.sinceMs) oldest = f;
  return oldest && nowMs - oldest.sinceMs >= graceMs ? oldest : undefined;
}

/** The /healthz body and status for this process's writes. */
export function writeHealth(graceMs: number): { status: 200 | 503; body: unknown } {
  const f = writeFailure(graceMs);
  if (!f) return { status: 200, body: { status: 'ok' } };
  const seconds = Math.round((Date.now() - f.sinceMs) / 1000);
  return {
    status: 503,
    body: {
      status: 'unhealthy',
      error: {
        code: 'WriteFailed',
        message: `Cannot write ${f.target}: ${f.error} (failing for ${seconds} s).`,
      },
    },
  };
}

/** How long writes must fail before /healthz says so (real ms). */
export const WRITE_FAILURE_GRACE_MS = 10_000;
