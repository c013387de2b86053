/**
 * Crash and restart: the hub SIGKILLed and restarted keeps every projection (JetStream KV) and the
 * statuses recover; nats-server restarted on the same port and store loses nothing, and a change made
 * in a cluster while the broker was down reaches the projection after reconnect.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ConnectedCluster, metadataOf } from '../../contract/index.js';
import { TestFleet } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 5 });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
});

afterAll(async () => {
  await fleet?.stop();
});

/** Whether the persisted record's health report names three agents, all running. */
function persistedHealthy(json: string | undefined): boolean {
  const record =
    json === undefined
      ? undefined
      : (JSON.parse(json) as { agentHealth?: { agentState?: string; components?: unknown[] } });
  return record?.agentHealth?.agentState === 'Succeeded' && record.agentHealth.components?.length === 3;
}

function byName(list: readonly ConnectedCluster[]): Map<string, ConnectedCluster> {
  return new Map(list.map((c) => [c.name, c]));
}

it('keeps every projection across a hub SIGKILL and recovers the statuses', async () => {
  const changedName = fleet.clusters[0]?.name ?? '';
  const changed = await fleet.store.updateState(
    changedName,
    new Date(fleet.clock.now()).toISOString(),
    (s) => ({
      ...s,
      kubernetesVersion: '1.31.7',
    }),
  );
  if (!changed) throw new Error('cluster missing');
  await waitFor(() => fleet.get(changedName), {
    until: (c) => c.properties.kubernetesVersion === '1.31.7',
    message: 'upgrade visible before the crash',
  });
  // Metadata changes are persisted promptly (not coalesced like heartbeats): wait until it is in KV.
  await waitFor(() => fleet.persisted(changedName), {
    until: (v) => v !== undefined && v.includes('1.31.7'),
    message: 'upgrade persisted in JetStream KV',
  });
  // Settled first: every cluster's agents have all reported their health, all running (metrics-agent's
  // first report may come before its own status file exists, or another agent's: it then names that one
  // "not running" until the next report).
  const settled = await waitFor(async () => (await fleet.arm.listSubscription(fleet.subscriptionId)).value, {
    until: (all) =>
      all.length === fleet.clusters.length &&
      all.every((c) => {
        const profile = c.properties.arcAgentProfile as
          { agentState?: string; systemComponents?: { currentVersion: string | null }[] } | undefined;
        const components = profile?.systemComponents ?? [];
        return (
          profile?.agentState === 'Succeeded' &&
          components.length === 3 &&
          components.every((x) => x.currentVersion !== null)
        );
      }),
    message: 'every cluster reporting its three agents running',
  });
  // ...and that health is durable: the hub answers with a report as soon as it has it, and writes it to
  // KV within its flush tick (it acknowledges the agent only then), so a crash right now could lose it.
  for (const c of settled)
    await waitFor(() => fleet.persisted(c.name), {
      until: persistedHealthy,
      message: `${c.name}: the health of its three running agents persisted in JetStream KV`,
    });
  const before = byName(settled);
  expect(before.size).toBe(fleet.clusters.length);

  await fleet.hub.restart({ crash: true });
  expect(fleet.hub.restarts).toBe(1);
  await fleet.waitHubReady();

  const after = byName((await fleet.arm.listSubscription(fleet.subscriptionId)).value);
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  for (const [name, b] of before) {
    const a = after.get(name) as ConnectedCluster;
    expect(a.id).toBe(b.id);
    expect(a.location).toBe(b.location);
    expect(a.tags).toEqual(b.tags);
    expect(a.systemData.createdAt).toBe(b.systemData.createdAt);
    const { lastConnectivityTime: _l1, connectivityStatus: _s1, ...propsAfter } = a.properties;
    const { lastConnectivityTime: _l2, connectivityStatus: _s2, ...propsBefore } = b.properties;
    expect(propsAfter, name).toEqual(propsBefore);
  }
  expect(after.get(changedName)?.properties.kubernetesVersion).toBe('1.31.7');
  // The onboarding operation is still known to the restarted hub.
  const opUrl = fleet.puts.get(changedName)?.asyncOperation;
  if (!opUrl) throw new Error('no Azure-AsyncOperation recorded for the PUT');
  const op = await fleet.arm.request<{ status: string }>('GET', opUrl);
  expect(op.status, op.text).toBe(200);
  expect(op.body.status).toBe('Succeeded');

  // Heartbeats resume against the new hub process; everyone Connected with fresh lastConnectivityTime.
  const restartedAt = fleet.clock.now();
  const recovered = await waitFor(() => fleet.arm.listSubscription(fleet.subscriptionId), {
    timeoutMs: 20_000,
    intervalMs: 200,
    until: (l) =>
      l.value.length === fleet.clusters.length &&
      l.value.every(
        (c) =>
          c.properties.connectivityStatus === 'Connected' &&
          Date.parse(c.properties.lastConnectivityTime ?? '') >= restartedAt,
      ),
    message: 'every cluster Connected with a heartbeat after the restart',
  });
  expect(recovered.value).toHaveLength(fleet.clusters.length);
  // Nothing was re-onboarded: identities survived (same expiration time).
  for (const c of recovered.value)
    expect(c.properties.managedIdentityCertificateExpirationTime).toBe(
      before.get(c.name)?.properties.managedIdentityCertificateExpirationTime,
    );
});

