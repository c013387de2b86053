/**
 * A sharded fleet (issue 14): three shards, each with its own egress gateway and one process per agent
 * kind, on a NATS cluster of three nodes. It is still one fleet to its users:
 * - every cluster is Connected, with healthy agents (each shard's metrics-agent judges its own shard's
 *   agent processes by their per-shard beats);
 * - each agent process hosts exactly the clusters `shardOf` gives its shard, and each gateway carries
 *   exactly its shard's connections;
 * - a chaos cut sent to the fleet (every gateway) makes that one cluster Offline, wherever its shard,
 *   and a restore brings it back.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { shardOf, type ConnectedCluster } from '../../contract/index.js';
import type { ProcessName } from '../../fleet/index.js';
import { AGENT_SERVICES, TestFleet, fastLinks } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const SHARDS = 3;
let fleet: TestFleet;

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 9,
    shards: SHARDS,
    brokers: 3,
    gateway: true,
    env: fastLinks(),
  });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

const names = (): string[] => fleet.clusters.map((c) => c.name);
const shardClusters = (shard: number): string[] => names().filter((n) => shardOf(n, SHARDS) === shard);
const healthy = (c: ConnectedCluster): boolean =>
  (c.properties.arcAgentProfile as { agentState?: string } | undefined)?.agentState === 'Succeeded';

it('runs one gateway and one process per agent kind per shard, each with its own clusters', async () => {
  // The generated names spread over every shard (otherwise the test proves little).
  for (let s = 0; s < SHARDS; s++) expect(shardClusters(s).length, `shard ${s}`).toBeGreaterThan(0);
  for (let s = 0; s < SHARDS; s++)
    for (const agent of AGENT_SERVICES) {
      const proc = fleet.service(`${agent}-${s}` as ProcessName);
      const started = () =>
        new Set(proc.events('host.instance_started').map((l) => String(l['cluster'] ?? '')));
      await waitFor(() => started().size, { until: (n) => n >= shardClusters(s).length, timeoutMs: 20_000 });
      expect([...started()].sort(), `${agent}-${s}`).toEqual(shardClusters(s).sort());
    }
  // Each shard's gateway carries its own clusters' connections, and no other's.
  for (const name of names()) {
    const mine = shardOf(name, SHARDS);
    for (const [s, base] of fleet.handle.egressApiUrls.entries()) {
      const view = (await (await fetch(`${base}/v1/clusters/${name}`)).json()) as { connections: number };
      if (s === mine) expect(view.connections, `${name} on its gateway ${s}`).toBeGreaterThan(0);
      else expect(view.connections, `${name} on gateway ${s}`).toBe(0);
    }
  }
  // Each shard's metrics-agent finds its shard's agent processes alive.
  await waitFor(async () => (await fleet.arm.listSubscription(fleet.subscriptionId)).value, {
    until: (all) => all.length === names().length && all.every(healthy),
    timeoutMs: 20_000,
    message: 'every cluster Connected with healthy agents',
  });
}, 60_000);

it('cuts one cluster of any shard through every gateway, and restores it', async () => {
  const victim = shardClusters(SHARDS - 1)[0] as string;
  const cut = await fleet.gatewayApi('POST', '/v1/chaos', {
    action: 'cut',
    mode: 'reject',
    targets: { clusters: [victim] },
  });
  expect(cut.status).toBe(200);
  await fleet.waitStatus(victim, 'Offline', 20_000);
  const others = names().filter((n) => n !== victim);
  await holdsFor(
    async () => (await fleet.arm.listSubscription(fleet.subscriptionId)).value,
    (all) =>
      all
        .filter((c) => others.includes(c.name))
        .every((c) => c.properties.connectivityStatus === 'Connected'),
    1000,
    { message: 'every other cluster Connected' },
  );
  const restore = await fleet.gatewayApi('POST', '/v1/chaos', { action: 'restore', targets: { all: true } });
  expect(restore.status).toBe(200);
  await fleet.waitStatus(victim, 'Connected', 20_000);
}, 60_000);
