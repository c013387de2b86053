/**
 * The launcher supervises its processes (chaos acceptance 6), through `startFleet` as `arcfleet up`
 * runs it: a SIGKILLed agent process is restarted with backoff and the projection shows the gap
 * (arcAgentProfile names the dead agent, connectivityStatus stays Connected, since the gap is far
 * shorter than the Offline threshold); a SIGKILLed hub comes back with every projection; a SIGKILLed
 * nats-server comes back on the same port and store, and every agent reconnects. Each crash is
 * visible: the launcher's log, `<dataDir>/logs/supervisor.log`, fleet.json, `arcfleet ps`.
 * Time scale 60: heartbeat 30 s sim (0.5 s real), Offline after 3 min sim (3 s real).
 */
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetHandle, type ServiceName } from '../../fleet/index.js';
import { readFleetFile } from '../../fleet/fleet-file.js';
import { psCommand } from '../../cli/commands/up.js';
import type { ConnectedCluster } from '../../contract/index.js';
import { ENV } from '../../platform/settings.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

const CLUSTERS = 6;
const LOG_MAX_BYTES = 4096;
/** Long enough for metrics-agent to see the dead agent before the supervisor brings it back. */
const BASE_BACKOFF_MS = 3000;

let dataDir: string;
let fleet: FleetHandle;
const launcherLog: string[] = [];

const allConnected = (list: readonly ConnectedCluster[]): boolean =>
  list.length === CLUSTERS && list.every((c) => c.properties.connectivityStatus === 'Connected');
const agentErrors = (c: ConnectedCluster): { component: string }[] =>
  ((c.properties.arcAgentProfile ?? {}) as { agentErrors?: { component: string }[] }).agentErrors ?? [];

