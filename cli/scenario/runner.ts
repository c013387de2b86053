/**
 * Runs a chaos scenario (scenario.ts) against a fleet: its own (started by `arcfleet chaos run` when
 * none is running) or a running one found through `<dataDir>/fleet.json`. Steps run in order; the
 * first failed expectation stops the run. Every step yields a result line, and a failure says what
 * was expected, what was observed and for how long it was awaited, in simulated and real time.
 */
import {
  type ConnectedCluster,
  metadataOf,
  type ClusterState,
  ArcError,
  ERROR_CODES,
  selectTargets,
  type ClusterLabels,
  AGENT_NAMES,
} from '../../contract/index.js';
import { callGateways } from '../../fleet/clients/egress-gateway.js';
import { connectCommand, deleteCommand } from '../commands/cluster.js';
import { scaleCommand, setAgentsCommand, upgradeCommand } from '../commands/cluster-changes.js';
import type { FleetContext } from '../context.js';
import { mapLimit } from '../../platform/limit.js';
import { delay as sleep } from '../../platform/wait.js';
import { countStatuses, formatCounts } from '../../fleet/progress.js';
import { clusterConnectCheck } from './probes.js';
import { agentVersionCheck, agentVersionsCheck, publishStep, updateStep, type Check } from './rollout.js';
import {
  describeStep,
  evalDuration,
  formatSim,
  gatewayReach,
  gatewayTargets,
  type FleetTimings,
  type Scenario,
  type ScenarioService,
  type ScenarioStep,
  type StepTargets,
} from './scenario.js';

/** What a scenario acts on. */
export interface ScenarioFleet {
  /** "its own fleet of 10 in /tmp/x" or "the running fleet in .arcfleet". */
  readonly description: string;
  readonly ctx: FleetContext;
  /** Every egress gateway's control API (one per shard), comma-separated. */
  readonly gatewayUrl: string;
  /** SIGKILL, as a crash: the launcher's supervisor restarts the service. */
  kill(service: ScenarioService): Promise<string>;
  /** Stop and start again; resolves once the service is back. */
  restart(service: ScenarioService): Promise<string>;
}

export interface StepResult {
  readonly index: number;
  readonly step: string;
  readonly ok: boolean;
  readonly realMs: number;
  /** What the step did, or for a failure what was expected and observed. */
  readonly detail: string;
}

export interface ScenarioReport {
  readonly scenario: string;
  readonly fleet: string;
  readonly passed: boolean;
  readonly steps: StepResult[];
  readonly failedStep?: number;
  readonly realMs: number;
}

/**
 * What the runner needs besides the fleet: the egress gateway's control API and real time. The
 * defaults are the real ones; unit tests pass fakes (a recorded gateway, a fake clock).
 */
export interface RunnerDeps {
  readonly callGateway: (base: string, method: string, path: string, body?: unknown) => Promise<unknown>;
  /** Real epoch ms. */
  readonly now: () => number;
  /** Waits real ms. */
  readonly sleep: (ms: number) => Promise<unknown>;
}

const REAL_DEPS: RunnerDeps = {
  callGateway: (base, method, path, body) => callGateways(base.split(','), method, path, body),
  now: () => Date.now(),
  sleep,
};

class ExpectationFailed extends Error {}

const PROBE_INTERVAL_MS = 200;

export async function runScenario(
  scenario: Scenario,
  fleet: ScenarioFleet,
  onStep: (r: StepResult) => void = () => undefined,
  deps: Partial<RunnerDeps> = {},
): Promise<ScenarioReport> {
  const d: RunnerDeps = { ...REAL_DEPS, ...deps };
  const started = d.now();
  const summary = await fleet.ctx.client.summary();
  const timeScale = summary.timeScale;
  const timings: FleetTimings = summary.timings;
  const results: StepResult[] = [];
  const runner = new StepRunner(fleet, timeScale, timings, d);
  let failedStep: number | undefined;
  for (const [i, step] of scenario.steps.entries()) {
    const t0 = d.now();
    let result: StepResult;
    try {
      const detail = await runner.run(step);
      result = { index: i + 1, step: describeStep(step), ok: true, realMs: d.now() - t0, detail };
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      result = { index: i + 1, step: describeStep(step), ok: false, realMs: d.now() - t0, detail };
    }
    results.push(result);
    onStep(result);
    if (!result.ok) {
      failedStep = i + 1;
      break;
    }
  }
  return {
    scenario: scenario.name,
    fleet: fleet.description,
    passed: failedStep === undefined,
    steps: results,
    ...(failedStep === undefined ? {} : { failedStep }),
    realMs: d.now() - started,
  };
}

