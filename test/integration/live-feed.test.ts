/**
 * The hub's live feed over a real WebSocket (`ws` client) against a real hub, agents and egress
 * gateway: snapshot on connect; deltas in order, each with the next sequence number; a client that
 * stops acknowledging is sent nothing after ARCFLEET_HUB_FEED_MAX_LAG messages and gets a fresh,
 * complete snapshot once it acknowledges; chaos through the hub reaches the gateway and shows in
 * the feed; one cluster's detail; bad client messages ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { ENV } from '../../platform/settings.js';
import type { FeedMessage, Tile } from '../../services/hub/live/live-feed.js';
import { TestFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

const MAX_LAG = 3;
let fleet: TestFleet;

class FeedReader {
  readonly got: FeedMessage[] = [];
  readonly tiles = new Map<string, Tile>();
  acking = true;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as FeedMessage;
      this.got.push(msg);
      if (msg.type === 'snapshot') {
        this.tiles.clear();
        for (const t of msg.clusters) this.tiles.set(t.k, t);
      } else {
        for (const t of msg.upsert) this.tiles.set(t.k, t);
        for (const k of msg.remove) this.tiles.delete(k);
      }
      if (this.acking) ws.send(JSON.stringify({ type: 'ack', seq: msg.seq }));
    });
  }
  static async open(url: string): Promise<FeedReader> {
    const ws = new WebSocket(url);
    const reader = new FeedReader(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return reader;
  }
  status(name: string): string | undefined {
    return [...this.tiles.values()].find((t) => t.n === name)?.s;
  }
  deltas(): Extract<FeedMessage, { type: 'delta' }>[] {
    return this.got.filter((m): m is Extract<FeedMessage, { type: 'delta' }> => m.type === 'delta');
  }
}

// The page's feed, where a browser opens it: the plain loopback port next to the HTTPS API.
const feedUrl = (): string => `${fleet.pageUrl.replace(/^http/, 'ws')}/arcfleet/v1/feed`;
let readers: FeedReader[] = [];

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 4,
    gateway: true,
    env: { [ENV.hubFeedInterval]: '100', [ENV.hubFeedMaxLag]: String(MAX_LAG) },
  });
  await fleet.waitAll('Connected');
}, 60_000);

afterAll(async () => {
  for (const r of readers) r.ws.terminate();
  await fleet?.stop();
});

describe('live feed', () => {
  it('snapshot, ordered deltas, a slow consumer paused and resynchronised', async () => {
    const fast = await FeedReader.open(feedUrl());
    const slow = await FeedReader.open(feedUrl());
    readers = [fast, slow];
    slow.acking = false;
    await waitFor(() => fast.got.length > 0 && slow.got.length > 0, { message: 'both snapshots' });
    const snap = fast.got[0];
    expect(snap).toMatchObject({
      type: 'snapshot',
      chaos: true,
      counts: { connectivityStatus: { Connected: 4 } },
    });
    expect(fast.tiles.size).toBe(4);

    // Six new clusters, one at a time: each shows up as a delta.
    const names: string[] = [];
    await fleet.arm.createGroup(fleet.subscriptionId, 'feed-rg');
    for (let i = 0; i < 6; i++) {
      const ref = { subscriptionId: fleet.subscriptionId, resourceGroup: 'feed-rg', name: `feed-${i}` };
      names.push(ref.name);
      const res = await fleet.arm.put(ref, {
        location: 'westeurope',
        identity: { type: 'SystemAssigned' },
        properties: { agentPublicKeyCertificate: generateAgentKeyPair().publicKey, distribution: 'k3s' },
      });
      expect(res.status).toBe(201);
      await waitFor(() => fast.status(ref.name), { message: `${ref.name} in the feed` });
    }
    // Their PUTs' operations complete on their own (Accepted → Succeeded): let those deltas pass too.
    await waitFor(
      () => [...fast.tiles.values()].filter((t) => names.includes(t.n)).every((t) => t.p === 'Succeeded'),
      { message: 'the new clusters Succeeded in the feed' },
    );
    const seqs = fast.got.map((m) => m.seq);
    expect(seqs.slice(1)).toEqual(seqs.slice(1).map((_, i) => (seqs[0] ?? 0) + 1 + i));
    expect(fast.deltas().length).toBeGreaterThanOrEqual(6);
    expect(fast.tiles.size).toBe(10);

    // The slow one got its snapshot and MAX_LAG deltas, then nothing.
    expect(slow.got.map((m) => m.type)).toEqual(['snapshot', ...Array<string>(MAX_LAG).fill('delta')]);
    const lastSent = slow.got[slow.got.length - 1]?.seq ?? -1;
    slow.ws.send(JSON.stringify({ type: 'ack', seq: lastSent }));
    await waitFor(() => slow.got.length > MAX_LAG + 1, { message: 'the resync snapshot' });
    const resync = slow.got[MAX_LAG + 1];
    expect(resync?.type).toBe('snapshot');
    expect(resync?.seq).toBeGreaterThanOrEqual(fast.got[fast.got.length - 1]?.seq ?? Infinity);
    expect(new Set(slow.tiles.keys())).toEqual(new Set(fast.tiles.keys()));
  });

  it('cuts and restores a cluster through the hub; the feed shows it; bad input is ignored', async () => {
    const reader = await FeedReader.open(feedUrl());
    readers.push(reader);
    reader.ws.send('this is not json');
    reader.ws.send(JSON.stringify({ type: 'explode' }));
    const name = fleet.clusters[0]?.name ?? '';
    const cut = await fetch(`${fleet.hubUrl}/arcfleet/v1/chaos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'cut', mode: 'drop', targets: { clusters: [name] } }),
    });
    expect(cut.status).toBe(200);
    expect(((await cut.json()) as { clusters: string[] }).clusters).toEqual([name]);
    await waitFor(() => reader.status(name), {
      until: (s) => s === 'Offline',
      timeoutMs: 20_000,
      message: `${name} Offline in the feed`,
    });
    const offline = reader
      .deltas()
      .flatMap((d) => d.events)
      .find((e) => e.name === name && e.to === 'Offline');
    expect(offline).toMatchObject({ from: 'Connected', to: 'Offline' });

    const tile = [...reader.tiles.values()].find((t) => t.n === name);
    const detail = await fetch(`${fleet.hubUrl}/arcfleet/v1/clusters/${encodeURIComponent(tile?.k ?? '')}`);
    const body = (await detail.json()) as {
      resource: { name: string; properties: { connectivityStatus: string } };
      transitions: { to: string }[];
    };
    expect(body.resource).toMatchObject({ name, properties: { connectivityStatus: 'Offline' } });
    expect(body.transitions.map((t) => t.to)).toContain('Offline');
    const missing = await fetch(`${fleet.hubUrl}/arcfleet/v1/clusters/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'ResourceNotFound' } });

    await fetch(`${fleet.hubUrl}/arcfleet/v1/chaos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'restore', targets: { clusters: [name] } }),
    });
    await waitFor(() => reader.status(name), {
      until: (s) => s === 'Connected',
      timeoutMs: 20_000,
      message: `${name} Connected again`,
    });
    expect(reader.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('lets in the page’s own origin and clients with none, refuses other origins, counts every invalid frame and logs few', async () => {
    const page = new URL(fleet.pageUrl);
    const upgrade = (headers: Record<string, string>, path = '/arcfleet/v1/feed') =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${fleet.pageUrl.replace(/^http/, 'ws')}${path}`, { headers });
        ws.once('open', () => {
          ws.terminate();
          resolve(101);
        });
        ws.once('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
        });
        ws.once('error', reject);
      });
    expect(await upgrade({ origin: `http://${page.host}` })).toBe(101);
    expect(await upgrade({})).toBe(101);
    expect(await upgrade({ origin: 'https://evil.example' })).toBe(403);
    expect(await upgrade({ origin: `http://${page.hostname}:1` })).toBe(403);
    expect(await upgrade({ origin: 'null' })).toBe(403);
    // The page's port takes no other upgrade (the API and cluster connect are on HTTPS).
    expect(await upgrade({}, '/somewhere-else')).toBe(403);
    const refused = (reason: string) => fleet.metric('arcfleet_hub_feed_rejected_total', { reason });
    expect(await refused('origin')).toBeGreaterThanOrEqual(3);

    const before = await refused('invalid_message');
    const reader = await FeedReader.open(feedUrl());
    readers.push(reader);
    for (let i = 0; i < 2000; i++) reader.ws.send(i % 2 ? `not json ${i}` : Buffer.from([i & 0xff]));
    await waitFor(() => refused('invalid_message'), {
      until: (v) => v >= before + 2000,
      message: 'every invalid frame counted',
    });
    expect(reader.ws.readyState).toBe(WebSocket.OPEN);
    const lines = fleet.hub.events('hub.feed_refused').filter((l) => l['reason'] === 'invalid_message');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThan(5);
  });

  it('serves the page', async () => {
    const res = await fetch(`${fleet.hubUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('/page/app.js');
    expect((await fetch(`${fleet.hubUrl}/page/app.js`)).status).toBe(200);
  });
});
