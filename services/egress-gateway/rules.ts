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

/** Per-cluster rules keyed by lower-case cluster name (ARM names are case-insensitive). */
export class RuleTable {
  private readonly rules = new Map<string, Rule>();
  private readonly last = new Map<string, Effective>();

  set(cluster: string, mode: Mode, now: number, forMs?: number): Rule {
    const key = cluster.toLowerCase();
    if (mode.kind === 'open' && forMs === undefined) {
      this.rules.delete(key);
      return { cluster, mode, since: now };
    }
    const rule: Rule = { cluster, mode, since: now, until: forMs === undefined ? undefined : now + forMs };
    this.rules.set(key, rule);
    return rule;
  }

  restore(cluster: string): boolean {
    return this.rules.delete(cluster.toLowerCase());
  }

  restoreAll(): string[] {
    const names = [...this.rules.values()].map((r) => r.cluster);
    this.rules.clear();
    return names;
  }

  get(cluster: string): Rule | undefined {
    return this.rules.get(cluster.toLowerCase());
  }

  effective(cluster: string, now: number): Effective {
    return effectiveAt(this.get(cluster), now);
  }

  list(): Rule[] {
    return [...this.rules.values()].sort((a, b) => a.cluster.localeCompare(b.cluster));
  }

  /**
   * Clusters whose effective mode changed since the previous call (flap phases, expiries, API
   * changes), with the new mode. Lapsed rules are removed.
   */
  changes(now: number): { cluster: string; effective: Effective }[] {
    const out: { cluster: string; effective: Effective }[] = [];
    const seen = new Set<string>();
    for (const [key, rule] of this.rules) {
      seen.add(key);
      const eff = effectiveAt(rule, now);
      if (rule.until !== undefined && now >= rule.until) this.rules.delete(key);
      const prev = this.last.get(key) ?? OPEN;
      if (!sameEffective(prev, eff)) out.push({ cluster: rule.cluster, effective: eff });
      if (eff.kind === 'open') this.last.delete(key);
      else this.last.set(key, eff);
    }
    for (const key of [...this.last.keys()]) {
      if (seen.has(key)) continue;
      this.last.delete(key);
      out.push({ cluster: key, effective: OPEN });
    }
    return out;
  }
}
