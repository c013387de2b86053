/**
 * Wait-for-condition with a deadline, the one way every process, test and bench waits (never a bare
 * sleep standing in for a condition). A probe that throws counts as "not yet"; `abort` (e.g. "the
 * child exited") is consulted before every probe and its error thrown at once. On timeout the error
 * names what was awaited and shows the last value observed (or the probe's last error).
 */
import { setTimeout as delay } from 'node:timers/promises';

export { delay };

export interface WaitOptions<T> {
  /** Real ms before giving up (default 10 s). */
  readonly timeoutMs?: number;
  /** Real ms between probes (default 100). */
  readonly intervalMs?: number;
  /** What is being awaited, for the timeout message. */
  readonly message?: string;
  /** Condition on the probed value; default: the value is truthy. */
  readonly until?: (value: T) => boolean;
  /** An error to stop with at once, instead of waiting out the deadline. */
  readonly abort?: () => Error | undefined;
  /** The error to throw at the deadline (default: a WaitTimeoutError with the last value). */
  readonly onTimeout?: (last: unknown) => Error;
}

export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    readonly last: unknown,
  ) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

/** A short, bounded rendering of an observed value for an error message. */
export function describeValue(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/** Polls `probe` until `until(value)` holds; resolves with that value. */
export async function waitFor<T>(probe: () => T | Promise<T>, opts: WaitOptions<T> = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const until = opts.until ?? ((v: T) => Boolean(v));
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw aborted;
    try {
      const value = await probe();
      last = value;
      if (until(value)) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw (
        opts.onTimeout?.(last) ??
        new WaitTimeoutError(
          `timed out after ${timeoutMs} ms waiting for ${opts.message ?? 'condition'}; last observed: ${describeValue(last)}`,
          last,
        )
      );
    }
    await delay(intervalMs);
  }
}

/**
 * The opposite check: `probe` must satisfy `holds` on every poll for `durationMs` (e.g. a sticky
 * status stays put). Throws with the first value that broke it. Returns the last value.
 */
export async function holdsFor<T>(
  probe: () => T | Promise<T>,
  holds: (value: T) => boolean,
  durationMs: number,
  opts: { intervalMs?: number; message?: string } = {},
): Promise<T> {
  const end = Date.now() + durationMs;
  for (;;) {
    const value = await probe();
    if (!holds(value))
      throw new Error(`${opts.message ?? 'condition'} stopped holding; observed: ${describeValue(value)}`);
    if (Date.now() >= end) return value;
    await delay(opts.intervalMs ?? 100);
  }
}