class StepRunner {
  private labels: ClusterLabels[] | undefined;

  constructor(
    private readonly fleet: ScenarioFleet,
    private readonly timeScale: number,
    private readonly timings: FleetTimings,
    private readonly deps: RunnerDeps,
  ) {}

  private simMs(expr: string): number {
    return evalDuration(expr, this.timings);
  }

  private realMs(simMs: number): number {
    return simMs / this.timeScale;
  }

  /** "20m (20.0 s real)". */
  private span(simMs: number): string {
    return `${formatSim(simMs)} (${(this.realMs(simMs) / 1000).toFixed(1)} s real)`;
  }

  async run(step: ScenarioStep): Promise<string> {
    const { ctx } = this.fleet;
    if ('cut' in step) {
      const c = step.cut;
      return this.chaos({
        action: 'cut',
        mode: c.mode,
        targets: gatewayTargets(c),
        ...gatewayReach(c),
        ...this.forOf(c.for),
      });
    }
    if ('restore' in step) {
      if (step.restore === 'all') return this.chaos({ action: 'restore', targets: { all: true } });
      return this.chaos({
        action: 'restore',
        targets: gatewayTargets(step.restore),
        ...gatewayReach(step.restore),
      });
    }
    if ('latency' in step) {
      const l = step.latency;
      return this.chaos({
        action: 'latency',
        latencyMs: l.latencyMs,
        jitterMs: l.jitterMs,
        targets: gatewayTargets(l),
        ...gatewayReach(l),
        ...this.forOf(l.for),
      });
    }
    if ('bandwidth' in step) {
      const b = step.bandwidth;
      return this.chaos({
        action: 'bandwidth',
        bytesPerSecond: b.bytesPerSecond,
        targets: gatewayTargets(b),
        ...gatewayReach(b),
        ...this.forOf(b.for),
      });
    }
    if ('flap' in step) {
      const f = step.flap;
      return this.chaos({
        action: 'flap',
        mode: f.mode,
        cut: `${this.simMs(f.cut)}ms`,
        open: `${this.simMs(f.open)}ms`,
        targets: gatewayTargets(f),
        ...gatewayReach(f),
        ...this.forOf(f.for),
      });
    }
    if ('wait' in step) {
      const ms = this.simMs(step.wait);
      await this.deps.sleep(this.realMs(ms));
      return `waited ${this.span(ms)}`;
    }
    if ('kill' in step) return this.fleet.kill(step.kill);
    if ('restart' in step) return this.fleet.restart(step.restart);
    if ('delete' in step) return deleteCommand(ctx, step.delete);
    if ('connect' in step) return connectCommand(ctx, step.connect);
    if ('publish' in step) return publishStep(ctx, step.publish);
    if ('update' in step) return updateStep(ctx, await this.resolve(step.update), step.update.autoUpgrade);
    if ('change' in step) {
      const c = step.change;
      const out: string[] = [];
      if (c.kubernetesVersion !== undefined)
        out.push(await upgradeCommand(ctx, c.cluster, c.kubernetesVersion));
      if (c.nodePool !== undefined && c.count !== undefined)
        out.push(await scaleCommand(ctx, c.cluster, c.nodePool, c.count));
      if (c.stopAgents !== undefined)
        out.push(await setAgentsCommand(ctx, c.cluster, [...AGENT_NAMES], c.stopAgents));
      return out.join('; ');
    }
    return this.expect(step.expect);
  }

  private forOf(expr: string | undefined): { for?: string } {
    return expr === undefined ? {} : { for: `${this.simMs(expr)}ms` };
  }

