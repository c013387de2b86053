/**
 * The metadata outbox, pure: holds at most ONE pending report, the latest generation. A newer report
 * replaces an unsent or unacknowledged older one (latest state wins); a failed send leaves the report
 * pending so it is delivered later (e.g. after a reconnect).
 */
export interface OutboxEntry<T> {
  readonly generation: number;
  readonly item: T;
}

export class LatestOutbox<T> {
  private entry: OutboxEntry<T> | undefined;
  private acked: number | undefined;

  /** The report to send next, if any. */
  get pending(): OutboxEntry<T> | undefined {
    return this.entry;
  }

  /** Highest generation the hub acknowledged. */
  get ackedGeneration(): number | undefined {
    return this.acked;
  }

  /**
   * Offers a report. Kept when it is at least as new as the pending one and newer than the last
   * acknowledged one; returns whether it was kept.
   */
  put(generation: number, item: T): boolean {
    if (this.acked !== undefined && generation <= this.acked) return false;
    if (this.entry && generation < this.entry.generation) return false;
    this.entry = { generation, item };
    return true;
  }

  /** The hub acknowledged `generation`: the pending report goes if it is not newer. */
  ack(generation: number): void {
    this.acked = this.acked === undefined ? generation : Math.max(this.acked, generation);
    if (this.entry && this.entry.generation <= generation) this.entry = undefined;
  }

  /** Forgets acknowledgements (a new identity: the hub may know nothing), keeps the pending report. */
  resetAcks(): void {
    this.acked = undefined;
  }
}
