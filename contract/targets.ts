/**
 * Chaos target selection, shared by the egress gateway (which applies rules to the clusters chosen)
 * and the CLI's scenario runner (which checks what happened to those same clusters): names, a label
 * selector, or a seeded random percentage (same seed and fleet, same clusters). Pure.
 */
import { createHash } from 'node:crypto';

export interface ClusterLabels {
  readonly name: string;
  readonly location: string;
  readonly distribution: string;
  readonly infrastructure: string;
}

export const SELECTOR_KEYS = ['location', 'distribution', 'infrastructure'] as const;
export type SelectorKey = (typeof SELECTOR_KEYS)[number];

export type Targets =
  | { readonly clusters: readonly string[] }
  | { readonly selector: Readonly<Partial<Record<SelectorKey, string>>> }
  | { readonly percent: number; readonly seed: number };

/** The clusters a target designates, sorted by name. Names not in `known` are kept (rules may precede clusters). */
export function selectTargets(known: readonly ClusterLabels[], targets: Targets): string[] {
  if ('clusters' in targets) return [...new Set(targets.clusters)].sort();
  if ('selector' in targets) {
    const entries = Object.entries(targets.selector) as [SelectorKey, string][];
    return known
      .filter((c) => entries.every(([k, v]) => c[k].toLowerCase() === v.toLowerCase()))
      .map((c) => c.name)
      .sort();
  }
  const count = Math.round((known.length * targets.percent) / 100);
  const rank = (name: string): string =>
    createHash('sha256').update(`${targets.seed}/${name.toLowerCase()}`).digest('hex');
  return known
    .map((c) => ({ name: c.name, r: rank(c.name) }))
    .sort((a, b) => (a.r < b.r ? -1 : a.r > b.r ? 1 : 0))
    .slice(0, count)
    .map((c) => c.name)
    .sort();
}

/** `location=eastus` → `{location: 'eastus'}`; several pairs separated by commas. */
export function parseSelector(text: string): Partial<Record<SelectorKey, string>> | string {
  const out: Partial<Record<SelectorKey, string>> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*([^\s=,]+)\s*$/.exec(part);
    if (!m) return `"${part}" is not key=value`;
    const key = m[1] as string;
    if (!(SELECTOR_KEYS as readonly string[]).includes(key))
      return `"${key}" is not one of ${SELECTOR_KEYS.join(', ')}`;
    out[key as SelectorKey] = m[2] as string;
  }
  return out;
}
