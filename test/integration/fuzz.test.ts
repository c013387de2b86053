/**
 * The fuzzed boundary (issue 17 point 7): bench/fuzz throws malformed and random input at every
 * boundary of a running fleet (the ARM API, agent messages with a cluster's own valid credentials,
 * live-feed frames, the egress control API, the kube-apiserver) with a fixed seed and a short count.
 * No crash (5xx, a body outside the server's shape, a reset, no answer), every refusal counted by the
 * boundary's metric, and afterwards every process answers and every cluster is Connected again.
 * The long run is `npm run bench -- --fuzz` (docs/fuzzing.md).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzLines, runFuzz, type BoundaryReport } from '../../bench/fuzz/run.js';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';

/** Fixed: a failure here replays exactly with the same seed (fast-check prints the path to it). */
const SEED = 20261201;
const RUNS = 150;

let dataDir: string;
let fleet: FleetHandle;
let reports: BoundaryReport[];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-fuzz-'));
  fleet = await startFleet({ dataDir, clusters: 2, timeScale: 60, env: { ...FAST_TIMINGS } });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
  reports = await runFuzz(fleet, { runs: RUNS, seed: SEED });
  process.stderr.write(`${fuzzLines(reports).join('\n')}\n`);
}, 600_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the fuzzed boundary', () => {
  it('covers every boundary, each with refusals', () => {
    expect(reports.map((r) => r.name)).toHaveLength(5);
    for (const r of reports) {
      expect(r.tried, r.name).toBeGreaterThanOrEqual(RUNS);
      expect(r.rejected, r.name).toBeGreaterThan(RUNS / 4);
    }
  });

  it('crashes nothing: no 5xx, no framework body, no reset, no silence', () => {
    for (const r of reports)
      expect({ name: r.name, crash: r.firstCrash ?? 'none' }).toEqual({ name: r.name, crash: 'none' });
  });

  it("counts every refusal in the boundary's metric", () => {
    for (const r of reports) expect(r.counted, r.name).toBeGreaterThanOrEqual(r.refusals);
  });

  it('leaves the fleet answering and converged', async () => {
    for (const url of [
      `${fleet.pageUrl}/healthz`,
      `${fleet.kubeApiserverUrl}/healthz`,
      `${fleet.egressApiUrl}/healthz`,
    ])
      expect((await fetch(url)).status, url).toBe(200);
    const progress = await fleet.waitAllConnected({ timeoutMs: 60_000 });
    expect(progress.connected).toBe(fleet.clusters.length);
  });
});
