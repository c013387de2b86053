/**
 * Chaos scenarios (acceptance 7), through the real CLI (`node dist/cli/main.js chaos run`): every
 * scenario shipped in deploy/scenarios runs green, each starting its own fleet; a scenario with a
 * false expectation, run against a fleet that is already running (with a kill step the launcher's
 * supervisor repairs), fails with exit code 1 and a report that says what was expected and observed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import type { ScenarioReport } from '../../cli/scenario/runner.js';
import { ENV } from '../../platform/settings.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { DIST_DIR, REPO_ROOT } from '../helpers/paths.js';

const SCENARIOS_DIR = join(REPO_ROOT, 'deploy', 'scenarios');
const CLI = join(DIST_DIR, 'cli', 'main.js');
const dirs: string[] = [];

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: readonly string[], timeoutMs: number): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'arcfleet-scenario-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const shipped = (await readdir(SCENARIOS_DIR)).filter((f) => f.endsWith('.yaml')).sort();

describe('shipped scenarios', () => {
  it('there are scenarios to run', () => {
    expect(shipped.length).toBeGreaterThanOrEqual(5);
  });

  it.each(shipped)(
    '%s runs green with its own fleet',
    async (file) => {
      const dir = await tempDir();
      const reportFile = join(dir, 'report.json');
      const run = await runCli(
        ['chaos', 'run', join(SCENARIOS_DIR, file), '--data-dir', join(dir, 'fleet'), '--report', reportFile],
        170_000,
      );
      const output = `${run.stdout}\n${run.stderr}`;
      expect(run.code, output).toBe(0);
      expect(output).toMatch(/: PASSED, \d+ steps in/);
      const report = JSON.parse(await readFile(reportFile, 'utf8')) as ScenarioReport;
      expect(report.passed).toBe(true);
      expect(report.steps.every((s) => s.ok)).toBe(true);
      // The scenario's own fleet is stopped afterwards.
      const ps = await runCli(['ps', '--data-dir', join(dir, 'fleet'), '-o', 'json'], 10_000);
      const services = (JSON.parse(ps.stdout) as { services: { running: boolean }[] }).services;
      expect(services.some((s) => s.running)).toBe(false);
    },
    180_000,
  );
});

describe('a failing scenario against a running fleet', () => {
  let fleet: FleetHandle | undefined;
  afterAll(async () => {
    await fleet?.stop();
  });

  it('exits 1 with a readable report naming the step, the expectation and what was observed', async () => {
    const dir = await tempDir();
    fleet = await startFleet({
      dataDir: join(dir, 'fleet'),
      clusters: 4,
      timeScale: 60,
      env: { ...FAST_TIMINGS, [ENV.agentReconnectMax]: '1000' },
      restartPolicy: { baseMs: 300 },
    });
    await fleet.waitAllConnected({ timeoutMs: 60_000 });
    const victim = fleet.clusters[1]?.name ?? '';
    const hubPid = fleet.pids().hub;
    const file = join(dir, 'false.yaml');
    await writeFile(
      file,
      [
        'name: a false expectation',
        'steps:',
        '  - expect: { counts: { Connected: all }, within: 1m }',
        '  - kill: hub',
        '  - expect: { counts: { Connected: all }, within: threshold }',
        `  - cut: { cluster: ${victim} }`,
        `  - name: this one is false`,
        `    expect: { cluster: ${victim}, connectivityStatus: Connected, holdsFor: 2 threshold }`,
        '  - restore: all',
      ].join('\n'),
    );
    const reportFile = join(dir, 'report.json');
    const run = await runCli(
      ['chaos', 'run', file, '--data-dir', join(dir, 'fleet'), '--report', reportFile],
      60_000,
    );
    const output = run.stdout;
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(output).toContain(`against the running fleet in ${join(dir, 'fleet')}`);
    expect(output).toMatch(/✓ {2}2 {2}kill hub/);
    expect(output).toMatch(/killed hub \(pid \d+\) with SIGKILL; the supervisor restarts it/);
    expect(output).toContain(
      `✗  5  this one is false: expect cluster=${victim} connectivityStatus=Connected holdsFor=2 threshold`,
    );
    expect(output).toContain(`expected ${victim} Connected throughout 6m (6.0 s real)`);
    expect(output).toMatch(
      new RegExp(`observed ${victim} Offline \\(lastConnectivityTime [^)]+\\) after \\d`),
    );
    expect(output).toContain('scenario "a false expectation": FAILED at step 5 of 6 (4 passed)');
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as ScenarioReport;
    expect(report).toMatchObject({ passed: false, failedStep: 5 });
    expect(report.steps).toHaveLength(5);
    // The hub was restarted by the running fleet's supervisor, and the fleet is still up.
    expect(fleet.pids().hub).not.toBe(hubPid);
    expect(fleet.supervision().find((s) => s.service === 'hub')?.restarts).toBe(1);
    expect(fleet.failure()).toBeUndefined();
  }, 90_000);

  it('rejects an invalid scenario with the step and field named, before touching the fleet', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'name: bad',
        'steps:',
        '  - wait: 1m',
        '  - expect: { cluster: a, connectivityStatus: Connected, within: soon }',
      ].join('\n'),
    );
    const run = await runCli(['chaos', 'run', file, '--data-dir', join(dir, 'fleet')], 20_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('InvalidParameter');
    expect(run.stderr).toContain(
      'steps[1].expect.within: not a duration (examples: 90s, 15m, threshold + 2 heartbeat)',
    );
  });
});