it('does not count the time the hub itself was down against the clusters (no false Offline)', async () => {
  await fleet.waitAll('Connected');
  const rsa = fleet.agent('resource-sync-agent');
  // Heartbeats stop with the hub: the agents are silenced too, so only the hub's own rule keeps them Connected.
  await rsa.stop();
  const list = await fleet.arm.listSubscription(fleet.subscriptionId);
  const lastHeartbeat = Math.max(
    ...list.value.map((c) => Date.parse(c.properties.lastConnectivityTime ?? '')),
  );
  await fleet.hub.kill();
  // Let more than the offline threshold (3 simulated minutes) pass while the hub is down.
  await waitFor(() => fleet.clock.now() - lastHeartbeat, {
    until: (silentMs) => silentMs > 3 * 60_000 + 30_000,
    timeoutMs: 10_000,
    message: 'offline threshold to pass while the hub is down',
  });
  const offlineBefore = fleet.hub.events('cluster.transition', (l) => l.to === 'Offline').length;
  fleet.hub.spawn();
  await fleet.waitHubReady();
  // The hub was blind, not the clusters: the deadline counts from the hub's start (3 real s here).
  await holdsFor(
    () => fleet.arm.listSubscription(fleet.subscriptionId),
    (l) => l.value.every((c) => c.properties.connectivityStatus === 'Connected'),
    1500,
    { message: 'every cluster Connected right after the hub restart' },
  );
  expect(fleet.hub.events('cluster.transition', (l) => l.to === 'Offline')).toHaveLength(offlineBefore);
  rsa.spawn();
  const restartedAt = fleet.clock.now();
  await waitFor(() => fleet.arm.listSubscription(fleet.subscriptionId), {
    timeoutMs: 20_000,
    intervalMs: 200,
    until: (l) =>
      l.value.every(
        (c) =>
          c.properties.connectivityStatus === 'Connected' &&
          Date.parse(c.properties.lastConnectivityTime ?? '') >= restartedAt,
      ),
    message: 'heartbeats again from every cluster',
  });
});

it('survives a nats-server restart; a change made while the broker is down arrives after reconnect', async () => {
  const name = fleet.clusters[1]?.name ?? '';
  await fleet.nats.stop();
  const changed = await fleet.store.updateState(name, new Date(fleet.clock.now()).toISOString(), (s) => ({
    ...s,
    nodePools: s.nodePools.map((p) => ({ ...p, count: p.count + 3 })),
  }));
  if (!changed) throw new Error('cluster missing');
  // A second change during the same outage: the latest state wins, nothing is lost.
  const latest = await fleet.store.updateState(name, new Date(fleet.clock.now()).toISOString(), (s) => ({
    ...s,
    kubernetesVersion: '1.31.8',
  }));
  if (!latest) throw new Error('cluster missing');
  await fleet.nats.restart();
  const expected = metadataOf(latest);
  await waitFor(() => fleet.get(name), {
    timeoutMs: 30_000,
    intervalMs: 250,
    until: (c) =>
      c.properties.totalNodeCount === expected.totalNodeCount &&
      c.properties.kubernetesVersion === expected.kubernetesVersion,
    message: `${name} scale and upgrade made during the broker outage to reach the projection`,
  }).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
  const all = await fleet.waitAll('Connected', undefined, 30_000);
  expect(all).toHaveLength(fleet.clusters.length);
  expect(fleet.hub.running).toBe(true);
});
