/**
 * Chaos acceptance 1-3: cutting one cluster's egress at the gateway (drop, then reject) makes that
 * cluster alone Offline within threshold + one heartbeat; restoring brings it back within 2 real
 * seconds plus the reconnect backoff bound; changes made during the cut reach the projection.
 * Time scale 60, heartbeat 30 s, threshold 3 min; agent pings every 300 ms (real), 2 outstanding.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ConnectivityStatus, metadataOf } from '../../contract/index.js';
import { TestFleet, fastLinks } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const HEARTBEAT_SIM = 30_000;
const THRESHOLD_SIM = 3 * 60_000;
const BACKOFF_MAX_MS = 1000;
/** Status polling and the hub's evaluation interval, in simulated ms at scale 60. */
const SLACK_SIM = 30_000;

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 4,
    gateway: true,
    env: fastLinks(BACKOFF_MAX_MS),
  });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
});

afterAll(async () => {
  await fleet?.stop();
});

async function statuses(): Promise<Map<string, ConnectivityStatus>> {
  const list = await fleet.arm.listSubscription(fleet.subscriptionId);
  return new Map(list.value.map((c) => [c.name, c.properties.connectivityStatus]));
}

/** Waits until `name` is `status`, checking at every poll that every other cluster is Connected. */
async function waitAlone(name: string, status: ConnectivityStatus, timeoutMs: number): Promise<void> {
  await waitFor(
    async () => {
      const s = await statuses();
      for (const [n, st] of s)
        if (n !== name && st !== 'Connected') throw new Error(`${n} is ${st} while only ${name} is cut`);
      return s.get(name);
    },
    { timeoutMs, intervalMs: 100, until: (s) => s === status, message: `${name} ${status}` },
  );
}

async function cutAndRestore(name: string, mode: 'drop' | 'reject'): Promise<void> {
  const cut = await fleet.gatewayApi('POST', '/v1/chaos', {
    action: 'cut',
    mode,
    targets: { clusters: [name] },
  });
  expect(cut.status).toBe(200);
  expect((cut.body as { clusters: string[] }).clusters).toEqual([name]);
  const cutAt = fleet.clock.now();

  await waitAlone(name, 'Offline', 15_000);
  const offlineAfter = fleet.clock.now() - cutAt;
  expect(offlineAfter).toBeLessThanOrEqual(THRESHOLD_SIM + HEARTBEAT_SIM + SLACK_SIM);
  expect(offlineAfter).toBeGreaterThanOrEqual(THRESHOLD_SIM - HEARTBEAT_SIM);

  const restore = await fleet.gatewayApi('POST', '/v1/chaos', {
    action: 'restore',
    targets: { clusters: [name] },
  });
  expect(restore.status).toBe(200);
  const restoredAt = Date.now();
  await waitAlone(name, 'Connected', 2000 + BACKOFF_MAX_MS + 2000);
  expect(Date.now() - restoredAt).toBeLessThanOrEqual(2000 + BACKOFF_MAX_MS);
}

it('drop: the cut cluster alone goes Offline, and is Connected again soon after restore', async () => {
  const name = fleet.clusters[0]?.name as string;
  await cutAndRestore(name, 'drop');
  const rules = await fleet.gatewayApi('GET', '/v1/rules');
  expect((rules.body as { value: unknown[] }).value).toEqual([]);
});

it('reject: the same, with connections reset and refused', async () => {
  const name = fleet.clusters[1]?.name as string;
  await cutAndRestore(name, 'reject').catch((err: unknown) => {
    const lines = fleet
      .agent('resource-sync-agent')
      .logs.filter((l) => l.cluster === name || l.connection === `resource-sync-agent/${name}`)
      .slice(-30);
    throw new Error(`${String(err)}\n${JSON.stringify(lines, null, 1)}\n${fleet.gateway?.tail(20) ?? ''}`);
  });
});

it('an upgrade and a node-pool scale made during the cut are in the projection after restore', async () => {
  const name = fleet.clusters[2]?.name as string;
  const cut = await fleet.gatewayApi('PUT', `/v1/clusters/${name}/mode`, { mode: { kind: 'drop' } });
  expect(cut.status).toBe(200);
  await waitAlone(name, 'Offline', 15_000);
  const changed = await fleet.store.updateState(name, new Date(fleet.clock.now()).toISOString(), (s) => ({
    ...s,
    kubernetesVersion: '1.31.9',
    nodePools: s.nodePools.map((p, i) => (i === 0 ? { ...p, count: p.count + 5 } : p)),
  }));
  if (!changed) throw new Error(`${name} vanished from the store`);
  const expected = metadataOf(changed);
  // Nothing passes while cut.
  await holdsFor(
    () => fleet.get(name),
    (c) => c.properties.kubernetesVersion !== '1.31.9' && c.properties.connectivityStatus === 'Offline',
    1000,
    { message: `${name} unchanged while cut` },
  );
  expect((await fleet.gatewayApi('DELETE', `/v1/clusters/${name}/mode`)).status).toBe(200);
  const c = await waitFor(() => fleet.get(name), {
    timeoutMs: 2000 + BACKOFF_MAX_MS + 2000,
    intervalMs: 100,
    until: (r) =>
      r.properties.connectivityStatus === 'Connected' &&
      r.properties.kubernetesVersion === '1.31.9' &&
      r.properties.totalNodeCount === expected.totalNodeCount,
    message: `${name} Connected with the upgrade and the scale`,
  });
  expect(c.properties.totalCoreCount).toBe(expected.totalCoreCount);
});

it('flapping with cuts shorter than the threshold never makes the cluster Offline', async () => {
  const name = fleet.clusters[3]?.name as string;
  const res = await fleet.gatewayApi('POST', '/v1/chaos', {
    action: 'flap',
    mode: 'drop',
    cut: '1m',
    open: '1m',
    targets: { clusters: [name] },
  });
  expect(res.status).toBe(200);
  // Three cut/open cycles (6 simulated minutes); checked every 100 ms: nobody leaves Connected.
  await holdsFor(
    () => statuses(),
    (s) => [...s.values()].every((st) => st === 'Connected'),
    6000,
    { message: 'every cluster Connected while one flaps under the threshold' },
  );
  const rules = await fleet.gatewayApi('GET', '/v1/rules');
  expect((rules.body as { value: { mode: { kind: string } }[] }).value[0]?.mode.kind).toBe('flap');
  expect((await fleet.gatewayApi('DELETE', `/v1/clusters/${name}/mode`)).status).toBe(200);
  await waitAlone(name, 'Connected', 2000 + BACKOFF_MAX_MS);
});

it('rejects invalid control requests with an ARM error body', async () => {
  const bad = await fleet.gatewayApi('POST', '/v1/chaos', { action: 'cut', targets: { percent: 300 } });
  expect(bad.status).toBe(400);
  expect((bad.body as { error: { code: string } }).error.code).toBe('InvalidRequestContent');
  const nf = await fleet.gatewayApi('GET', '/v1/nope');
  expect(nf.status).toBe(404);
});
