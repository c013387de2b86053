import { describe, expect, it } from 'vitest';
import { EventLog } from '../../services/hub/connected-clusters/event-log.js';

const ev = (name: string) => ({
  type: 'connectivityStatusChanged' as const,
  id: `/x/${name}`,
  name,
  from: 'Connected' as const,
  to: 'Offline' as const,
  reason: 'heartbeat-timeout',
  time: '2026-01-01T00:00:00.000Z',
});

describe('event log', () => {
  it('returns events after a sequence number, in order, up to a limit', () => {
    const log = new EventLog(100);
    for (const n of ['a', 'b', 'c', 'd']) log.append(ev(n));
    expect(log.since(1).events.map((e) => e.name)).toEqual(['b', 'c', 'd']);
    expect(log.since(0, 2).events.map((e) => e.seq)).toEqual([1, 2]);
    expect(log.since(4)).toEqual({ events: [], lastSeq: 4, truncated: false });
  });
  it('tells a reader that fell behind the buffer', () => {
    const log = new EventLog(2);
    for (const n of ['a', 'b', 'c', 'd']) log.append(ev(n));
    expect(log.since(0).truncated).toBe(true);
    expect(log.since(2).truncated).toBe(false);
    expect(log.since(0).events.map((e) => e.name)).toEqual(['c', 'd']);
  });
});
