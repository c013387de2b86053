// The chaos scenario runner against an in-memory fleet: a small simulated world (clusters that go
// Offline an offline threshold after their egress is cut, and come back on restore), a recorded
// egress gateway and a fake clock standing in for real time, so every wait and probe is instant and
// every duration in the report exact. The parser is covered by scenario.test.ts.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  metadataOf,
  selectTargets,
  type ClusterState,
  type ConnectedCluster,
  type ConnectivityStatus,
} from '../../contract/index.js';
import type { FleetContext } from '../../cli/context.js';
import {
  formatStep,
  formatSummary,
  runScenario,
  type RunnerDeps,
  type ScenarioFleet,
  type ScenarioReport,
  type StepResult,
} from '../../cli/scenario/runner.js';
import { parseScenario, type ScenarioService } from '../../cli/scenario/scenario.js';
import { FakeClock } from '../../platform/clock.js';
import { clusterState } from '../helpers/fixtures.js';
import { REPO_ROOT } from '../helpers/paths.js';

const TIME_SCALE = 60;
/** Simulated: 3m threshold, 30s heartbeat, as the shipped scenarios' fleets (3 s and 0.5 s real). */
const TIMINGS = { offlineThresholdMs: 180_000, heartbeatIntervalMs: 30_000 };
const GATEWAY = 'http://gateway.test';

interface GatewayCall {
  readonly base: string;
  readonly method: string;
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/**
 * A fleet in memory. Real time is the fake clock; a cut cluster turns Offline once the offline
 * threshold (real: threshold / time scale) has passed since the cut, and Connected again on restore.
 */
class World {
  readonly clock = new FakeClock(Date.UTC(2026, 0, 1));
  /** Everything the runner asked of the fleet and the gateway, in order. */
  readonly log: string[] = [];
  readonly gatewayCalls: GatewayCall[] = [];
  readonly states = new Map<string, ClusterState>();
  /** Real ms at which a cluster's egress was cut. */
  private readonly cutAt = new Map<string, number>();
  /** Overrides: a cluster whose status is pinned (e.g. never goes Offline). */
  readonly pinned = new Map<string, ConnectivityStatus>();
  /** Metadata the hub shows, when it differs from the cluster's own. */
  readonly staleVersion = new Map<string, string>();
  gatewayError: Error | undefined;
  listError: Error | undefined;
  restartError: Error | undefined;

  constructor(names: readonly string[]) {
    for (const [i, name] of names.entries())
      this.states.set(name, clusterState(name, { location: i % 2 === 0 ? 'westus2' : 'eastus' }));
  }

  status(name: string): ConnectivityStatus {
    const pinned = this.pinned.get(name);
    if (pinned) return pinned;
    const cut = this.cutAt.get(name);
    const thresholdReal = TIMINGS.offlineThresholdMs / TIME_SCALE;
    return cut !== undefined && this.clock.now() - cut >= thresholdReal ? 'Offline' : 'Connected';
  }

  list(): ConnectedCluster[] {
    return [...this.states.values()].map(
      (s) =>
        ({
          name: s.name,
          properties: {
            connectivityStatus: this.status(s.name),
            lastConnectivityTime: '2026-01-01T00:00:00.000Z',
            ...metadataOf(s),
            kubernetesVersion: this.staleVersion.get(s.name) ?? s.kubernetesVersion,
          },
        }) as unknown as ConnectedCluster,
    );
  }

  private targets(t: Record<string, unknown>): string[] {
    if (t['all'] === true) return [...this.states.keys()];
    return selectTargets([...this.states.values()], t as Parameters<typeof selectTargets>[1]);
  }

  readonly gateway: RunnerDeps['callGateway'] = (base, method, path, body) => {
    const b = body as Record<string, unknown>;
    this.gatewayCalls.push({ base, method, path, body: b });
    this.log.push(`gateway ${String(b['action'])}`);
    if (this.gatewayError) return Promise.reject(this.gatewayError);
    const clusters = this.targets(b['targets'] as Record<string, unknown>);
    for (const c of clusters) {
      if (b['action'] === 'cut') this.cutAt.set(c, this.clock.now());
      if (b['action'] === 'restore') this.cutAt.delete(c);
    }
    return Promise.resolve({ clusters });
  };

  readonly deps: Partial<RunnerDeps> = {
    callGateway: this.gateway,
    now: () => this.clock.now(),
    sleep: (ms) => {
      this.clock.advance(ms);
      return Promise.resolve();
    },
  };

