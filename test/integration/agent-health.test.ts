/**
 * Agent health (issue 4, acceptance 3): metrics-agent reads every cluster's agent status files and
 * reports them; the hub shows a dead agent in `properties.arcAgentProfile`.
 * Time scale 60; metrics-agent interval 30 s simulated (0.5 real s); status files refreshed every
 * 300 ms real, so a killed process is judged down ~0.9 s after its last refresh.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConnectedCluster } from '../../contract/index.js';
import { ENV } from '../../platform/settings.js';
import { TestFleet } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const STATUS_INTERVAL_MS = 300;
const REPORT_INTERVAL_REAL_MS = 500;
/** One report interval plus the staleness bound (3 refreshes), with slack for a loaded machine. */
const WITHIN_MS = REPORT_INTERVAL_REAL_MS + 3 * STATUS_INTERVAL_MS + 4000;

interface AgentError {
  message: string;
  severity: string;
  component: string;
  time: string;
}
interface SystemComponent {
  type: string;
  majorVersion: number | null;
  currentVersion: string | null;
}
interface Profile {
  agentState?: string;
  agentErrors?: AgentError[];
  systemComponents?: SystemComponent[];
  agentAutoUpgrade?: string;
  desiredAgentVersion?: string | null;
}

let fleet: TestFleet;

const profile = (c: ConnectedCluster): Profile => (c.properties.arcAgentProfile ?? {}) as Profile;
const errorsFor = (c: ConnectedCluster, component: string): AgentError[] =>
  (profile(c).agentErrors ?? []).filter((e) => e.component === component);
const componentOf = (c: ConnectedCluster, type: string): SystemComponent | undefined =>
  profile(c).systemComponents?.find((s) => s.type === type);

async function waitProfiles(
  until: (c: ConnectedCluster) => boolean,
  message: string,
  timeoutMs = WITHIN_MS,
): Promise<ConnectedCluster[]> {
  const names = fleet.clusters.map((c) => c.name);
  return waitFor(() => Promise.all(names.map((n) => fleet.get(n))), {
    timeoutMs,
    until: (all) => all.every(until),
    message,
  });
}

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 3,
    env: {
      [ENV.agentStatusInterval]: String(STATUS_INTERVAL_MS),
      [ENV.metricsAgentInterval]: '30s',
    },
  });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
  // Every cluster reports healthy first, metrics-agent included (its own status is written as it
  // starts, so its first report may come just before it).
  await waitProfiles(
    (c) => profile(c).agentState === 'Succeeded' && (profile(c).systemComponents ?? []).length === 3,
    'every cluster Succeeded with its three components',
    20_000,
  );
});

afterAll(async () => {
  await fleet?.stop();
});

it('a healthy cluster lists its components with versions and no errors', async () => {
  const c = await fleet.get(fleet.clusters[0]?.name ?? '');
  const p = profile(c);
  expect(p.agentErrors).toEqual([]);
  expect(p.agentAutoUpgrade).toBe('Enabled');
  expect(p.desiredAgentVersion).toBe(c.properties.agentVersion);
  const types = (p.systemComponents ?? []).map((s) => s.type).sort();
  expect(types).toEqual(['clusteridentityoperator', 'metrics-agent', 'resource-sync-agent']);
  const rsa = componentOf(c, 'resource-sync-agent');
  expect(rsa?.currentVersion).toBe(c.properties.agentVersion);
  expect(rsa?.majorVersion).toBe(Number((c.properties.agentVersion ?? '').split('.')[0]));
});

it('a killed resource-sync-agent process shows in every cluster within one interval; a restart clears it', async () => {
  const rsa = fleet.agent('resource-sync-agent');
  const killedAt = Date.now();
  await rsa.kill();
  const failed = await waitProfiles(
    (c) =>
      profile(c).agentState === 'Failed' &&
      errorsFor(c, 'resource-sync-agent').some((e) => /resource-sync-agent is not running/.test(e.message)),
    'every cluster shows resource-sync-agent not running',
  );
  expect(Date.now() - killedAt).toBeLessThan(WITHIN_MS);
  for (const c of failed) {
    expect(errorsFor(c, 'resource-sync-agent')[0]?.severity).toBe('Error');
    // The other agents are still fine.
    expect(errorsFor(c, 'clusteridentityoperator')).toEqual([]);
    // The last known version stays listed.
    expect(componentOf(c, 'resource-sync-agent')?.currentVersion).toBe(c.properties.agentVersion);
  }

  rsa.spawn();
  await waitProfiles(
    (c) => profile(c).agentState === 'Succeeded' && (profile(c).agentErrors ?? []).length === 0,
    'errors cleared after the restart',
  );
});

it('an agent stopped for one cluster (stoppedAgents) shows in that cluster only', async () => {
  const [target, ...others] = fleet.clusters.map((c) => c.name) as [string, ...string[]];
  await fleet.stopAgents(target, ['clusteridentityoperator']);
  const got = await waitFor(() => fleet.get(target), {
    timeoutMs: WITHIN_MS,
    until: (c) => errorsFor(c, 'clusteridentityoperator').length > 0,
    message: `${target} reports clusteridentityoperator`,
  });
  expect(profile(got).agentState).toBe('Failed');
  expect(errorsFor(got, 'clusteridentityoperator')[0]?.message).toMatch(
    /clusteridentityoperator is not running/,
  );
  // For two more report intervals, the others stay healthy.
  await holdsFor(
    () => Promise.all(others.map((n) => fleet.get(n))),
    (all) => all.every((c) => profile(c).agentState === 'Succeeded' && profile(c).agentErrors?.length === 0),
    2 * REPORT_INTERVAL_REAL_MS,
    { message: 'the other clusters stay healthy' },
  );

  await fleet.startAgents(target);
  await waitFor(() => fleet.get(target), {
    timeoutMs: WITHIN_MS,
    until: (c) => profile(c).agentState === 'Succeeded',
    message: `${target} healthy again`,
  });
});
