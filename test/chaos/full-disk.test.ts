/**
 * A fleet on a disk that fills up (issue 17, point 3): its data directory is a 96 MiB tmpfs this test
 * mounts, filled to the last byte while the fleet runs, then freed. While it is full no service crashes
 * on its logger, the hub's health and metrics keep answering, the agents' /healthz names the file they
 * cannot write, the supervisor restarts what fails its liveness probe, the CLI names the file it could
 * not write and leaves no temp file, and an ARM write is never acknowledged without being stored. Once
 * there is room again every cluster is Connected and every acknowledged write is there.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import { ENV } from '../../platform/settings.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { DIST_DIR } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const CLUSTERS = 3;
const isRoot = process.getuid?.() === 0;

let mountPoint: string;
let mounted = false;
let fleet: FleetHandle;
const filler = (): string => join(mountPoint, 'filler');

/** Writes until the file system has no byte left. */
function fill(): number {
  const fd = openSync(filler(), 'w');
  const chunk = Buffer.alloc(1 << 20, 1);
  let written = 0;
  // Large writes, then smaller ones until not even one byte fits.
  for (const size of [chunk.length, 65536, 4096, 512, 1]) {
    try {
      for (;;) written += writeSync(fd, chunk.subarray(0, size));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    }
  }
  closeSync(fd);
  return written;
}

async function get(url: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, text: await res.text(), ms: performance.now() - t0 };
}

beforeAll(async () => {
  if (!isRoot) return;
  mountPoint = await mkdtemp(join(tmpdir(), 'arcfleet-full-disk-'));
  await run('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', mountPoint]);
  mounted = true;
  fleet = await startFleet({
    dataDir: join(mountPoint, 'fleet'),
    clusters: CLUSTERS,
    timeScale: 60,
    env: { ...FAST_TIMINGS, [ENV.agentStatusInterval]: '500' },
    restartPolicy: { baseMs: 500, maxMs: 4000 },
    liveness: { intervalMs: 1000, timeoutMs: 2000, failureThreshold: 3 },
  });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (mounted) await run('umount', ['-l', mountPoint]);
  if (mountPoint) await rm(mountPoint, { recursive: true, force: true });
});

describe('a full disk', () => {
  it.skipIf(!isRoot)(
    'keeps services answering, names what cannot be written, restarts what fails its probe, loses nothing acknowledged [needs root to mount a tmpfs]',
    async () => {
      const target = fleet.clusters[0]?.name ?? '';
      const hubPid = fleet.pids()['hub'];
      fill();
      const fullSince = Date.now();

      // The CLI names the file it could not write and leaves no temp file behind.
      const cli = await run(process.execPath, [
        join(DIST_DIR, 'cli', 'main.js'),
        'cluster',
        'scale',
        target,
        '--pool',
        fleet.clusters[0]?.nodePools[0]?.name ?? '',
        '--count',
        '7',
        '--data-dir',
        fleet.dataDir,
      ]).then(
        () => ({ code: 0, stderr: '' }),
        (err: { code: number; stderr: string }) => err,
      );
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toMatch(/Cannot write \S*cluster\.json: ENOSPC \(no space left on device\)/);
      const clusterDir = join(fleet.dataDir, 'clusters', target);
      expect((await readdir(clusterDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      // An ARM write while the broker's store is full: acknowledged only if it was stored.
      const during = await fleet.client
        .ensureResourceGroup(fleet.subscriptionId, 'written-while-full', 'westeurope')
        .then(
          () => 'acknowledged' as const,
          (err: unknown) => String(err),
        );

      // The hub's health and metrics answer throughout, and promptly.
      for (let i = 0; i < 5; i++) {
        const health = await get(`${fleet.pageUrl}/healthz`);
        expect(health.ms).toBeLessThan(2000);
        const metrics = await get(`${fleet.pageUrl}/metrics`);
        expect(metrics.status).toBe(200);
        expect(metrics.text).toContain('arcfleet_log_lines_dropped_total');
      }

      // An agent that cannot write its cluster store fails its probe and is restarted by the supervisor.
      const restarted = await waitFor(() => fleet.supervision(), {
        until: (s) =>
          s.some(
            (e) => e.service === 'resource-sync-agent' && /health probe.*Cannot write/.test(e.lastExit ?? ''),
          ),
        timeoutMs: 60_000,
        message: 'resource-sync-agent restarted after failing its health probe on the full disk',
      });
      // The hub needs no local disk to work: it logs into the full disk and stays up (a logger that
      // throws ENOSPC took every service down).
      expect(restarted.find((e) => e.service === 'hub')).toMatchObject({ restarts: 0, running: true });
      expect(fleet.pids()['hub']).toBe(hubPid);
      expect(Date.now() - fullSince).toBeGreaterThan(5000);

      // Room again: everything comes back without help.
      await rm(filler());
      await fleet.waitAllConnected({ timeoutMs: 90_000 });
      await waitFor(() => fleet.supervision(), {
        until: (s) => s.every((e) => e.running && e.gaveUp === undefined),
        timeoutMs: 60_000,
        message: 'every service running again',
      });
      expect((await get(`${fleet.pageUrl}/healthz`)).status).toBe(200);
      expect(fleet.pids()['hub']).toBe(hubPid);
      // What was acknowledged is there; what was not can be written now.
      if (during === 'acknowledged')
        expect(
          await fleet.client.ensureResourceGroup(fleet.subscriptionId, 'written-while-full', 'westeurope'),
        ).toBe(false);
      else
        await waitFor(
          () =>
            fleet.client.ensureResourceGroup(fleet.subscriptionId, 'written-after', 'westeurope').then(
              () => true,
              () => false,
            ),
          { timeoutMs: 30_000, message: 'an ARM write stored once there is room' },
        );
    },
    300_000,
  );
});
