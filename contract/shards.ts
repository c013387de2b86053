/**
 * Shards: how a large fleet's clusters are split over processes. Each shard has its own egress gateway
 * and one process per agent kind; a cluster belongs to exactly one shard, chosen from its name alone,
 * so every process (the agents, the apiserver, the CLI) agrees without asking anyone.
 *
 *   shardOf('arc-eastus-0042', 4)      → 0..3, stable across processes and restarts
 *   parseShard('2/4')                  → { index: 2, count: 4 }     (ARCFLEET_SHARD of one shard's process)
 *   parseShard('ordinal/4', 'metrics-agent-3') → { index: 3, count: 4 }  (a StatefulSet pod)
 *   parseShard('all/4')                → { index: undefined, count: 4 } (serves every shard: kube-apiserver)
 */

/** Which shard a process serves (`index` undefined: all of them) out of `count`. */
export interface Shard {
  readonly index: number | undefined;
  readonly count: number;
}

/** A fleet that is not sharded: one shard, which every process serves. */
export const SINGLE_SHARD: Shard = Object.freeze({ index: 0, count: 1 });

/** Most shards a fleet may have. */
export const MAX_SHARDS = 1024;

/** FNV-1a (32 bit) of the lowercased name: cheap, and stable across Node versions and machines. */
function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The shard a cluster belongs to (names are case-insensitive, like ARM's). */
export function shardOf(cluster: string, count: number): number {
  return count <= 1 ? 0 : fnv1a32(cluster.toLowerCase()) % count;
}

/** Whether a process serving `shard` hosts `cluster`. */
export function inShard(cluster: string, shard: Shard): boolean {
  return shard.index === undefined || shard.count <= 1 || shardOf(cluster, shard.count) === shard.index;
}

/**
 * `<index>/<count>`, `ordinal/<count>` (the index is the trailing `-<n>` of `hostname`: a StatefulSet
 * pod's ordinal) or `all/<count>`. Returns the shard, or why the value is refused.
 */
export function parseShard(value: string, hostname = ''): Shard | { readonly error: string } {
  const m = /^(\d+|ordinal|all)\/(\d+)$/.exec(value.trim());
  if (!m) return { error: `"${value}" is not <index>/<count>, ordinal/<count> or all/<count>` };
  const count = Number(m[2]);
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS)
    return { error: `the shard count must be 1 to ${MAX_SHARDS} (got ${m[2]})` };
  if (m[1] === 'all') return { index: undefined, count };
  let index: number;
  if (m[1] === 'ordinal') {
    const o = /-(\d+)$/.exec(hostname);
    if (!o) return { error: `ordinal/<count> needs a hostname ending in -<n> (got "${hostname}")` };
    index = Number(o[1]);
  } else index = Number(m[1]);
  if (index >= count) return { error: `shard index ${index} is not below the count ${count}` };
  return { index, count };
}

/** `{shard}` in a URL template (e.g. an egress gateway per shard) replaced by the shard's index. */
export function shardUrl(template: string, shard: Shard): string {
  return template.replaceAll('{shard}', String(shard.index ?? 0));
}
