/**
 * `npm run bench -- --chaos [--clusters 1000]`: the whole fleet loses its egress (REJECT at the
 * gateway, so every agent connection is reset and must be re-established), goes Offline, and gets it
 * back. Measured from the restore: seconds until every cluster is Connected again, the spread of the
 * clusters' return (p50/p99/max of each cluster's Offline → Connected time, from the hub's events
 * feed) and the peak rate of new agent connections at the gateway, which shows the full-jitter
 * back-off spreading the reconnects instead of a single burst.
 */
import { callGateways } from '../fleet/clients/egress-gateway.js';
import type { FleetHandle } from '../fleet/index.js';
import { percentile } from './metrics-latency.js';

export interface ChaosBenchResult {
  readonly clusters: number;
  readonly cutToAllOfflineSeconds: number;
  readonly restoreToAllConnectedSeconds: number;
  readonly returnP50Seconds: number;
  readonly returnP99Seconds: number;
  readonly returnMaxSeconds: number;
  readonly acceptedConnections: number;
  readonly peakAcceptsPerSecond: number;
  readonly reconnectMaxMs: number;
  /** Transitions out of Connected after the restore (a cluster back, then lost again). */
  readonly relapses: number;
}

interface FleetEvent {
  seq: number;
  name: string;
  from: string;
  to: string;
  time: string;
}

async function counter(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
  let total = 0;
  for (const line of text.split('\n'))
    if (line.startsWith(`${name}{`) && line.includes(labels)) total += Number(line.split(' ').pop());
  return total;
}

async function lastSeq(hubUrl: string): Promise<number> {
  const res = await fetch(`${hubUrl}/arcfleet/v1/events?since=0&limit=1`);
  return ((await res.json()) as { lastSeq: number }).lastSeq;
}

async function eventsSince(hubUrl: string, since: number): Promise<FleetEvent[]> {
  const out: FleetEvent[] = [];
  for (let seq = since; ;) {
    const res = await fetch(`${hubUrl}/arcfleet/v1/events?since=${seq}&limit=10000`);
    const body = (await res.json()) as { events: FleetEvent[]; lastSeq: number };
    out.push(...body.events);
    if (body.events.length === 0 || seq === body.lastSeq) return out;
    seq = body.events[body.events.length - 1]?.seq ?? body.lastSeq;
  }
}

/** Polls LIST until `want` clusters have `status`; logs progress every 5 s. */
export async function waitCount(
  fleet: FleetHandle,
  status: string,
  want: number,
  timeoutMs: number,
  log: (l: string) => void = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastLog = 0;
  for (;;) {
    const n = (await fleet.list()).filter((c) => c.properties.connectivityStatus === status).length;
    if (n >= want) return;
    if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`${n}/${want} ${status}`);
    }
    if (Date.now() > deadline) throw new Error(`only ${n}/${want} ${status} after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function runChaosBench(
  fleet: FleetHandle,
  opts: { timeoutMs: number; reconnectMaxMs: number; log: (l: string) => void },
): Promise<ChaosBenchResult> {
  const { log } = opts;
  const n = fleet.clusters.length;
  // Every shard's gateway accepts its own shard's connections: the fleet's count is their sum.
  const accepted = async (): Promise<number> => {
    const each = await Promise.all(
      fleet.egressApiUrls.map((u) =>
        counter(`${u}/metrics`, 'arcfleet_egress_connections_total', 'outcome="accepted"'),
      ),
    );
    return each.reduce((a, b) => a + b, 0);
  };

  log(`cutting the egress of all ${n} clusters (reject)`);
  const cutAt = Date.now();
  await callGateways(fleet.egressApiUrls, 'POST', '/v1/chaos', {
    action: 'cut',
    mode: 'reject',
    targets: { percent: 100, seed: 1 },
  });
  await waitCount(fleet, 'Offline', n, opts.timeoutMs, log);
  const cutToAllOfflineSeconds = (Date.now() - cutAt) / 1000;

  const since = await lastSeq(fleet.hubUrl);
  const accepted0 = await accepted();
  log(`all Offline after ${cutToAllOfflineSeconds.toFixed(1)} s; restoring`);
  const restoreAt = Date.now();
  const restoreSim = fleet.clock.now();
  await callGateways(fleet.egressApiUrls, 'POST', '/v1/chaos', { action: 'restore', targets: { all: true } });

  // Accepted connections per 250 ms while the fleet comes back: the shape of the reconnect wave.
  const samples: Array<{ at: number; accepted: number }> = [{ at: restoreAt, accepted: accepted0 }];
  let done = false;
  const sampler = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, 250));
      samples.push({ at: Date.now(), accepted: await accepted() });
    }
  })();
  try {
    await waitCount(fleet, 'Connected', n, opts.timeoutMs, log);
  } finally {
    done = true;
    await sampler;
  }
  const restoreToAllConnectedSeconds = (Date.now() - restoreAt) / 1000;

  // When each cluster was Connected for good (its last transition to Connected), and how many fell
  // Offline again on the way (a reconnect that did not hold).
  const back = new Map<string, number>();
  let relapses = 0;
  for (const e of await eventsSince(fleet.hubUrl, since)) {
    if (e.to === 'Connected') back.set(e.name, (Date.parse(e.time) - restoreSim) / fleet.timeScale / 1000);
    if (e.from === 'Connected') relapses++;
  }
  const returns = [...back.values()].sort((a, b) => a - b);
  // The most connections accepted in any window of at least one second.
  let peak = 0;
  for (const b of samples) {
    const from = samples.filter((s) => s.at <= b.at - 1000).pop();
    if (!from) continue;
    peak = Math.max(peak, (b.accepted - from.accepted) / ((b.at - from.at) / 1000));
  }
  const last = samples[samples.length - 1];
  return {
    clusters: n,
    cutToAllOfflineSeconds,
    restoreToAllConnectedSeconds,
    returnP50Seconds: percentile(returns, 0.5),
    returnP99Seconds: percentile(returns, 0.99),
    returnMaxSeconds: returns[returns.length - 1] ?? NaN,
    acceptedConnections: (last?.accepted ?? accepted0) - accepted0,
    peakAcceptsPerSecond: Math.round(peak),
    reconnectMaxMs: opts.reconnectMaxMs,
    relapses,
  };
}

export function chaosLines(r: ChaosBenchResult, timeScale: number): string[] {
  return [
    '',
    `arcfleet bench --chaos: ${r.clusters} clusters, time scale ${timeScale}, agent back-off bound ${r.reconnectMaxMs / 1000} s`,
    `  cut (reject, all) → all Offline       ${r.cutToAllOfflineSeconds.toFixed(1)} s`,
    `  restore → all Connected               ${r.restoreToAllConnectedSeconds.toFixed(1)} s`,
    `  clusters back after restore           p50 ${r.returnP50Seconds.toFixed(2)} s, p99 ${r.returnP99Seconds.toFixed(2)} s, max ${r.returnMaxSeconds.toFixed(2)} s`,
    `  agent connections accepted            ${r.acceptedConnections} (peak ${r.peakAcceptsPerSecond}/s over 1 s windows)`,
    `  Connected → other after restore       ${r.relapses}`,
    '',
  ];
}
