/**
 * Connectivity: a cluster whose agents stop goes Offline after the threshold while the others stay
 * Connected, and comes back to Connected when its agents run again.
 * Time scale 60, heartbeat 30 s, threshold 3 min: Offline ≈ 3 real seconds after the last heartbeat.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestFleet } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

let fleet: TestFleet;

/** The cluster side's view: the `clustermetadata` resource's lastConnectivityTime (ms), via the apiserver. */
async function clusterSideLastContact(name: string): Promise<number> {
  const res = await fetch(
    `${fleet.handle.kubeApiserverUrl}/clusters/${encodeURIComponent(name)}/apis/arc.azure.com/v1beta1/connectedclusters/clustermetadata`,
  );
  const body = (await res.json()) as { status?: { lastConnectivityTime?: string } };
  return Date.parse(body.status?.lastConnectivityTime ?? '');
}

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 4, kubeApiserver: true });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
});

afterAll(async () => {
  await fleet?.stop();
});

it('goes Offline after the threshold when its agents stop, others stay Connected, and recovers', async () => {
  const [silent, ...others] = fleet.clusters.map((c) => c.name) as [string, ...string[]];
  const before = await fleet.get(silent);
  // The cluster side records its last contact too (ARC-FACTS: clustermetadata's status), within one
  // heartbeat interval (30 s simulated) of what the hub saw.
  const heartbeatMs = 30_000;
  // cluster-metadata-operator writes the resource shortly after the cluster appears.
  const sideBefore = await waitFor(() => clusterSideLastContact(silent), {
    until: (ms) => !Number.isNaN(ms),
    timeoutMs: 10_000,
    message: 'clustermetadata written',
  });
  expect(Math.abs(sideBefore - Date.parse(before.properties.lastConnectivityTime ?? ''))).toBeLessThanOrEqual(
    2 * heartbeatMs,
  );
  const stoppedAtSim = fleet.clock.now();
  await fleet.stopAgents(silent, ['resource-sync-agent', 'clusteridentityoperator']);

  const offline = await fleet.waitStatus(silent, 'Offline', 15_000);
  // Not before the threshold (3 simulated minutes) since the last heartbeat.
  const last = Date.parse(offline.properties.lastConnectivityTime ?? '');
  expect(last).toBeGreaterThanOrEqual(Date.parse(before.properties.lastConnectivityTime ?? '') - 1);
  expect(fleet.clock.now() - last).toBeGreaterThanOrEqual(3 * 60_000);
  expect(last).toBeLessThanOrEqual(stoppedAtSim + 60_000);
  expect(offline.properties.provisioningState).toBe('Succeeded');
  // The cluster side's record stopped with the heartbeats, at the hub's last heartbeat.
  const sideOffline = await clusterSideLastContact(silent);
  expect(Math.abs(sideOffline - last)).toBeLessThanOrEqual(heartbeatMs);

  // The others keep heartbeating throughout.
  const all = await fleet.arm.listSubscription(fleet.subscriptionId);
  for (const c of all.value.filter((x) => others.includes(x.name)))
    expect(c.properties.connectivityStatus, c.name).toBe('Connected');
  // And stays Offline while silent (two more heartbeat intervals).
  await holdsFor(
    () => fleet.get(silent),
    (c) => c.properties.connectivityStatus === 'Offline',
    1000,
    { message: `${silent} Offline while its agents are stopped` },
  );

  await fleet.startAgents(silent);
  const back = await fleet.waitStatus(silent, 'Connected', 15_000);
  expect(Date.parse(back.properties.lastConnectivityTime ?? '')).toBeGreaterThan(last);
  expect(await clusterSideLastContact(silent)).toBeGreaterThan(sideOffline);
  await fleet.waitAll('Connected');
  expect(fleet.hub.events('cluster.transition', (l) => l.to === 'Offline')).toHaveLength(1);
});
