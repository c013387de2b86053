/**
 * A bounded, sequenced log of connectivity transitions: the events feed of the API. Readers ask
 * for "everything after seq N"; a reader that fell further behind than the buffer learns it
 * (`truncated`) and should re-read the resources.
 */
import { resourceId, type ConnectivityStatus } from '../../../contract/index.js';
import type { Transition } from './connectivity.js';
import type { ClusterRecord } from './projection.js';

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

/** The event of a cluster's connectivity transition, as the log and the live page show it. */
export function transitionEvent(record: ClusterRecord, t: Transition): Omit<FleetEvent, 'seq'> {
  return {
    type: 'connectivityStatusChanged',
    id: resourceId(record.ref),
    name: record.ref.name,
    from: t.from,
    to: t.to,
    reason: t.reason,
    time: new Date(t.atMs).toISOString(),
  };
}
