/**
 * The gateway's behaviour: the rule table, applied to live connections whenever a cluster's effective
 * mode changes (API calls, flap phases, expiries). Sockets live in proxy.ts, HTTP in api.ts.
 */
import type { Clock, TimerHandle } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { RuleTable, effectiveAt, type Effective, type Mode, type ModeKind, type Rule } from './rules.js';
import { selectTargets, type ClusterLabels, type Targets } from '../../contract/index.js';

export interface ConnectionSink {
  /** Gives each connection of `cluster` the mode of its agent; returns how many there were. */
  apply(cluster: string, modeOf: (agent: string | undefined) => Effective): number;
  connectionCount(cluster: string, agent?: string): number;
}

export interface GatewayDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Labels of the clusters in the cluster store (for selectors and percentages). */
  readonly clusters: () => Promise<ClusterLabels[]>;
  /** Simulated ms between checks of flap phases and expiries. */
  readonly tickMs: number;
}

export interface RuleView {
  readonly cluster: string;
  /** The agent the rule is for; absent: the whole cluster. */
  readonly agent?: string | undefined;
  readonly mode: Mode;
  readonly effective: Effective;
  readonly since: string;
  readonly until?: string | undefined;
  readonly connections: number;
  /** On a cluster's view: its agents' own rules. */
  readonly agents?: readonly RuleView[] | undefined;
}

export class Gateway {
  readonly rules = new RuleTable();
  private sink: ConnectionSink | undefined;
  private timer: TimerHandle | undefined;

  constructor(private readonly deps: GatewayDeps) {}

  attach(sink: ConnectionSink): void {
    this.sink = sink;
  }

  start(): void {
    this.timer ??= this.deps.clock.setInterval(() => this.tick(), this.deps.tickMs);
  }

  stop(): void {
    if (this.timer) this.deps.clock.clear(this.timer);
    this.timer = undefined;
  }

  /** What a new connection of `agent` to `cluster` gets now. */
  effective(cluster: string, agent?: string): Effective {
    return this.rules.effective(cluster, this.deps.clock.now(), agent);
  }

  /** Applies every effective-mode change to the live connections. */
  tick(): void {
    const now = this.deps.clock.now();
    for (const { cluster, agent, effective } of this.rules.changes(now)) {
      const n = this.sink?.apply(cluster, (a) => this.rules.effective(cluster, now, a)) ?? 0;
      this.deps.logger.info(
        { event: 'egress.mode_applied', cluster, agent, mode: effective.kind, connections: n },
        `${cluster}${agent === undefined ? '' : `/${agent}`}: ${effective.kind}`,
      );
    }
  }

  /** Sets `mode` on each cluster, or only on the connections of `agents` when given. */
  setMode(clusters: readonly string[], mode: Mode, forMs?: number, agents?: readonly string[]): RuleView[] {
    const now = this.deps.clock.now();
    for (const c of clusters)
      if (agents === undefined) this.rules.set(c, mode, now, forMs);
      else for (const a of agents) this.rules.set(c, mode, now, forMs, a);
    this.tick();
    return clusters.map((c) => this.view(c));
  }

  /** Removes the clusters' rules (only those of `agents` when given); returns the clusters that had one. */
  restore(clusters: readonly string[] | 'all', agents?: readonly string[]): string[] {
    const names =
      clusters === 'all' ? this.rules.restoreAll() : clusters.filter((c) => this.rules.restore(c, agents));
    this.tick();
    return names;
  }

  async select(targets: Targets): Promise<string[]> {
    if ('clusters' in targets) return selectTargets([], targets);
    return selectTargets(await this.deps.clusters(), targets);
  }

  /** The cluster's own rule (or open) with its agents' rules; with `agent`, that agent's rule alone. */
  view(cluster: string, agent?: string): RuleView {
    const rule: Rule | undefined = this.rules.get(cluster, agent);
    const now = this.deps.clock.now();
    const agents = agent === undefined ? this.rules.of(cluster).filter((r) => r.agent !== undefined) : [];
    return {
      cluster: rule?.cluster ?? cluster,
      ...(agent === undefined ? {} : { agent }),
      mode: rule?.mode ?? { kind: 'open' },
      effective: effectiveAt(rule, now),
      since: new Date(rule?.since ?? now).toISOString(),
      ...(rule?.until === undefined ? {} : { until: new Date(rule.until).toISOString() }),
      connections: this.sink?.connectionCount(cluster, agent) ?? 0,
      ...(agents.length === 0 ? {} : { agents: agents.map((r) => this.view(r.cluster, r.agent)) }),
    };
  }

  /** One view per rule. */
  list(): RuleView[] {
    return this.rules.list().map((r) => {
      const { agents: _agents, ...own } = this.view(r.cluster, r.agent);
      return own;
    });
  }

  rulesByMode(): Map<ModeKind, number> {
    const m = new Map<ModeKind, number>();
    for (const r of this.rules.list()) m.set(r.mode.kind, (m.get(r.mode.kind) ?? 0) + 1);
    return m;
  }
}