  private async chaos(body: Record<string, unknown>): Promise<string> {
    const res = (await this.deps.callGateway(this.fleet.gatewayUrl, 'POST', '/v1/chaos', body)) as {
      clusters?: string[];
    };
    const clusters = res.clusters ?? [];
    const shown = clusters.length > 8 ? `${clusters.slice(0, 8).join(', ')}, ...` : clusters.join(', ');
    return `${String(body.action)}: ${clusters.length} cluster(s)${shown ? ` (${shown})` : ''}`;
  }

  private async expect(e: Extract<ScenarioStep, { expect: unknown }>['expect']): Promise<string> {
    let check: () => Promise<Check>;
    let expected: string;
    if ('counts' in e) {
      const total = (await this.fleet.ctx.store.list()).length;
      const want = Object.fromEntries(
        Object.entries(e.counts).map(([s, n]) => [s, n === 'all' ? total : (n as number)]),
      );
      expected = `counts ${Object.entries(want)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ')}`;
      check = async () => {
        const counts = countStatuses(await this.list());
        return {
          ok: Object.entries(want).every(([s, n]) => (counts[s] ?? 0) === n),
          observed: formatCounts(counts, total),
        };
      };
    } else if ('clusterConnect' in e) {
      const want = { status: e.status, ...(e.reason === undefined ? {} : { reason: e.reason }) };
      expected = `cluster connect to ${e.clusterConnect} answering ${e.status}${e.reason ? ` ${e.reason}` : ''}`;
      check = async () => clusterConnectCheck(this.fleet.ctx, e.clusterConnect, want);
    } else if ('agentVersions' in e) {
      const total = (await this.fleet.ctx.store.list()).length;
      expected = `agent versions ${Object.entries(e.agentVersions)
        .map(([v, n]) => `${v} ${n === 'all' ? total : n}`)
        .join(', ')}`;
      check = async () => agentVersionsCheck(this.fleet.ctx, await this.list(), e.agentVersions, total);
    } else if ('agentVersion' in e) {
      const names = await this.resolve(e);
      expected = `${names.length === 1 ? names[0] : `${names.length} clusters`} at agent version ${e.agentVersion}`;
      check = async () => agentVersionCheck(this.fleet.ctx, await this.list(), names, e.agentVersion);
    } else if ('metadata' in e) {
      const names = e.metadata === 'all' ? await this.fleet.ctx.store.list() : [e.metadata];
      expected = `projection metadata equal to the cluster state of ${e.metadata === 'all' ? `all ${names.length} clusters` : e.metadata}`;
      check = async () => this.checkMetadata(names);
    } else {
      const names = await this.resolve(e);
      if (names.length === 0)
        throw new ExpectationFailed(`the targets ${JSON.stringify(gatewayTargets(e))} match no cluster`);
      expected = `${names.length === 1 ? names[0] : `${names.length} clusters`} ${e.connectivityStatus}`;
      check = async () => {
        const byName = new Map((await this.list()).map((c) => [c.name.toLowerCase(), c]));
        const wrong = names
          .map((n) => ({ n, c: byName.get(n.toLowerCase()) }))
          .filter(({ c }) => c?.properties.connectivityStatus !== e.connectivityStatus);
        const shown = wrong
          .slice(0, 5)
          .map(({ n, c }) =>
            c
              ? `${n} ${c.properties.connectivityStatus} (lastConnectivityTime ${c.properties.lastConnectivityTime ?? '-'})`
              : `${n} not listed`,
          );
        return {
          ok: wrong.length === 0,
          observed:
            wrong.length === 0
              ? `all ${e.connectivityStatus}`
              : `${shown.join('; ')}${wrong.length > 5 ? `; and ${wrong.length - 5} more` : ''}`,
        };
      };
    }
    if (e.holdsFor !== undefined) return this.holds(expected, check, this.simMs(e.holdsFor));
    return this.within(expected, check, e.within === undefined ? 0 : this.simMs(e.within));
  }

