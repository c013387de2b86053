import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs, one line per event, to stdout. `service` names the emitting process. */
export function createLogger(service: string, level: string = 'info'): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
