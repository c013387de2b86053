/**
 * A broker node dies (issue 14): the fleet runs on a NATS cluster of three nodes, the egress gateway on
 * the agents' path, JetStream KV replicated on all three. The node the hub is connected to is
 * SIGKILLed:
 * - every cluster stays Connected throughout (the agents' connections through the dead node reconnect
 *   through the gateway to the live ones well within the Offline threshold; the hub fails over);
 * - changes acknowledged before and while the node is down are in the replicated KV: the hub, restarted
 *   afterwards, loads every one of them;
 * - the node comes back and rejoins (three routes each again).
 * Time scale 60, heartbeat 30 s, Offline after 3 min (3 s real); agents back off at most 1 s.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ProcessName } from '../../fleet/index.js';
import { TestFleet, fastLinks } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const THRESHOLD_MS = 3000;
let fleet: TestFleet;

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 5,
    brokers: 3,
    gateway: true,
    env: fastLinks(),
  });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
});

afterAll(async () => {
  await fleet?.stop();
});

interface Varz {
  server_name: string;
  routes: number;
}

const monitor = async <T>(url: string): Promise<T> =>
  (await (await fetch(url, { signal: AbortSignal.timeout(2000) })).json()) as T;

/** The index of the node holding the hub's connection. */
async function hubNode(): Promise<number> {
  const urls = fleet.handle.natsMonitorUrls;
  for (const [i, url] of urls.entries()) {
    const connz = await monitor<{ connections: { name?: string }[] }>(`${url}/connz?limit=10000`);
    if (connz.connections.some((c) => c.name === 'hub')) return i;
  }
  throw new Error('no broker node holds the hub connection');
}

async function allConnected(): Promise<string[]> {
  const list = await fleet.arm.listSubscription(fleet.subscriptionId);
  return list.value.filter((c) => c.properties.connectivityStatus !== 'Connected').map((c) => c.name);
}

async function tag(name: string, value: string): Promise<void> {
  const res = await fleet.arm.patch(fleet.ref(name), { tags: { round: value } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

it('runs three routed nodes, every agent and the hub spread over them', async () => {
  const varz = await Promise.all(fleet.handle.natsMonitorUrls.map((u) => monitor<Varz>(`${u}/varz`)));
  expect(varz.map((v) => v.server_name).sort()).toEqual(['arcfleet-0', 'arcfleet-1', 'arcfleet-2']);
  for (const v of varz) expect(v.routes).toBe(2);
});

it('loses no cluster and no acknowledged change when the hub’s node is killed', async () => {
  const names = fleet.clusters.map((c) => c.name);
  for (const n of names) await tag(n, 'before');
  const victim = await hubNode();
  const processName = `nats-server-${victim}` as ProcessName;
  fleet.handle.kill(processName, 'SIGKILL');
  await waitFor(() => !fleet.service(processName).running, { timeoutMs: 5000, message: 'node gone' });

  // Changes while the node is down: the KV has two of its three replicas (a quorum).
  for (const n of names) await tag(n, 'during');
  await holdsFor(allConnected, (notConnected) => notConnected.length === 0, 2 * THRESHOLD_MS, {
    intervalMs: 100,
    message: 'every cluster Connected while a broker node is down',
  });

  // The changes reach the replicated KV once JetStream has elected new leaders (the hub writes behind
  // its answers and retries: acknowledging only what is durable is issue 17's); then a restarted hub
  // loads them from there.
  for (const n of names)
    await waitFor(() => fleet.persisted(n), {
      until: (json) => json?.includes('"round":"during"') ?? false,
      timeoutMs: 30_000,
      message: `${n}'s change in the replicated KV`,
    });
  await fleet.hub.restart();
  // The restarted hub waits for JetStream up to its own start-up budget (60 s, hub persistence/kv.ts):
  // a KV get answers while the meta group, which bucket binding needs, can take over 30 s to settle
  // after its leader's node died (seen once in four CI runs; nats-server 2.9).
  await fleet.waitHubReady(60_000);
  for (const n of names) expect((await fleet.get(n)).tags?.['round'], n).toBe('during');

  await fleet.handle.restart(processName);
  await waitFor(
    async () => (await monitor<Varz>(`${fleet.handle.natsMonitorUrls[victim] ?? ''}/varz`)).routes,
    { timeoutMs: 15_000, until: (r) => r === 2, message: 'the restarted node routed to both others' },
  );
  await fleet.waitAll('Connected');
}, 180_000);
