/**
 * The gateway's rule table: each cluster's mode, changeable at run time, with optional expiry and
 * flap schedules. Target selection is shared (contract/targets.ts: the CLI's scenario runner resolves
 * targets the same way). Pure: time is a number passed in (simulated ms), no sockets.
 */

/** What a connection experiences right now. */
export type Effective =
  | { readonly kind: 'open' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'reject' }
  | { readonly kind: 'latency'; readonly latencyMs: number; readonly jitterMs: number }
  | { readonly kind: 'bandwidth'; readonly bytesPerSecond: number };

/** A rule as set by the API. `flap` alternates `cutMode` (for `cutMs`) and open (for `openMs`). */
export type Mode =
  | Effective
  | {
      readonly kind: 'flap';
      readonly cutMs: number;
      readonly openMs: number;
      readonly cutMode: 'drop' | 'reject';
    };

export type ModeKind = Mode['kind'];
export const MODE_KINDS: readonly ModeKind[] = ['open', 'drop', 'reject', 'latency', 'bandwidth', 'flap'];
export type EffectiveKind = Effective['kind'];
export const EFFECTIVE_KINDS: readonly EffectiveKind[] = ['open', 'drop', 'reject', 'latency', 'bandwidth'];

export interface Rule {
  readonly cluster: string;
  /**
   * The agent whose connections the rule governs (an endpoint class is its agents:
   * contract/endpoints.ts); undefined: every connection of the cluster. An agent's rule wins over the
   * cluster's.
   */
  readonly agent?: string | undefined;
  readonly mode: Mode;
  /** Simulated ms when the rule was set (flap phases count from here). */
  readonly since: number;
  /** Simulated ms when the rule lapses back to open. */
  readonly until?: number | undefined;
}

const OPEN: Effective = Object.freeze({ kind: 'open' });

/** The effective mode of a rule at `now` (simulated ms). */
export function effectiveAt(rule: Rule | undefined, now: number): Effective {
  if (!rule || (rule.until !== undefined && now >= rule.until)) return OPEN;
  const m = rule.mode;
  if (m.kind !== 'flap') return m;
  const phase = (now - rule.since) % (m.cutMs + m.openMs);
  return phase < m.cutMs ? { kind: m.cutMode } : OPEN;
}

export function sameEffective(a: Effective, b: Effective): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `<cluster>/<agent>`, lower-cased (ARM names are case-insensitive); `*` for the whole cluster. */
function keyOf(cluster: string, agent: string | undefined): string {
  return `${cluster.toLowerCase()}/${agent ?? '*'}`;
}

function clusterOfKey(key: string): string {
  return key.slice(0, key.lastIndexOf('/'));
}

/** Rules per cluster and per (cluster, agent). */
export class RuleTable {
  private readonly rules = new Map<string, Rule>();
  private readonly last = new Map<string, Effective>();

  set(cluster: string, mode: Mode, now: number, forMs?: number, agent?: string): Rule {
    const key = keyOf(cluster, agent);
    const rule: Rule = {
      cluster,
      ...(agent === undefined ? {} : { agent }),
      mode,
      since: now,
      until: forMs === undefined ? undefined : now + forMs,
    };
    // Open for good on the whole cluster is no rule; an agent's open rule overrides the cluster's.
    if (mode.kind === 'open' && forMs === undefined && agent === undefined) this.rules.delete(key);
    else this.rules.set(key, rule);
    return rule;
  }

  /** Removes the cluster's rules (only those of `agents` when given); true when one existed. */
  restore(cluster: string, agents?: readonly string[]): boolean {
    const prefix = `${cluster.toLowerCase()}/`;
    let removed = false;
    for (const key of [...this.rules.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const agent = key.slice(prefix.length);
      if (agents !== undefined && !agents.includes(agent)) continue;
      removed = this.rules.delete(key) || removed;
    }
    return removed;
  }

  restoreAll(): string[] {
    const names = [...new Set([...this.rules.values()].map((r) => r.cluster))];
    this.rules.clear();
    return names;
  }

  /** The rule set exactly for (cluster, agent); undefined agent: the cluster-wide one. */
  get(cluster: string, agent?: string): Rule | undefined {
    return this.rules.get(keyOf(cluster, agent));
  }

  /** The rule a connection of `agent` follows: its own, else the cluster's. */
  ruleFor(cluster: string, agent: string | undefined): Rule | undefined {
    return (agent === undefined ? undefined : this.get(cluster, agent)) ?? this.get(cluster);
  }

  effective(cluster: string, now: number, agent?: string): Effective {
    return effectiveAt(this.ruleFor(cluster, agent), now);
  }

  list(): Rule[] {
    return [...this.rules.values()].sort(
      (a, b) => a.cluster.localeCompare(b.cluster) || (a.agent ?? '').localeCompare(b.agent ?? ''),
    );
  }

  /** The cluster's rules, its own first. */
  of(cluster: string): Rule[] {
    const prefix = `${cluster.toLowerCase()}/`;
    return this.list().filter((r) => keyOf(r.cluster, r.agent).startsWith(prefix));
  }

  /**
   * Rules whose effective mode changed since the previous call (flap phases, expiries, API changes),
   * with the new mode. Lapsed rules are removed.
   */
  changes(now: number): { cluster: string; agent?: string; effective: Effective }[] {
    const out: { cluster: string; agent?: string; effective: Effective }[] = [];
    const seen = new Set<string>();
    for (const [key, rule] of this.rules) {
      seen.add(key);
      const eff = effectiveAt(rule, now);
      if (rule.until !== undefined && now >= rule.until) this.rules.delete(key);
      const prev = this.last.get(key) ?? OPEN;
      if (!sameEffective(prev, eff))
        out.push({
          cluster: rule.cluster,
          ...(rule.agent === undefined ? {} : { agent: rule.agent }),
          effective: eff,
        });
      if (eff.kind === 'open') this.last.delete(key);
      else this.last.set(key, eff);
    }
    for (const key of [...this.last.keys()]) {
      if (seen.has(key)) continue;
      this.last.delete(key);
      const agent = key.slice(key.lastIndexOf('/') + 1);
      out.push({ cluster: clusterOfKey(key), ...(agent === '*' ? {} : { agent }), effective: OPEN });
    }
    return out;
  }
}
