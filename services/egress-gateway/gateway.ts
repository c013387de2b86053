/**
 * The gateway's behaviour: the rule table, applied to live connections whenever a cluster's effective
 * mode changes (API calls, flap phases, expiries). Sockets live in proxy.ts, HTTP in api.ts.
 */
import type { Clock, TimerHandle } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { RuleTable, type Effective, type Mode, type ModeKind, type Rule } from './rules.js';
import { selectTargets, type ClusterLabels, type Targets } from '../../contract/index.js';

export interface ConnectionSink {
  apply(cluster: string, mode: Effective): number;
  connectionCount(cluster: string): number;
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
  readonly mode: Mode;
  readonly effective: Effective;
  readonly since: string;
  readonly until?: string | undefined;
  readonly connections: number;
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

  effective(cluster: string): Effective {
    return this.rules.effective(cluster, this.deps.clock.now());
  }

  /** Applies every effective-mode change to the live connections. */
  tick(): void {
    for (const { cluster, effective } of this.rules.changes(this.deps.clock.now())) {
      const n = this.sink?.apply(cluster, effective) ?? 0;
      this.deps.logger.info(
        { event: 'egress.mode_applied', cluster, mode: effective.kind, connections: n },
        `${cluster}: ${effective.kind}`,
      );
    }
  }

  setMode(clusters: readonly string[], mode: Mode, forMs?: number): RuleView[] {
    const now = this.deps.clock.now();
    for (const c of clusters) this.rules.set(c, mode, now, forMs);
    this.tick();
    return clusters.map((c) => this.view(c));
  }

  restore(clusters: readonly string[] | 'all'): string[] {
    const names =
      clusters === 'all' ? this.rules.restoreAll() : clusters.filter((c) => this.rules.restore(c));
    this.tick();
    return names;
  }

  async select(targets: Targets): Promise<string[]> {
    if ('clusters' in targets) return selectTargets([], targets);
    return selectTargets(await this.deps.clusters(), targets);
  }

  view(cluster: string): RuleView {
    const rule: Rule | undefined = this.rules.get(cluster);
    const now = this.deps.clock.now();
    return {
      cluster: rule?.cluster ?? cluster,
      mode: rule?.mode ?? { kind: 'open' },
      effective: this.rules.effective(cluster, now),
      since: new Date(rule?.since ?? now).toISOString(),
      ...(rule?.until === undefined ? {} : { until: new Date(rule.until).toISOString() }),
      connections: this.sink?.connectionCount(cluster) ?? 0,
    };
  }

  list(): RuleView[] {
    return this.rules.list().map((r) => this.view(r.cluster));
  }

  rulesByMode(): Map<ModeKind, number> {
    const m = new Map<ModeKind, number>();
    for (const r of this.rules.list()) m.set(r.mode.kind, (m.get(r.mode.kind) ?? 0) + 1);
    return m;
  }
}
