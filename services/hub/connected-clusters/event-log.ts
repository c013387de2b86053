/**
 * A bounded, sequenced log of connectivity transitions: the events feed of the API. Readers ask
 * for "everything after seq N"; a reader that fell further behind than the buffer learns it
 * (`truncated`) and should re-read the resources.
 */
import type { ConnectivityStatus } from '../../../contract/index.js';

export interface FleetEvent {
  seq: number;
  type: 'connectivityStatusChanged';
  id: string;
  name: string;
  from: ConnectivityStatus;
  to: ConnectivityStatus;
  reason: string;
  time: string;
}

export class EventLog {
  private readonly buffer: FleetEvent[] = [];
  private nextSeq = 1;

  constructor(private readonly capacity = 10_000) {}

  append(event: Omit<FleetEvent, 'seq'>): FleetEvent {
    const full = { ...event, seq: this.nextSeq++ };
    this.buffer.push(full);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    return full;
  }

  /** Events with seq > since, oldest first. */
  since(since: number, limit = 1000): { events: FleetEvent[]; lastSeq: number; truncated: boolean } {
    const first = this.buffer[0];
    const truncated = first !== undefined && since < first.seq - 1;
    const events: FleetEvent[] = [];
    for (const e of this.buffer) {
      if (e.seq <= since) continue;
      events.push(e);
      if (events.length >= limit) break;
    }
    return { events, lastSeq: this.nextSeq - 1, truncated };
  }
}
