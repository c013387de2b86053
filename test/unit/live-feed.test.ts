// The live feed's protocol logic with fake clients: snapshot on connect, one delta per change in
// order, nothing when nothing changed, a lagging client paused and resynchronised by a snapshot once
// it catches up, resync on request, invalid client messages refused. No sockets.
import { describe, expect, it } from 'vitest';
import { EventLog } from '../../services/hub/connected-clusters/event-log.js';
import { LiveFeed, type FeedClient, type FeedMessage, type Tile } from '../../services/hub/live/live-feed.js';

class FakeClient implements FeedClient {
  readonly got: FeedMessage[] = [];
  buffered = 0;
  send(text: string): void {
    this.got.push(JSON.parse(text) as FeedMessage);
  }
  bufferedAmount(): number {
    return this.buffered;
  }
  last(): FeedMessage | undefined {
    return this.got[this.got.length - 1];
  }
}

function setup(maxLag = 3) {
  const tiles = new Map<string, Tile>();
  const put = (n: string, s: string): void => {
    tiles.set(n, { k: `sub.rg.${n}`, n, s, p: 'Succeeded', l: 'eastus', d: 'aks' });
  };
  const events = new EventLog();
  const feed = new LiveFeed({
    tiles: () => tiles.values(),
    eventsSince: (seq) => events.since(seq),
    chaos: true,
    maxLag,
    maxBufferedBytes: 1000,
  });
  return { tiles, put, events, feed };
}

const transition = (name: string, from: 'Connected' | 'Offline', to: 'Connected' | 'Offline') => ({
  type: 'connectivityStatusChanged' as const,
  id: `/x/${name}`,
  name,
  from,
  to,
  reason: 'test',
  time: '2026-01-01T00:00:00.000Z',
});