  /** Polls until the check passes or `simMs` has passed (one probe at least). */
  private async within(expected: string, check: () => Promise<Check>, simMs: number): Promise<string> {
    const t0 = this.deps.now();
    const deadline = t0 + this.realMs(simMs);
    let last: string;
    for (;;) {
      try {
        const r = await check();
        if (r.ok) return `${expected}: yes after ${this.span((this.deps.now() - t0) * this.timeScale)}`;
        last = r.observed;
      } catch (err) {
        last = `error: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (this.deps.now() >= deadline) break;
      await this.deps.sleep(Math.min(PROBE_INTERVAL_MS, Math.max(0, deadline - this.deps.now())));
    }
    throw new ExpectationFailed(
      `expected ${expected}${simMs > 0 ? ` within ${this.span(simMs)}` : ''}\n` + `observed ${last}`,
    );
  }

  /** The check must pass on every probe for `simMs`. */
  private async holds(expected: string, check: () => Promise<Check>, simMs: number): Promise<string> {
    const t0 = this.deps.now();
    const end = t0 + this.realMs(simMs);
    for (;;) {
      let r: Check;
      try {
        r = await check();
      } catch (err) {
        r = { ok: false, observed: `error: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (!r.ok)
        throw new ExpectationFailed(
          `expected ${expected} throughout ${this.span(simMs)}\n` +
            `observed ${r.observed} after ${this.span((this.deps.now() - t0) * this.timeScale)}`,
        );
      if (this.deps.now() >= end) return `${expected}: held for ${this.span(simMs)}`;
      await this.deps.sleep(Math.min(PROBE_INTERVAL_MS, Math.max(0, end - this.deps.now())));
    }
  }

  private async list(): Promise<ConnectedCluster[]> {
    return (await this.fleet.ctx.client.listClusters(this.fleet.ctx.subscriptionId)).value;
  }

  private async states(names: readonly string[]): Promise<ClusterState[]> {
    const states = await mapLimit(names, 32, (n) => this.fleet.ctx.store.readState(n));
    return states.filter((s): s is ClusterState => s !== undefined);
  }

  /** The same clusters the gateway picks for these targets. */
  private async resolve(t: StepTargets): Promise<string[]> {
    if (t.cluster !== undefined) return [t.cluster];
    if (t.clusters !== undefined) return t.clusters;
    this.labels ??= await this.states(await this.fleet.ctx.store.list());
    const targets = gatewayTargets(t) as Parameters<typeof selectTargets>[1];
    return selectTargets(this.labels, targets);
  }

  private async checkMetadata(names: readonly string[]): Promise<Check> {
    const states = await this.states(names);
    if (states.length !== names.length)
      throw new ArcError(ERROR_CODES.NotFound, 'a cluster is not in the store');
    const byName = new Map((await this.list()).map((c) => [c.name.toLowerCase(), c]));
    const diffs: string[] = [];
    for (const state of states) {
      const p = byName.get(state.name.toLowerCase())?.properties as Record<string, unknown> | undefined;
      if (!p) {
        diffs.push(`${state.name} not listed`);
        continue;
      }
      for (const [field, want] of Object.entries(metadataOf(state))) {
        if (p[field] !== want)
          diffs.push(`${state.name}.${field} ${JSON.stringify(p[field])} (cluster: ${JSON.stringify(want)})`);
      }
    }
    return {
      ok: diffs.length === 0,
      observed:
        diffs.length === 0
          ? 'equal'
          : `${diffs.slice(0, 6).join('; ')}${diffs.length > 6 ? `; and ${diffs.length - 6} more` : ''}`,
    };
  }
}

/** The report as text: a line per step, details of a failure, and a summary line. */
export function formatStep(r: StepResult): string {
  const head = `  ${r.ok ? '✓' : '✗'} ${String(r.index).padStart(2)}  ${r.step}  (${(r.realMs / 1000).toFixed(1)} s)`;
  const detail = r.detail
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => `        ${l}`)
    .join('\n');
  return detail ? `${head}\n${detail}` : head;
}

export function formatSummary(report: ScenarioReport, totalSteps: number): string {
  const secs = (report.realMs / 1000).toFixed(1);
  return report.passed
    ? `scenario "${report.scenario}": PASSED, ${totalSteps} steps in ${secs} s`
    : `scenario "${report.scenario}": FAILED at step ${report.failedStep} of ${totalSteps} (${(report.failedStep ?? 1) - 1} passed) after ${secs} s`;
}
