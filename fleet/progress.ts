/**
 * Fleet progress from the hub's LIST: counts per connectivityStatus, waiting until every expected
 * cluster is Connected, and transitions between polls.
 */
import { CONNECTIVITY_STATUSES, type ConnectedCluster } from '../contract/index.js';
import type { HubClient } from './clients/hub-client.js';
import { delay as sleep } from '../platform/wait.js';

export type StatusCounts = Record<string, number>;

export interface Progress {
  readonly counts: StatusCounts;
  readonly connected: number;
  readonly total: number;
  readonly elapsedMs: number;
}

export function countStatuses(
  clusters: readonly ConnectedCluster[],
  expected?: ReadonlySet<string>,
): StatusCounts {
  const counts: StatusCounts = {};
  for (const c of clusters) {
    if (expected && !expected.has(c.name.toLowerCase())) continue;
    const s = c.properties.connectivityStatus;
    counts[s] = (counts[s] ?? 0) + 1;
  }
  return counts;
}

/** `Connected 12 · Connecting 38` in the order of CONNECTIVITY_STATUSES, plus `missing` when not listed yet. */
export function formatCounts(counts: StatusCounts, total?: number): string {
  const parts: string[] = [];
  let listed = 0;
  for (const s of [
    ...CONNECTIVITY_STATUSES,
    ...Object.keys(counts).filter((k) => !CONNECTIVITY_STATUSES.includes(k as never)),
  ]) {
    const n = counts[s] ?? 0;
    listed += n;
    if (n > 0) parts.push(`${s} ${n}`);
  }
  if (total !== undefined && listed < total) parts.push(`not listed ${total - listed}`);
  return parts.length > 0 ? parts.join(' · ') : 'no clusters';
}

export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    readonly last: Progress | undefined,
  ) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

export interface WaitConnectedOptions {
  readonly client: HubClient;
  readonly subscriptionId: string;
  /** Lower-cased names that must all be Connected. */
  readonly names: ReadonlySet<string>;
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly onProgress?: (p: Progress) => void;
  /** Consulted between polls; an Error aborts the wait (e.g. a child died). */
  readonly abort?: () => Error | undefined;
}

/**
 * The hub's counts when it holds exactly as many clusters as are awaited (a fleet waiting for itself);
 * undefined when only a LIST can tell (a subset of the hub's clusters, or no summary).
 */
async function summaryCounts(opts: WaitConnectedOptions): Promise<StatusCounts | undefined> {
  try {
    const summary = await opts.client.summary();
    return summary.total === opts.names.size ? summary.connectivityStatus : undefined;
  } catch {
    return undefined;
  }
}

export async function waitAllConnected(opts: WaitConnectedOptions): Promise<Progress> {
  const start = Date.now();
  let last: Progress | undefined;
  for (;;) {
    const failed = opts.abort?.();
    if (failed) throw failed;
    const timedOut = Date.now() - start > opts.timeoutMs;
    // The summary's counts cost the hub nothing; a LIST of 10,000 clusters costs it megabytes of JSON.
    // LIST only to confirm the names once the counts say done, or for the timeout's examples.
    const summary = await summaryCounts(opts);
    let clusters: ConnectedCluster[] | undefined;
    if (summary === undefined || (summary.Connected ?? 0) >= opts.names.size || timedOut) {
      try {
        clusters = (await opts.client.listClusters(opts.subscriptionId)).value;
      } catch {
        clusters = undefined; // hub briefly unavailable: keep polling until the deadline
      }
    }
    const counts = clusters ? countStatuses(clusters, opts.names) : summary;
    if (counts) {
      last = {
        counts,
        connected: counts.Connected ?? 0,
        total: opts.names.size,
        elapsedMs: Date.now() - start,
      };
      opts.onProgress?.(last);
      if (clusters && last.connected >= opts.names.size) return last;
    }
    if (timedOut) {
      const notConnected = clusters
        ? clusters
            .filter(
              (c) => opts.names.has(c.name.toLowerCase()) && c.properties.connectivityStatus !== 'Connected',
            )
            .slice(0, 5)
            .map((c) => `${c.name} (${c.properties.connectivityStatus}, ${c.properties.provisioningState})`)
        : [];
      throw new WaitTimeoutError(
        `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for ${opts.names.size} clusters to be Connected: ` +
          `${last ? formatCounts(last.counts, last.total) : 'the hub never answered LIST'}` +
          (notConnected.length > 0 ? `; e.g. ${notConnected.join(', ')}` : ''),
        last,
      );
    }
    await sleep(opts.pollMs ?? 1000);
  }
}

export interface Transition {
  readonly name: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

/** Polls LIST until `signal` aborts, reporting every connectivityStatus change (and appear/disappear). */
export async function watchTransitions(
  client: HubClient,
  subscriptionId: string,
  onTransition: (t: Transition) => void,
  signal: AbortSignal,
  pollMs = 1000,
  onError?: (err: unknown) => void,
): Promise<void> {
  let previous: Map<string, string> | undefined;
  while (!signal.aborted) {
    try {
      const current = new Map<string, string>();
      for (const c of (await client.listClusters(subscriptionId)).value)
        current.set(c.name, c.properties.connectivityStatus);
      if (previous) {
        for (const [name, to] of current) {
          const from = previous.get(name);
          if (from !== to) onTransition({ name, from, to });
        }
        for (const [name, from] of previous)
          if (!current.has(name)) onTransition({ name, from, to: undefined });
      }
      previous = current;
    } catch (err) {
      onError?.(err);
    }
    await sleep(pollMs);
  }
}
