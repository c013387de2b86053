/**
 * The simulated clock every service shares. Simulated time runs `timeScale` times faster than real
 * time from a common epoch (the real instant at which simulated time equals real time), so that
 * separate processes agree on "now" without talking to each other.
 *
 * All Arc timings in the code are simulated milliseconds; only this module converts to real ones.
 */
export interface Clock {
  /** Simulated epoch milliseconds. */
  now(): number;
  readonly timeScale: number;
  /** Runs `fn` after `simMs` simulated milliseconds. The handle is unref'd. */
  setTimeout(fn: () => void, simMs: number): TimerHandle;
  setInterval(fn: () => void, simMs: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

export class SimClock implements Clock {
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private nextId = 1;

  constructor(
    readonly timeScale = 1,
    /** Real epoch ms at which simulated time equals real time. */
    readonly epochMs = Date.now(),
  ) {
    if (!(timeScale > 0)) throw new RangeError('timeScale must be > 0');
  }

  now(): number {
    return this.at(Date.now());
  }

  toRealMs(simMs: number): number {
    return simMs / this.timeScale;
  }

  /** Simulated epoch ms at the real instant `realMs` (e.g. a file's real-time stamp). */
  at(realMs: number): number {
    return Math.round(this.epochMs + (realMs - this.epochMs) * this.timeScale);
  }

  setTimeout(fn: () => void, simMs: number): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(
      () => {
        this.timers.delete(id);
        fn();
      },
      Math.max(0, this.toRealMs(simMs)),
    );
    t.unref();
    this.timers.set(id, t);
    return { id };
  }

  setInterval(fn: () => void, simMs: number): TimerHandle {
    const id = this.nextId++;
    const t = setInterval(fn, Math.max(1, this.toRealMs(simMs)));
    t.unref();
    this.timers.set(id, t);
    return { id };
  }

  clear(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }
}

/** A clock that only moves when told to; for unit tests of time-driven logic. */
export class FakeClock implements Clock {
  readonly timeScale = 1;
  private current: number;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void; every?: number }>();

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, simMs: number): TimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { at: this.current + Math.max(0, simMs), fn });
    return { id };
  }

  setInterval(fn: () => void, simMs: number): TimerHandle {
    const id = this.nextId++;
    const every = Math.max(1, simMs);
    this.pending.set(id, { at: this.current + every, fn, every });
    return { id };
  }

  clear(handle: TimerHandle): void {
    this.pending.delete(handle.id);
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let nextId: number | undefined;
      let nextAt = Infinity;
      for (const [id, t] of this.pending) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId === undefined) break;
      const timer = this.pending.get(nextId);
      if (!timer) break;
      this.current = timer.at;
      if (timer.every === undefined) this.pending.delete(nextId);
      else timer.at += timer.every;
      timer.fn();
    }
    this.current = target;
  }
}