describe('LiveFeed', () => {
  it('sends a snapshot on connect, then one delta per changing tick, in order', () => {
    const { put, tiles, events, feed } = setup();
    put('a', 'Connected');
    put('b', 'Connecting');
    feed.tick();
    const c = new FakeClient();
    feed.connect(c);
    expect(c.got).toEqual([
      {
        type: 'snapshot',
        seq: 1,
        clusters: [...tiles.values()],
        counts: {
          connectivityStatus: { Connected: 1, Connecting: 1 },
          provisioningState: { Succeeded: 2 },
          agentVersion: {},
          outOfSupport: 0,
        },
        events: [],
        chaos: true,
      },
    ]);
    feed.tick();
    expect(c.got).toHaveLength(1); // nothing changed: nothing sent

    put('b', 'Connected');
    events.append(transition('b', 'Offline', 'Connected'));
    feed.tick();
    tiles.delete('a');
    feed.tick();
    expect(c.got.slice(1)).toMatchObject([
      { type: 'delta', seq: 2, upsert: [{ n: 'b', s: 'Connected' }], remove: [], events: [{ name: 'b' }] },
      {
        type: 'delta',
        seq: 3,
        upsert: [],
        remove: ['sub.rg.a'],
        counts: { connectivityStatus: { Connected: 1 } },
      },
    ]);
  });

  it('counts clusters by agent version and out of support; a version change is a delta', () => {
    const { tiles, feed } = setup();
    const tile = (n: string, v: string, u?: 1): Tile => ({
      k: `sub.rg.${n}`,
      n,
      s: 'Connected',
      p: 'Succeeded',
      l: 'eastus',
      d: 'aks',
      v,
      ...(u ? { u } : {}),
    });
    tiles.set('a', tile('a', '1.21.10'));
    tiles.set('b', tile('b', '1.18.3', 1));
    const c = new FakeClient();
    feed.connect(c);
    expect(c.got[0]).toMatchObject({
      counts: { agentVersion: { '1.21.10': 1, '1.18.3': 1 }, outOfSupport: 1 },
    });
    tiles.set('b', tile('b', '1.22.0'));
    feed.tick();
    expect(c.got[1]).toMatchObject({
      type: 'delta',
      upsert: [{ n: 'b', v: '1.22.0' }],
      counts: { agentVersion: { '1.21.10': 1, '1.22.0': 1 }, outOfSupport: 0 },
    });
  });

  it('stops sending to a client that lags, and sends a fresh snapshot once it acks what it got', () => {
    const { put, feed } = setup(2);
    put('a', 'Connected');
    const c = new FakeClient();
    feed.connect(c);
    for (const s of ['Offline', 'Connected', 'Offline', 'Connected', 'Offline']) {
      put('a', s);
      feed.tick();
    }
    // Snapshot (seq 1: connecting caught up with 'a') then two unacknowledged deltas; the rest were not sent.
    expect(c.got.map((m) => [m.type, m.seq])).toEqual([
      ['snapshot', 1],
      ['delta', 2],
      ['delta', 3],
    ]);
    expect(feed.stats()).toMatchObject({ clients: 1, behind: 1, seq: 6 });
    expect(feed.receive(c, JSON.stringify({ type: 'ack', seq: 2 }))).toBe('ok');
    expect(c.got).toHaveLength(3); // not caught up yet
    feed.receive(c, JSON.stringify({ type: 'ack', seq: 3 }));
    expect(c.last()).toMatchObject({ type: 'snapshot', seq: 6, clusters: [{ n: 'a', s: 'Offline' }] });
    expect(feed.stats().behind).toBe(0);
    put('a', 'Connected');
    feed.tick();
    expect(c.last()).toMatchObject({ type: 'delta', seq: 7 });
  });

  it('treats a full socket buffer as lagging too', () => {
    const { put, feed } = setup(100);
    put('a', 'Connected');
    const c = new FakeClient();
    feed.connect(c);
    c.buffered = 5000;
    put('a', 'Offline');
    feed.tick();
    expect(c.got).toHaveLength(1);
    c.buffered = 0;
    feed.receive(c, JSON.stringify({ type: 'ack', seq: 1 }));
    expect(c.last()).toMatchObject({ type: 'snapshot', seq: 2 });
  });

  it('gives a new client a snapshot of now, not of the last interval', () => {
    const { put, feed } = setup();
    put('a', 'Connected');
    feed.tick();
    const old = new FakeClient();
    feed.connect(old);
    put('a', 'Offline'); // no interval has passed since
    const c = new FakeClient();
    feed.connect(c);
    expect(c.last()).toMatchObject({ type: 'snapshot', clusters: [{ n: 'a', s: 'Offline' }] });
    // The clients already there got the change as their usual delta.
    expect(old.last()).toMatchObject({ type: 'delta', upsert: [{ n: 'a', s: 'Offline' }] });
  });

  it('does no work while nobody watches, and the next client still gets now and what happened', () => {
    const { tiles, put, events, feed } = setup();
    put('a', 'Connected');
    let reads = 0;
    const counted = new LiveFeed({
      tiles: () => {
        reads++;
        return tiles.values();
      },
      eventsSince: (seq) => events.since(seq),
      chaos: true,
      maxLag: 3,
      maxBufferedBytes: 1000,
    });
    const before = reads;
    for (let i = 0; i < 10; i++) counted.tick();
    expect(reads).toBe(before);
    put('a', 'Offline');
    events.append(transition('a', 'Connected', 'Offline'));
    const c = new FakeClient();
    counted.connect(c);
    expect(c.last()).toMatchObject({
      type: 'snapshot',
      clusters: [{ n: 'a', s: 'Offline' }],
      events: [{ name: 'a', to: 'Offline' }],
    });
    counted.tick();
    expect(reads).toBe(before + 2);
    expect(feed.stats().clients).toBe(0);
  });

  it('answers a resync request with a snapshot and refuses anything else', () => {
    const { put, feed } = setup();
    put('a', 'Connected');
    const c = new FakeClient();
    feed.connect(c);
    expect(feed.receive(c, '{"type":"resync"}')).toBe('ok');
    expect(c.got.map((m) => m.type)).toEqual(['snapshot', 'snapshot']);
    expect(feed.receive(c, 'not json')).toBe('invalid');
    expect(feed.receive(c, '{"type":"ack","seq":"x"}')).toBe('invalid');
    expect(feed.receive(c, '{"type":"delete everything"}')).toBe('invalid');
    expect(feed.receive(new FakeClient(), '{"type":"resync"}')).toBe('invalid');
    feed.disconnect(c);
    expect(feed.stats().clients).toBe(0);
  });
});
