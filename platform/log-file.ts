/**
 * A service's log file, capped and rotated: `<file>` grows to `maxBytes`, then becomes `<file>.1` (the
 * older ones move up to `<file>.<files>`, the oldest goes), so a fleet left running never fills its
 * disk with logs. Writes are synchronous appends (as pino's own stdout destination) and never throw: a
 * line that cannot be written (a full disk, an I/O error) is dropped and counted, and the file is
 * opened again on the next line, so a service keeps running and answering while its disk is full.
 */
import { closeSync, fstatSync, openSync, renameSync, writeSync } from 'node:fs';

export interface LogFileOptions {
  readonly path: string;
  /** Size at which the file is rotated. */
  readonly maxBytes: number;
  /** Rotated files kept besides the current one (0: the file is truncated instead). */
  readonly files: number;
}

/** What the log writers of this process have done, for the service's metrics. */
export interface LogWriteStats {
  droppedLines: number;
  rotations: number;
  lastError: string | undefined;
}

export const logWriteStats: LogWriteStats = { droppedLines: 0, rotations: 0, lastError: undefined };

/** Counts a line that could not be written; never throws. */
export function noteDropped(err: unknown): void {
  logWriteStats.droppedLines++;
  logWriteStats.lastError = (err as NodeJS.ErrnoException).code ?? String(err);
}

export class RotatingLogFile {
  private fd: number | undefined;
  private size = 0;

  constructor(private readonly opts: LogFileOptions) {}

  /** pino's destination interface: one or more whole lines. */
  write(chunk: string): boolean {
    try {
      const bytes = Buffer.byteLength(chunk);
      if (this.fd !== undefined && this.size > 0 && this.size + bytes > this.opts.maxBytes) this.rotate();
      writeAll(this.open(), chunk);
      this.size += bytes;
    } catch (err) {
      noteDropped(err);
      // A partly written line leaves the size unknown: take it again from the file on the next write.
      this.close();
    }
    return true;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    const fd = openSync(this.opts.path, 'a', 0o640);
    this.fd = fd;
    this.size = fstatSync(fd).size;
    return fd;
  }

  private rotate(): void {
    this.close();
    const { path, files } = this.opts;
    if (files === 0) {
      closeSync(openSync(path, 'w'));
    } else {
      for (let i = files - 1; i >= 1; i--) renameIfExists(`${path}.${i}`, `${path}.${i + 1}`);
      renameIfExists(path, `${path}.1`);
    }
    logWriteStats.rotations++;
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4));
/** How long a write waits, in total, for a full pipe before its line is dropped. */
const MAX_BUSY_MS = 100;

/** Writes all of `chunk`: a pipe may take part of it, or none for a moment (EAGAIN), but not forever. */
function writeAll(fd: number, chunk: string): void {
  let buf = Buffer.from(chunk);
  let waited = 0;
  while (buf.length > 0) {
    try {
      buf = buf.subarray(writeSync(fd, buf));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || waited >= MAX_BUSY_MS) throw err;
      Atomics.wait(pause, 0, 0, 1);
      waited++;
    }
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Standard output as a log destination that never throws (a full disk behind a redirect, a closed pipe). */
export const safeStdout = {
  write(chunk: string): boolean {
    try {
      writeAll(1, chunk);
    } catch (err) {
      noteDropped(err);
    }
    return true;
  },
};
