/**
 * Chaos acceptance 2 at fleet scale: cut 30 % of a 100-cluster fleet (seeded selection) at the egress
 * gateway; exactly those go Offline and the others never leave Connected; restore brings all back.
 * Time scale 60, heartbeat 30 s, threshold 3 min; agent pings every 300 ms (real), 2 outstanding.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConnectivityStatus } from '../../contract/index.js';
import { TestFleet, fastLinks } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const BACKOFF_MAX_MS = 1000;
let fleet: TestFleet;

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 100,
    gateway: true,
    env: fastLinks(BACKOFF_MAX_MS),
  });
  await fleet.waitAll('Connected', undefined, 90_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
});

afterAll(async () => {
  await fleet?.stop();
});

async function statuses(): Promise<Map<string, ConnectivityStatus>> {
  const list = await fleet.arm.listSubscription(fleet.subscriptionId);
  return new Map(list.value.map((c) => [c.name.toLowerCase(), c.properties.connectivityStatus]));
}

function counts(
  s: Map<string, ConnectivityStatus>,
  names: ReadonlySet<string>,
  status: ConnectivityStatus,
): number {
  return [...s].filter(([n, st]) => names.has(n) && st === status).length;
}

it.each(['drop', 'reject'] as const)(
  '%s: 30 percent cut go Offline, exactly; restore: all Connected',
  async (mode) => {
    const res = await fleet.gatewayApi('POST', '/v1/chaos', {
      action: 'cut',
      mode,
      targets: { percent: 30, seed: mode === 'drop' ? 11 : 12 },
    });
    expect(res.status).toBe(200);
    const cut = new Set((res.body as { clusters: string[] }).clusters.map((n) => n.toLowerCase()));
    expect(cut.size).toBe(30);
    const kept = new Set(fleet.clusters.map((c) => c.name.toLowerCase()).filter((n) => !cut.has(n)));
    expect(kept.size).toBe(70);

    // At every check: the 70 are Connected; the 30 are Connected or Offline, until all 30 are Offline.
    const check = (s: Map<string, ConnectivityStatus>): void => {
      if (counts(s, kept, 'Connected') !== 70)
        throw new Error(`only ${counts(s, kept, 'Connected')} of 70 Connected`);
      if (counts(s, cut, 'Connected') + counts(s, cut, 'Offline') !== 30)
        throw new Error('a cut cluster is neither');
    };
    await waitFor(
      async () => {
        const s = await statuses();
        check(s);
        return counts(s, cut, 'Offline');
      },
      { timeoutMs: 20_000, intervalMs: 200, until: (n) => n === 30, message: '30 cut clusters Offline' },
    );
    await holdsFor(
      async () => statuses(),
      (s) => counts(s, kept, 'Connected') === 70 && counts(s, cut, 'Offline') === 30,
      1000,
      { message: '70 Connected / 30 Offline while cut' },
    );

    const restore = await fleet.gatewayApi('POST', '/v1/chaos', {
      action: 'restore',
      targets: { percent: 30, seed: mode === 'drop' ? 11 : 12 },
    });
    expect((restore.body as { clusters: string[] }).clusters).toHaveLength(30);
    const restoredAt = Date.now();
    await waitFor(
      async () => {
        const s = await statuses();
        check(s);
        return counts(s, cut, 'Connected');
      },
      {
        timeoutMs: 10_000,
        intervalMs: 200,
        until: (n) => n === 30,
        message: '30 restored clusters Connected',
      },
    );
    const took = Date.now() - restoredAt;
    expect(took).toBeLessThanOrEqual(2000 + BACKOFF_MAX_MS);
  },
);