async function crashAndAwaitRestart(name: ServiceName, restarts: number): Promise<number> {
  const before = fleet.pids()[name];
  expect(before).toBeDefined();
  fleet.crash(name);
  const after = await waitFor(() => fleet.supervision().find((s) => s.service === name), {
    until: (s) => s?.restarts === restarts && s.running && s.pid !== before,
    timeoutMs: BASE_BACKOFF_MS + 30_000,
    message: `${name} restarted by the supervisor`,
  });
  expect(after?.lastExit).toBe('was killed by SIGKILL');
  return after?.pid ?? -1;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-supervisor-'));
  // As a user's `--data-dir` under a usual umask: the launcher makes it its owner's alone.
  await chmod(dataDir, 0o755);
  fleet = await startFleet({
    dataDir,
    clusters: CLUSTERS,
    timeScale: 60,
    env: {
      ...FAST_TIMINGS,
      [ENV.agentStatusInterval]: '200',
      [ENV.metricsAgentInterval]: '30s',
      [ENV.agentReconnectMax]: '1000',
      // Small, so that the hub's log (two starts) rotates within the test.
      [ENV.logMaxBytes]: String(LOG_MAX_BYTES),
      [ENV.logFiles]: '2',
    },
    restartPolicy: { baseMs: BASE_BACKOFF_MS },
    log: (line) => launcherLog.push(line),
  });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
}, 90_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('launcher supervision', () => {
  it('restarts a SIGKILLed agent process; the projection shows the gap, and no cluster goes Offline', async () => {
    const before = fleet.pids()['resource-sync-agent'];
    fleet.crash('resource-sync-agent');
    // During the back-off the dead agent is named in every cluster's arcAgentProfile...
    const during = await waitFor(() => fleet.list(), {
      until: (l) =>
        l.length === CLUSTERS &&
        l.every((c) => agentErrors(c).some((e) => e.component === 'resource-sync-agent')),
      timeoutMs: BASE_BACKOFF_MS + 5000,
      message: 'every cluster to show resource-sync-agent as not running',
    });
    expect(during.every((c) => c.properties.connectivityStatus === 'Connected')).toBe(true);
    // ...then the supervisor brings it back and the errors clear, with no transition on the way.
    const restarted = await waitFor(
      () => fleet.supervision().find((s) => s.service === 'resource-sync-agent'),
      {
        until: (s) => s?.restarts === 1 && s.running && s.pid !== before,
        timeoutMs: BASE_BACKOFF_MS + 20_000,
        message: 'resource-sync-agent restarted',
      },
    );
    expect(restarted?.lastExit).toBe('was killed by SIGKILL');
    const after = await waitFor(() => fleet.list(), {
      until: (l) => allConnected(l) && l.every((c) => agentErrors(c).length === 0),
      timeoutMs: 20_000,
      message: 'agent errors cleared after the restart',
    });
    const lastSeen = Math.min(...after.map((c) => Date.parse(c.properties.lastConnectivityTime ?? '')));
    await waitFor(() => fleet.list(), {
      until: (l) => l.every((c) => Date.parse(c.properties.lastConnectivityTime ?? '') > lastSeen),
      message: 'heartbeats from the restarted agent',
    });

    // Visible: the launcher's output, the supervisor log, fleet.json and `arcfleet ps`.
    expect(
      launcherLog.some((l) =>
        /resource-sync-agent \(pid \d+\) was killed by SIGKILL; restarting it in 3\.0 s \(restart 1\)/.test(
          l,
        ),
      ),
    ).toBe(true);
    const events = (await readFile(join(dataDir, 'logs', 'supervisor.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; target: string });
    expect(events.filter((e) => e.target === 'resource-sync-agent').map((e) => e.event)).toEqual([
      'service.crashed',
      'service.restarted',
    ]);
    const file = await readFleetFile(dataDir);
    expect(file?.supervised).toBe(true);
    expect(file?.supervision?.['resource-sync-agent']).toMatchObject({
      restarts: 1,
      lastExit: 'was killed by SIGKILL',
    });
    expect(file?.pids['resource-sync-agent']).toBe(restarted?.pid);
    const ps = await psCommand(dataDir, false);
    expect(ps).toMatch(/resource-sync-agent\s+\d+\s+running\s+1\s+was killed by SIGKILL/);
    expect(ps).toContain('supervised by the launcher');
  }, 60_000);

  it('restarts a SIGKILLed hub: every projection is kept, no false Offline', async () => {
    await crashAndAwaitRestart('hub', 1);
    const list = await fleet.list();
    expect(list.map((c) => c.name).sort()).toEqual(fleet.clusters.map((c) => c.name).sort());
    await holdsFor(
      () => fleet.list(),
      (l) => allConnected(l),
      4000,
      {
        intervalMs: 250,
        message: 'all Connected after the hub restart',
      },
    );
  }, 60_000);

  it('restarts a SIGKILLed nats-server on the same port and store; every agent reconnects', async () => {
    const sim = fleet.clock.now();
    await crashAndAwaitRestart('nats-server', 1);
    await waitFor(() => fleet.list(), {
      until: (l) =>
        allConnected(l) && l.every((c) => Date.parse(c.properties.lastConnectivityTime ?? '') > sim),
      timeoutMs: 30_000,
      message: 'every cluster heartbeating again after the broker restart',
    });
    expect(fleet.failure()).toBeUndefined();
  }, 60_000);

  it('each Node service writes its own log, capped and rotated; stdout and stderr go beside it', async () => {
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    const logs = join(dataDir, 'logs');
    const files = await readdir(logs);
    for (const service of ['hub', 'kube-apiserver', 'resource-sync-agent', 'egress-gateway']) {
      expect(files).toContain(`${service}.log`);
      expect(files).toContain(`${service}.out.log`);
      const first = (await readFile(join(logs, `${service}.log`), 'utf8')).split('\n')[0] ?? '';
      expect(JSON.parse(first)).toMatchObject({ service });
    }
    // The hub started twice (the SIGKILL above): more than one file's worth, so it rotated.
    expect(files).toContain('hub.log.1');
    for (const f of files) {
      const rotated = /\.log\.(\d+)$/.exec(f);
      if (rotated) expect(Number(rotated[1])).toBeLessThanOrEqual(2);
      // One line may pass the cap: the file rotates before the line that would pass it.
      if (/\.log(\.\d+)?$/.test(f) && !f.startsWith('nats-server') && !f.startsWith('supervisor'))
        expect((await stat(join(logs, f))).size, f).toBeLessThanOrEqual(LOG_MAX_BYTES + 4096);
    }
  });
});
