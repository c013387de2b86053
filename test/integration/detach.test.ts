/**
 * `arcfleet up --detach` through the real CLI: it returns once every cluster is Connected, leaving a
 * background launcher that still supervises the fleet (a SIGKILLed agent comes back with a new pid);
 * `arcfleet down` stops that launcher and, with it, every process of the fleet.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { isAlive } from '../../fleet/process.js';
import { readFleetFile } from '../../fleet/fleet-file.js';
import { AGENT_SERVICES } from '../../fleet/index.js';
import { DIST_DIR } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const CLI = join(DIST_DIR, 'cli', 'main.js');
let dataDir: string | undefined;

afterAll(async () => {
  if (!dataDir) return;
  await run(process.execPath, [CLI, 'down', '--data-dir', dataDir]).catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
});

it('detaches a supervised fleet, which restarts a killed agent, and down stops it all', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-detach-'));
  const up = await run(process.execPath, [CLI, 'up', '--clusters', '3', '--detach', '--data-dir', dataDir], {
    timeout: 90_000,
  });
  expect(up.stdout).toMatch(/all 3 clusters Connected in/);
  expect(up.stdout).toMatch(/supervised by the launcher \(pid \d+\)/);

  const file = await readFleetFile(dataDir);
  expect(file?.supervised).toBe(true);
  expect(isAlive(file?.launcherPid ?? -1)).toBe(true);
  const pids = Object.values(file?.pids ?? {});
  // nats-server, hub, egress-gateway, kube-apiserver and one process per agent kind.
  expect(pids).toHaveLength(4 + AGENT_SERVICES.length);

  const victim = file?.pids['resource-sync-agent'] ?? -1;
  process.kill(victim, 'SIGKILL');
  const after = await waitFor(async () => (await readFleetFile(dataDir ?? ''))?.pids['resource-sync-agent'], {
    until: (pid) => pid !== undefined && pid !== victim && isAlive(pid),
    timeoutMs: 20_000,
    message: 'resource-sync-agent restarted by the background launcher',
  });
  const ps = await run(process.execPath, [CLI, 'ps', '--data-dir', dataDir, '-o', 'json']);
  const services = (
    JSON.parse(ps.stdout) as { services: { service: string; pid: number; restarts: number }[] }
  ).services;
  expect(services.find((s) => s.service === 'resource-sync-agent')).toMatchObject({
    pid: after,
    restarts: 1,
  });

  const down = await run(process.execPath, [CLI, 'down', '--data-dir', dataDir], { timeout: 60_000 });
  expect(down.stdout).toContain(`launcher (pid ${file?.launcherPid ?? ''}) stopped, with its fleet`);
  expect(isAlive(file?.launcherPid ?? -1)).toBe(false);
  for (const pid of [...pids.filter((p) => p !== victim), after ?? -1]) expect(isAlive(pid)).toBe(false);
}, 120_000);