  fleet(): ScenarioFleet {
    const ctx = {
      subscriptionId: 'sub',
      client: {
        summary: () =>
          Promise.resolve({
            total: this.states.size,
            connectivityStatus: {},
            provisioningState: {},
            timeScale: TIME_SCALE,
            timings: TIMINGS,
          }),
        listClusters: (subscriptionId: string) => {
          this.log.push(`list ${subscriptionId}`);
          if (this.listError) return Promise.reject(this.listError);
          return Promise.resolve({ value: this.list() });
        },
      },
      store: {
        list: () => Promise.resolve([...this.states.keys()]),
        readState: (name: string) => Promise.resolve(this.states.get(name)),
      },
    } as unknown as FleetContext;
    return {
      description: 'an in-memory fleet',
      ctx,
      gatewayUrl: GATEWAY,
      kill: (service: ScenarioService) => {
        this.log.push(`kill ${service}`);
        return Promise.resolve(`killed ${service} (pid 42) with SIGKILL`);
      },
      restart: (service: ScenarioService) => {
        this.log.push(`restart ${service}`);
        if (this.restartError) return Promise.reject(this.restartError);
        return Promise.resolve(`restarted ${service}: pid 42 → 43`);
      },
    };
  }

  async run(yaml: string): Promise<{ report: ScenarioReport; seen: StepResult[] }> {
    const seen: StepResult[] = [];
    const report = await runScenario(parseScenario(yaml), this.fleet(), (r) => seen.push(r), this.deps);
    return { report, seen };
  }
}

const NAMES = Array.from({ length: 10 }, (_, i) => `arc-westus2-${String(i + 1).padStart(4, '0')}`);
const scenario = (steps: string): string => `name: unit\nsteps:\n${steps}`;

describe('runScenario', () => {
  it('runs a shipped scenario step by step against the fleet, with exact simulated durations', async () => {
    const world = new World(NAMES);
    const yaml = await readFile(join(REPO_ROOT, 'deploy/scenarios/cut-one-cluster.yaml'), 'utf8');
    const { report, seen } = await world.run(yaml);

    expect(report.passed, JSON.stringify(report.steps, null, 2)).toBe(true);
    expect(report).toMatchObject({ scenario: 'one cluster cut and restored', fleet: 'an in-memory fleet' });
    expect(report.failedStep).toBeUndefined();
    expect(report.steps.map((s) => s.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // onStep saw each result as it came, in order.
    expect(seen).toEqual(report.steps);
    expect(report.steps.map((s) => s.step)).toEqual([
      'expect counts={Connected: all} within=5m',
      'cut cluster=arc-westus2-0005 mode=drop',
      'no false Offline before the threshold: expect counts={Connected: all} holdsFor=0.5 threshold',
      'expect cluster=arc-westus2-0005 connectivityStatus=Offline within=threshold + 2 heartbeat',
      'expect counts={Offline: 1, Connected: 9}',
      'restore cluster=arc-westus2-0005',
      'expect cluster=arc-westus2-0005 connectivityStatus=Connected within=3m',
      'expect counts={Connected: all}',
      'expect metadata=all within=2 heartbeat',
    ]);
    expect(report.steps.map((s) => s.detail)).toEqual([
      'counts Connected 10: yes after 0ms (0.0 s real)',
      'cut: 1 cluster(s) (arc-westus2-0005)',
      'counts Connected 10: held for 1m 30s (1.5 s real)',
      // Cut 90 s (simulated) before this step began; Offline at the 3m threshold.
      'arc-westus2-0005 Offline: yes after 1m 36s (1.6 s real)',
      'counts Offline 1, Connected 9: yes after 0ms (0.0 s real)',
      'restore: 1 cluster(s) (arc-westus2-0005)',
      'arc-westus2-0005 Connected: yes after 0ms (0.0 s real)',
      'counts Connected 10: yes after 0ms (0.0 s real)',
      'projection metadata equal to the cluster state of all 10 clusters: yes after 0ms (0.0 s real)',
    ]);
    // The holdsFor step took its simulated 1m 30s in (fake) real time, and nothing else waited.
    expect(report.steps[2]?.realMs).toBe(1500);
    expect(report.realMs).toBe(1500 + 1600);
  });

  it('sends each chaos step to the gateway as the gateway API body, durations in simulated ms', async () => {
    const world = new World(NAMES);
    const { report } = await world.run(
      scenario(`
  - cut: { cluster: arc-westus2-0001, mode: reject, for: 2m }
  - cut: { cluster: arc-westus2-0002, endpoints: [identity], agents: [metrics-agent] }
  - latency: { clusters: [arc-westus2-0002, arc-westus2-0003], latencyMs: 250, jitterMs: 50 }
  - bandwidth: { selector: { location: eastus }, bytesPerSecond: 1024, for: threshold }
  - flap: { percent: 30, seed: 7, cut: heartbeat, open: 2 heartbeat }
  - restore: { cluster: arc-westus2-0001 }
  - restore: all
`),
    );
    expect(report.passed).toBe(true);
    expect(world.gatewayCalls.map((c) => [c.base, c.method, c.path])).toEqual(
      Array.from({ length: 7 }, () => [GATEWAY, 'POST', '/v1/chaos']),
    );
    expect(world.gatewayCalls.map((c) => c.body)).toEqual([
      { action: 'cut', mode: 'reject', targets: { clusters: ['arc-westus2-0001'] }, for: '120000ms' },
      {
        action: 'cut',
        mode: 'drop',
        targets: { clusters: ['arc-westus2-0002'] },
        endpoints: ['identity'],
        agents: ['metrics-agent'],
      },
      {
        action: 'latency',
        latencyMs: 250,
        jitterMs: 50,
        targets: { clusters: ['arc-westus2-0002', 'arc-westus2-0003'] },
      },
      {
        action: 'bandwidth',
        bytesPerSecond: 1024,
        targets: { selector: { location: 'eastus' } },
        for: '180000ms',
      },
      {
        action: 'flap',
        mode: 'drop',
        cut: '30000ms',
        open: '60000ms',
        targets: { percent: 30, seed: 7 },
      },
      { action: 'restore', targets: { clusters: ['arc-westus2-0001'] } },
      { action: 'restore', targets: { all: true } },
    ]);
    // What the gateway said it acted on, with long lists cut short.
    expect(report.steps.map((s) => s.detail)).toEqual([
      'cut: 1 cluster(s) (arc-westus2-0001)',
      'cut: 1 cluster(s) (arc-westus2-0002)',
      'latency: 2 cluster(s) (arc-westus2-0002, arc-westus2-0003)',
      'bandwidth: 5 cluster(s) (arc-westus2-0002, arc-westus2-0004, arc-westus2-0006, arc-westus2-0008, arc-westus2-0010)',
      expect.stringMatching(
        /^flap: 3 cluster\(s\) \(arc-westus2-\d{4}, arc-westus2-\d{4}, arc-westus2-\d{4}\)$/,
      ),
      'restore: 1 cluster(s) (arc-westus2-0001)',
      'restore: 10 cluster(s) (arc-westus2-0001, arc-westus2-0002, arc-westus2-0003, arc-westus2-0004, ' +
        'arc-westus2-0005, arc-westus2-0006, arc-westus2-0007, arc-westus2-0008, ...)',
    ]);
  });

  it('kills and restarts services through the fleet, in step order, and waits in simulated time', async () => {
    const world = new World(NAMES);
    const t0 = world.clock.now();
    const { report } = await world.run(
      scenario(`
  - kill: resource-sync-agent
  - wait: 2m
  - restart: hub
  - cut: { cluster: arc-westus2-0001 }
  - kill: nats-server
`),
    );
    expect(report.passed).toBe(true);
    expect(world.log).toEqual(['kill resource-sync-agent', 'restart hub', 'gateway cut', 'kill nats-server']);
    expect(report.steps.map((s) => s.detail)).toEqual([
      'killed resource-sync-agent (pid 42) with SIGKILL',
      'waited 2m (2.0 s real)',
      'restarted hub: pid 42 → 43',
      'cut: 1 cluster(s) (arc-westus2-0001)',
      'killed nats-server (pid 42) with SIGKILL',
    ]);
    // 2 simulated minutes at 60× are 2 real seconds on the (fake) clock, the wait step's own time.
    expect(world.clock.now() - t0).toBe(2000);
    expect(report.steps[1]?.realMs).toBe(2000);
  });

  it('fails an unmet expectation at its deadline, says what was expected and observed, and stops', async () => {
    const world = new World(NAMES);
    world.pinned.set('arc-westus2-0003', 'Connected');
    const { report, seen } = await world.run(
      scenario(`
  - cut: { cluster: arc-westus2-0003 }
  - expect: { cluster: arc-westus2-0003, connectivityStatus: Offline, within: threshold + heartbeat }
  - kill: hub
`),
    );
    expect(report.passed).toBe(false);
    expect(report.failedStep).toBe(2);
    expect(report.steps).toHaveLength(2);
    expect(seen).toHaveLength(2);
    // The step after the failure never ran.
    expect(world.log.filter((l) => !l.startsWith('list'))).toEqual(['gateway cut']);
    const failed = report.steps[1];
    expect(failed?.ok).toBe(false);
    expect(failed?.detail).toBe(
      'expected arc-westus2-0003 Offline within 3m 30s (3.5 s real)\n' +
        'observed arc-westus2-0003 Connected (lastConnectivityTime 2026-01-01T00:00:00.000Z)',
    );
    // Awaited exactly its bound: 3m 30s simulated = 3.5 s real, probing every 200 ms (0, 200, ..., 3400)
    // and once more at the deadline.
    expect(failed?.realMs).toBe(3500);
    expect(world.log.filter((l) => l.startsWith('list'))).toHaveLength(19);
  });

  it('fails a holdsFor expectation at the first probe that breaks it, with when', async () => {
    const world = new World(NAMES);
    const { report } = await world.run(
      scenario(`
  - cut: { cluster: arc-westus2-0001 }
  - expect: { counts: { Connected: all }, holdsFor: 2 threshold }
`),
    );
    expect(report).toMatchObject({ passed: false, failedStep: 2 });
    expect(report.steps[1]?.detail).toBe(
      'expected counts Connected 10 throughout 6m (6.0 s real)\n' +
        'observed Connected 9 · Offline 1 after 3m (3.0 s real)',
    );
  });

  it('reports hub errors and stale metadata as what was observed', async () => {
    const world = new World(NAMES);
    world.listError = new Error('hub unreachable');
    const down = await world.run(scenario(`  - expect: { counts: { Connected: 10 }, within: 1m }\n`));
    expect(down.report.steps[0]?.detail).toBe(
      'expected counts Connected 10 within 1m (1.0 s real)\nobserved error: hub unreachable',
    );

    world.listError = undefined;
    world.staleVersion.set('arc-westus2-0002', '1.29.0');
    const stale = await world.run(scenario(`  - expect: { metadata: arc-westus2-0002 }\n`));
    expect(stale.report.steps[0]?.detail).toBe(
      'expected projection metadata equal to the cluster state of arc-westus2-0002\n' +
        'observed arc-westus2-0002.kubernetesVersion "1.29.0" (cluster: "1.30.4")',
    );
  });

  it('resolves expectation targets as the gateway does, and refuses targets that match nothing', async () => {
    const world = new World(NAMES);
    const ok = await world.run(
      scenario(`  - expect: { selector: { location: eastus }, connectivityStatus: Connected }\n`),
    );
    expect(ok.report.steps[0]?.detail).toBe('5 clusters Connected: yes after 0ms (0.0 s real)');

    const none = await world.run(
      scenario(`  - expect: { selector: { location: mars }, connectivityStatus: Connected }\n`),
    );
    expect(none.report).toMatchObject({ passed: false, failedStep: 1 });
    expect(none.report.steps[0]?.detail).toBe(
      'the targets {"selector":{"location":"mars"}} match no cluster',
    );
  });

  it('fails a step whose gateway call or fleet action fails, with the error', async () => {
    const world = new World(NAMES);
    world.gatewayError = new Error('egress gateway: 400 InvalidParameter no such cluster');
    const cut = await world.run(scenario(`  - cut: { cluster: arc-westus2-0001 }\n`));
    expect(cut.report).toMatchObject({ passed: false, failedStep: 1 });
    expect(cut.report.steps[0]?.detail).toBe('egress gateway: 400 InvalidParameter no such cluster');

    world.restartError = new Error('hub was stopped but not started again within 120 s');
    const restart = await world.run(scenario(`  - kill: hub\n  - restart: hub\n  - kill: hub\n`));
    expect(restart.report).toMatchObject({ passed: false, failedStep: 2 });
    expect(restart.report.steps.map((s) => s.ok)).toEqual([true, false]);
  });
});

describe('formatStep and formatSummary', () => {
  const passed: StepResult = {
    index: 3,
    step: 'kill hub',
    ok: true,
    realMs: 1234,
    detail: 'killed hub (pid 7)',
  };
  const failed: StepResult = {
    index: 12,
    step: 'expect cluster=a connectivityStatus=Offline within=3m',
    ok: false,
    realMs: 3000,
    detail: 'expected a Offline within 3m (3.0 s real)\nobserved a Connected\n',
  };

  it('puts a step on one line with a mark, its number and real seconds, and the detail indented', () => {
    expect(formatStep(passed)).toBe('  ✓  3  kill hub  (1.2 s)\n        killed hub (pid 7)');
    expect(formatStep(failed)).toBe(
      '  ✗ 12  expect cluster=a connectivityStatus=Offline within=3m  (3.0 s)\n' +
        '        expected a Offline within 3m (3.0 s real)\n' +
        '        observed a Connected',
    );
    expect(formatStep({ ...passed, detail: '' })).toBe('  ✓  3  kill hub  (1.2 s)');
  });

  it('sums a run up as PASSED, or FAILED at the step that failed', () => {
    const base = { scenario: 'cut', fleet: 'f', steps: [passed] };
    expect(formatSummary({ ...base, passed: true, realMs: 65_432 }, 9)).toBe(
      'scenario "cut": PASSED, 9 steps in 65.4 s',
    );
    expect(formatSummary({ ...base, passed: false, failedStep: 4, realMs: 2_000 }, 9)).toBe(
      'scenario "cut": FAILED at step 4 of 9 (3 passed) after 2.0 s',
    );
  });
});
