/**
 * The scaled-out fleet loses a broker node and a hub replica mid-run (issue 14's acceptance): three
 * NATS nodes, two hub replicas, two shards, the egress gateways on the agents' path. While a stream of
 * PATCHes goes to both replicas, the leader replica and the node leading JetStream are SIGKILLed
 * together:
 * - no cluster leaves Connected (none was cut);
 * - every change a replica acknowledged is there afterwards, read through the survivor and through a
 *   hub started afresh from the replicated KV (no projection lost);
 * - the survivor leads.
 * Time scale 60, heartbeat 30 s, Offline after 3 min (3 s real).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConnectedCluster } from '../../contract/index.js';
import type { ProcessName } from '../../fleet/index.js';
import { ArmClient, metricValue } from '../helpers/arm.js';
import { TestFleet, fastLinks } from '../helpers/fleet.js';
import { delay, holdsFor, waitFor } from '../helpers/wait.js';

const THRESHOLD_MS = 3000;
let fleet: TestFleet;
let replicas: ArmClient[];

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 6,
    brokers: 3,
    hubs: 2,
    shards: 2,
    gateway: true,
    env: fastLinks(),
  });
  replicas = fleet.handle.hubUrls.map((url) => new ArmClient(url, undefined, () => fleet.handle.token()));
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

const monitor = async <T>(url: string): Promise<T> =>
  (await (await fetch(url, { signal: AbortSignal.timeout(2000) })).json()) as T;

/** The broker node leading JetStream's meta group (the worst one to lose: every stream waits for it). */
async function metaLeaderNode(): Promise<number> {
  const jsz = await monitor<{ meta_cluster?: { leader?: string } }>(`${fleet.handle.natsMonitorUrl}/jsz`);
  const m = /^arcfleet-(\d+)$/.exec(jsz.meta_cluster?.leader ?? '');
  if (!m) throw new Error(`no JetStream meta leader: ${JSON.stringify(jsz.meta_cluster)}`);
  return Number(m[1]);
}

/**
 * The survivor's LIST as an ARM client sees it: a 503 (the replica cannot reach its store while the
 * broker elects leaders) is retried after Retry-After, as the Azure SDKs do; any other failure fails.
 */
async function listThroughSurvivor(survivor: number): Promise<ConnectedCluster[]> {
  for (let attempt = 0; ; attempt++) {
    const page = await replicas[survivor]!.listPage(
      replicas[survivor]!.subscriptionPath(fleet.subscriptionId),
    );
    if (page.status === 200) return page.body.value;
    if (page.status !== 503 || attempt >= 30)
      throw new Error(`LIST answered ${page.status}: ${JSON.stringify(page.body)}`);
    await delay(Number(page.headers.get('retry-after') ?? '1') * 1000);
  }
}

async function leaders(): Promise<number[]> {
  return Promise.all(
    replicas.map(async (r) => metricValue(await r.metrics().catch(() => ''), 'arcfleet_hub_leader')),
  );
}

it('keeps every cluster Connected and every acknowledged change when a node and the leader replica die', async () => {
  const names = fleet.clusters.map((c) => c.name);
  const roles = await waitFor(leaders, { until: (l) => l.includes(1), timeoutMs: 10_000 });
  const leader = roles.indexOf(1);
  const survivor = 1 - leader;
  const leaderProcess = `hub-${leader}` as ProcessName;
  const node = await metaLeaderNode();

  // A stream of changes, each cluster's rounds in order, alternating between the replicas.
  const acked = new Map<string, number>();
  let round = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      round++;
      for (const [i, n] of names.entries()) {
        const res = await replicas[(round + i) % 2]!.patch(fleet.ref(n), {
          tags: { round: String(round) },
        }).catch(() => undefined);
        if (res?.status === 200) acked.set(n, round);
      }
    }
  })();
  await waitFor(() => round, { until: (r) => r >= 3, timeoutMs: 10_000 });

  fleet.handle.kill(leaderProcess, 'SIGKILL');
  fleet.handle.kill(`nats-server-${node}` as ProcessName, 'SIGKILL');
  await holdsFor(
    () => listThroughSurvivor(survivor),
    (all) => all.length === names.length && all.every((c) => c.properties.connectivityStatus === 'Connected'),
    2 * THRESHOLD_MS,
    { intervalMs: 100, message: 'every cluster Connected while a node and a replica are down' },
  );
  await waitFor(leaders, { until: (l) => l[survivor] === 1, timeoutMs: 15_000, message: 'survivor leads' });
  const roundsDuring = round;
  await waitFor(() => round, { until: (r) => r >= roundsDuring + 2, timeoutMs: 30_000 });
  writing = false;
  await writer;

  // Every cluster's last acknowledged round (or a later one whose answer was lost) is there.
  // Read as an ARM client does: a 503 (a replica still catching up with its store) is retried.
  const check = async (arm: ArmClient): Promise<void> => {
    for (const n of names) {
      const res = await waitFor(() => arm.get(fleet.ref(n)), {
        until: (r) => r.status !== 503,
        intervalMs: 500,
        timeoutMs: 30_000,
        message: `GET ${n} answered without a 503`,
      });
      expect(res.status, `${n}: ${res.text}`).toBe(200);
      const got = Number(res.body.tags?.['round'] ?? 0);
      expect(got, n).toBeGreaterThanOrEqual(acked.get(n) ?? 1);
    }
  };
  await check(replicas[survivor]!);
  // And in the replicated KV: the dead replica, started again, loads it from there.
  await fleet.handle.restart(leaderProcess);
  await check(replicas[leader]!);
}, 120_000);
