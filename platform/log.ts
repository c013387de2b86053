import { pino, type Logger } from 'pino';
import { RotatingLogFile, safeStdout, type LogFileOptions } from './log-file.js';

export type { Logger };

/**
 * Structured JSON logs, one line per event. `service` names the emitting process. To stdout, or with
 * `file` to a capped, rotated file; either way a line that cannot be written is dropped and counted
 * (log-file.ts), never an exception that takes the service down.
 */
export function createLogger(service: string, level: string = 'info', file?: LogFileOptions): Logger {
  return pino(
    {
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    file ? new RotatingLogFile(file) : safeStdout,
  );
}
