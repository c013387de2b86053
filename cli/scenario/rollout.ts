/**
 * The scenario steps of an agent release's rollout: publish a release, pin or unpin clusters
 * (`update`), and the expectations on the versions clusters report (`agentVersion` per target,
 * `agentVersions` counts). `latest` is the newest release the hub offers at the time of the check.
 */
import { compareAgentVersions, type ConnectedCluster } from '../../contract/index.js';
import { autoUpgradeCommand, publishRelease, type PublishRequest } from '../commands/agent-upgrade.js';
import type { FleetContext } from '../context.js';
import { mapLimit } from '../../platform/limit.js';

export interface Check {
  readonly ok: boolean;
  readonly observed: string;
}

export async function publishStep(ctx: FleetContext, p: PublishRequest): Promise<string> {
  return publishRelease(ctx.client, p);
}

export async function updateStep(
  ctx: FleetContext,
  names: readonly string[],
  autoUpgrade: boolean,
): Promise<string> {
  await mapLimit(names, 8, (n) => autoUpgradeCommand(ctx, n, autoUpgrade));
  return `agentAutoUpgrade ${autoUpgrade ? 'Enabled' : 'Disabled'} on ${names.length} cluster(s)`;
}

async function latest(ctx: FleetContext): Promise<string> {
  const list = await ctx.client.agentReleases();
  if (list.latest === null) throw new Error('the hub offers no agent release');
  return list.latest;
}

/** `1.22.0`, `latest`, `<latest`, `<1.22.0` → what a reported version must satisfy. */
async function versionRule(
  ctx: FleetContext,
  spec: string,
): Promise<{ text: string; ok(v: string | null): boolean }> {
  const older = spec.startsWith('<');
  const named = older ? spec.slice(1) : spec;
  const version = named === 'latest' ? await latest(ctx) : named;
  return older
    ? { text: `older than ${version}`, ok: (v) => v !== null && compareAgentVersions(v, version) < 0 }
    : { text: version, ok: (v) => v === version };
}

/** Every one of `names` reports an agent version satisfying `spec`. */
export async function agentVersionCheck(
  ctx: FleetContext,
  list: readonly ConnectedCluster[],
  names: readonly string[],
  spec: string,
): Promise<Check> {
  const rule = await versionRule(ctx, spec);
  const byName = new Map(list.map((c) => [c.name.toLowerCase(), c.properties.agentVersion ?? null]));
  const wrong = names.filter((n) => !rule.ok(byName.get(n.toLowerCase()) ?? null));
  const shown = wrong.slice(0, 5).map((n) => `${n} at ${byName.get(n.toLowerCase()) ?? '-'}`);
  return {
    ok: wrong.length === 0,
    observed:
      wrong.length === 0
        ? `all ${names.length} at ${rule.text}`
        : `${shown.join('; ')}${wrong.length > 5 ? `; and ${wrong.length - 5} more` : ''} (want ${rule.text})`,
  };
}

/** So many clusters report each version (`all`: every cluster of the fleet). */
export async function agentVersionsCheck(
  ctx: FleetContext,
  list: readonly ConnectedCluster[],
  want: Readonly<Record<string, number | 'all'>>,
  total: number,
): Promise<Check> {
  const counts = new Map<string, number>();
  for (const c of list) {
    const v = c.properties.agentVersion;
    if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const newest = Object.keys(want).includes('latest') ? await latest(ctx) : undefined;
  const pairs = Object.entries(want).map(
    ([v, n]) => [v === 'latest' ? (newest as string) : v, n === 'all' ? total : n] as const,
  );
  const observed = [...counts]
    .sort(([a], [b]) => compareAgentVersions(b, a))
    .map(([v, n]) => `${v} ${n}`)
    .join(', ');
  return {
    ok: pairs.every(([v, n]) => (counts.get(v) ?? 0) === n),
    observed: observed || 'no versions reported',
  };
}
