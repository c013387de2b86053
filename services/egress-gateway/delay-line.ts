/**
 * One direction of a slowed connection (latency, bandwidth): chunks are written no earlier than their
 * time and always in the order they came, from a single timer.
 *
 * One timer per chunk is not enough: Node starts a timer from the event loop's cached time, not from
 * the moment it is set, so a chunk set later in a long tick can expire before one set earlier when
 * their times are closer than the tick was long (a 6-byte PING a few µs of bandwidth after a 64 KiB
 * piece of a payload). Written out of order, the NATS stream is garbage to the server, which drops the
 * connection and the request on it: the bandwidth test's "no reply within 10 s" (issue 17).
 */
export class DelayLine {
  private readonly queue: Array<{ readonly at: number; readonly chunk: Buffer }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly write: (chunk: Buffer) => void) {}

  /** Chunks waiting. */
  get pending(): number {
    return this.queue.length;
  }

  /** Writes `chunk` at `at` (epoch ms), after every chunk pushed before it; at once when nothing waits. */
  push(chunk: Buffer, at: number): void {
    if (this.queue.length === 0 && at <= Date.now()) {
      this.write(chunk);
      return;
    }
    this.queue.push({ at, chunk });
    this.arm();
  }

  /** Drops what waits (the connection is gone). */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private arm(): void {
    const head = this.queue[0];
    if (this.timer !== undefined || !head) return;
    this.timer = setTimeout(() => this.due(), Math.max(0, head.at - Date.now()));
    this.timer.unref();
  }

  private due(): void {
    this.timer = undefined;
    const now = Date.now();
    // A timer may fire a little before the wall clock reaches `at`: then it is set again.
    let n = 0;
    while (n < this.queue.length && (this.queue[n]?.at ?? Infinity) <= now) n++;
    for (const { chunk } of this.queue.splice(0, n)) this.write(chunk);
    this.arm();
  }
}
