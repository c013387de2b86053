/**
 * Onboarding with the real agent services (Connecting → Connected, Accepted → Succeeded, LRO polling)
 * and metadata changes in a cluster reaching the hub projection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metadataOf, type ClusterState } from '../../contract/index.js';
import { TestFleet } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const DAY_MS = 86_400_000;
let fleet: TestFleet;

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 3, connect: false });
});

afterAll(async () => {
  await fleet?.stop();
});

function nameAt(i: number): string {
  const c = fleet.clusters[i];
  if (!c) throw new Error(`no cluster #${i}`);
  return c.name;
}

describe('onboarding', () => {
  it('goes Accepted → Succeeded (the LRO, on its own) and Connecting → Connected with every property filled', async () => {
    const name = nameAt(0);
    const put = await fleet.connect(name);
    expect(put.status).toBe(201);
    expect(put.resource.properties.connectivityStatus).toBe('Connecting');
    expect(put.resource.properties.provisioningState).toBe('Accepted');
    expect(put.bootstrapToken).toBeTruthy();
    const opUrl = put.asyncOperation;
    if (!opUrl) throw new Error('PUT returned no Azure-AsyncOperation');

    const op = await waitFor(() => fleet.arm.request<{ status: string }>('GET', opUrl), {
      timeoutMs: 30_000,
      intervalMs: 200,
      until: (r) => r.status === 200 && r.body.status !== 'InProgress',
      message: `operation ${opUrl} to finish`,
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
    });
    expect(op.body.status).toBe('Succeeded');

    const c = await fleet.waitStatus(name, 'Connected');
    const state = fleet.clusters[0] as ClusterState;
    const expected = metadataOf(state);
    expect(c.properties).toMatchObject({
      connectivityStatus: 'Connected',
      provisioningState: 'Succeeded',
      kubernetesVersion: expected.kubernetesVersion,
      totalNodeCount: expected.totalNodeCount,
      totalCoreCount: expected.totalCoreCount,
      agentVersion: expected.agentVersion,
      distribution: expected.distribution,
      infrastructure: expected.infrastructure,
    });
    for (const [k, v] of Object.entries(c.properties))
      if (k !== 'offering' && k !== 'miscellaneousProperties')
        expect(v, `properties.${k} should be filled`).not.toBeNull();
    expect(c.location).toBe(state.location);

    const now = fleet.clock.now();
    const expiry = Date.parse(c.properties.managedIdentityCertificateExpirationTime ?? '');
    // ≈ now + 90 simulated days (onboarding took a few simulated minutes at most).
    expect(Math.abs(expiry - (now + 90 * DAY_MS))).toBeLessThan(DAY_MS / 24);
    const last = Date.parse(c.properties.lastConnectivityTime ?? '');
    expect(now - last).toBeLessThan(3 * 60_000);
    expect(now - last).toBeGreaterThan(-60_000);

    // The hub saw the registration: identity issued once for this cluster.
    expect(fleet.hub.events('identity.issued').length).toBeGreaterThanOrEqual(1);
  });

  it('onboards the rest of the fleet, all Connected', async () => {
    for (const c of fleet.clusters.slice(1)) {
      const put = await fleet.connect(c.name);
      expect(put.status).toBe(201);
    }
    await fleet.waitAll('Connected');
    await waitFor(() => fleet.arm.listSubscription(fleet.subscriptionId), {
      until: (l) => l.value.every((c) => c.properties.provisioningState === 'Succeeded'),
      message: 'every PUT Succeeded',
    });
  });
});

describe('metadata sync', () => {
  it('delivers a Kubernetes upgrade and a node-pool scale to the projection', async () => {
    const name = nameAt(1);
    await fleet.waitStatus(name, 'Connected');
    const nowIso = new Date(fleet.clock.now()).toISOString();
    const changed = await fleet.store.updateState(name, nowIso, (s) => ({
      ...s,
      kubernetesVersion: '1.31.9',
      nodePools: s.nodePools.map((p, i) => (i === 0 ? { ...p, count: p.count + 7 } : p)),
    }));
    if (!changed) throw new Error(`cluster ${name} vanished from the store`);
    const expected = metadataOf(changed);
    const c = await waitFor(() => fleet.get(name), {
      timeoutMs: 15_000,
      intervalMs: 150,
      until: (r) =>
        r.properties.kubernetesVersion === '1.31.9' &&
        r.properties.totalNodeCount === expected.totalNodeCount,
      message: `${name} projection to show the upgrade and the scale`,
    });
    expect(c.properties.totalCoreCount).toBe(expected.totalCoreCount);
    expect(c.properties.connectivityStatus).toBe('Connected');

    // A second change (scale down) also arrives: latest state wins.
    const again = await fleet.store.updateState(name, new Date(fleet.clock.now()).toISOString(), (s) => ({
      ...s,
      nodePools: s.nodePools.map((p) => ({ ...p, count: 1 })),
    }));
    if (!again) throw new Error(`cluster ${name} vanished from the store`);
    await waitFor(() => fleet.get(name), {
      timeoutMs: 15_000,
      intervalMs: 150,
      until: (r) => r.properties.totalNodeCount === again.nodePools.length,
      message: `${name} projection to show the scale-down`,
    });
    // The other clusters are untouched.
    const other = await fleet.get(nameAt(2));
    expect(other.properties.kubernetesVersion).toBe(fleet.clusters[2]?.kubernetesVersion);
  });
});

describe('delete', () => {
  it("tells the cluster's agents to stop; they go quiet until the cluster is connected again", async () => {
    const name = nameAt(2);
    await fleet.waitStatus(name, 'Connected');
    const del = await fleet.arm.deleteAndWait(fleet.ref(name));
    expect([del.first.status, del.final.status]).toEqual([202, 204]);
    const rsa = fleet.agent('resource-sync-agent');
    const cio = fleet.agent('clusteridentityoperator');
    await rsa.waitForLog((l) => l.event === 'sync.disconnect' && l.cluster === name, {
      message: `${name} resource-sync-agent disconnect`,
    });
    await cio.waitForLog((l) => l.event === 'identity.disconnect' && l.cluster === name, {
      message: `${name} clusteridentityoperator disconnect`,
    });
    // Quiet: no more refused messages from the deleted cluster, and nothing re-creates the resource.
    const revoked = await fleet.metric('arcfleet_hub_rejected_messages_total', { reason: 'IdentityRevoked' });
    await holdsFor(
      async () => ({
        status: (await fleet.arm.get(fleet.ref(name))).status,
        revoked: await fleet.metric('arcfleet_hub_rejected_messages_total', { reason: 'IdentityRevoked' }),
      }),
      (v) => v.status === 404 && v.revoked === revoked,
      1500,
      { message: `${name} stays deleted and its agents stay quiet` },
    );
    // Connecting again onboards it anew.
    const put = await fleet.connect(name);
    expect(put.status).toBe(201);
    await fleet.waitStatus(name, 'Connected');
    await waitFor(() => fleet.get(name), {
      until: (c) => c.properties.provisioningState === 'Succeeded',
      message: `${name} Succeeded`,
    });
    await fleet.waitAll('Connected');
  });
});
