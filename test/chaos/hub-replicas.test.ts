/**
 * Hub replicas (issue 14): two hub processes share the KV buckets, one holding the leader lease.
 * - a write through one replica is read back through the other at once (read-your-writes);
 * - the leader is SIGKILLed mid-run: the other takes the lease within seconds (arcfleet_hub_leader),
 *   answers the ARM API, keeps every cluster Connected, still turns a cluster whose agents stopped
 *   Offline after the threshold (it evaluates now), and has every change acknowledged before the kill.
 * Time scale 60, heartbeat 30 s, Offline after 3 min (3 s real), lease 3 s.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ProcessName } from '../../fleet/index.js';
import { ArmClient, metricValue } from '../helpers/arm.js';
import { TestFleet } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const THRESHOLD_MS = 3000;
let fleet: TestFleet;
let replicas: ArmClient[];

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 4, hubs: 2 });
  replicas = fleet.handle.hubUrls.map((url) => new ArmClient(url, undefined, () => fleet.handle.token()));
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
});

afterAll(async () => {
  await fleet?.stop();
});

const replica = (i: number): ArmClient => {
  const r = replicas[i];
  if (!r) throw new Error(`no hub replica ${i}`);
  return r;
};

async function leaders(): Promise<number[]> {
  return Promise.all(
    replicas.map(async (r) => metricValue(await r.metrics().catch(() => ''), 'arcfleet_hub_leader')),
  );
}

async function notConnected(arm: ArmClient): Promise<string[]> {
  const list = await arm.listSubscription(fleet.subscriptionId);
  return list.value.filter((c) => c.properties.connectivityStatus !== 'Connected').map((c) => c.name);
}

it('runs hub-0 and hub-1, exactly one of them leading', async () => {
  expect(fleet.service('hub-0').running && fleet.service('hub-1').running).toBe(true);
  const roles = await waitFor(leaders, {
    timeoutMs: 10_000,
    until: (l) => l.filter((v) => v === 1).length === 1,
    message: 'one leader',
  });
  expect(roles.sort()).toEqual([0, 1]);
});

it('reads a write made through one replica back through the other at once', async () => {
  for (const [i, c] of fleet.clusters.entries()) {
    const [writer, reader] = i % 2 === 0 ? [replica(0), replica(1)] : [replica(1), replica(0)];
    const res = await writer.patch(fleet.ref(c.name), { tags: { written: `w${i}` } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const back = await reader.get(fleet.ref(c.name));
    expect(back.body.tags?.['written'], c.name).toBe(`w${i}`);
    const listed = await reader.listSubscription(fleet.subscriptionId);
    expect(listed.value.find((x) => x.name === c.name)?.tags?.['written']).toBe(`w${i}`);
  }
});

it('fails over to the other replica when the leader is killed, losing nothing', async () => {
  const names = fleet.clusters.map((c) => c.name);
  const [silent, ...alive] = names as [string, ...string[]];
  const leader = (await leaders()).indexOf(1);
  expect(leader).toBeGreaterThanOrEqual(0);
  const survivor = replica(1 - leader);
  // Acknowledged by the replica about to die.
  for (const n of names) {
    const res = await replica(leader).patch(fleet.ref(n), { tags: { round: 'before-kill' } });
    expect(res.status).toBe(200);
  }
  await fleet.stopAgents(silent, ['resource-sync-agent', 'metrics-agent']);

  const killedAt = Date.now();
  fleet.handle.kill(`hub-${leader}` as ProcessName, 'SIGKILL');
  await waitFor(async () => metricValue(await survivor.metrics(), 'arcfleet_hub_leader'), {
    timeoutMs: 10_000,
    intervalMs: 100,
    until: (v) => v === 1,
    message: 'the surviving replica takes the lease',
  });
  expect(Date.now() - killedAt).toBeLessThan(6000);

  for (const n of names)
    expect((await survivor.get(fleet.ref(n))).body.tags?.['round'], n).toBe('before-kill');
  // The new leader evaluates: the silent cluster goes Offline, no other leaves Connected.
  await waitFor(async () => (await survivor.get(fleet.ref(silent))).body.properties.connectivityStatus, {
    timeoutMs: 4 * THRESHOLD_MS,
    until: (s) => s === 'Offline',
    message: `${silent} Offline on the new leader`,
  });
  await holdsFor(
    async () => (await notConnected(survivor)).filter((n) => n !== silent.toLowerCase() && n !== silent),
    (left) => left.length === 0,
    2 * THRESHOLD_MS,
    { intervalMs: 200, message: `${alive.join(', ')} Connected throughout` },
  );
}, 60_000);
