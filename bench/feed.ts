/**
 * `npm run bench -- --feed [--clusters 1000] [--feed-clients 10]`: the live page's feed under churn.
 * N feed clients (WebSocket, acknowledging every message as the page does) watch the fleet while 30 %
 * of it is cut (reject) until Offline and then restored until all are Connected again. Measured over
 * that window: the update rate a page sees (deltas and tile changes per second), the hub's cost of
 * the feed (its own timing of every feed interval: diff + serialise + send to every client, as a
 * fraction of one core), bytes sent, and the hub process's CPU.
 */
import { WebSocket } from 'ws';
import { callGateways } from '../fleet/clients/egress-gateway.js';
import type { FleetHandle } from '../fleet/index.js';
import { waitCount } from './chaos.js';
import { sampleAll } from './procstat.js';

interface Counters {
  tickSeconds: number;
  ticks: number;
  bytes: number;
  messages: number;
}

async function feedCounters(hubUrl: string): Promise<Counters> {
  const text = await (await fetch(`${hubUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const value = (name: string): number => {
    const m = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    tickSeconds: value('arcfleet_hub_feed_tick_duration_seconds_sum'),
    ticks: value('arcfleet_hub_feed_tick_duration_seconds_count'),
    bytes: value('arcfleet_hub_feed_bytes_total'),
    messages: value('arcfleet_hub_feed_messages_total'),
  };
}

class Watcher {
  deltas = 0;
  tiles = 0;
  snapshots = 0;
  maxDeltasInOneSecond = 0;
  private window: number[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as {
        type: string;
        seq: number;
        upsert?: unknown[];
        remove?: unknown[];
      };
      if (msg.type === 'snapshot') this.snapshots++;
      else {
        this.deltas++;
        this.tiles += (msg.upsert?.length ?? 0) + (msg.remove?.length ?? 0);
        const now = Date.now();
        this.window = [...this.window.filter((t) => now - t < 1000), now];
        this.maxDeltasInOneSecond = Math.max(this.maxDeltasInOneSecond, this.window.length);
      }
      ws.send(JSON.stringify({ type: 'ack', seq: msg.seq }));
    });
  }
}

export interface FeedBenchResult {
  readonly clusters: number;
  readonly clients: number;
  readonly windowSeconds: number;
  readonly deltasPerSecondPerClient: number;
  readonly maxDeltasInOneSecond: number;
  readonly tileUpdatesPerSecondPerClient: number;
  readonly snapshotsAfterStart: number;
  readonly feedCpuFraction: number;
  readonly feedTickMeanMs: number;
  readonly feedBytesPerSecond: number;
  readonly hubCpuFraction: number;
}

export async function runFeedBench(
  fleet: FleetHandle,
  opts: { clients: number; timeoutMs: number; log: (l: string) => void },
): Promise<FeedBenchResult> {
  const url = `${fleet.pageUrl.replace(/^http/, 'ws')}/arcfleet/v1/feed`;
  const watchers: Watcher[] = [];
  for (let i = 0; i < opts.clients; i++) {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    watchers.push(new Watcher(ws));
  }
  try {
    const n = fleet.clusters.length;
    const cutCount = Math.round(n * 0.3);
    const before = await feedCounters(fleet.hubUrl);
    const hubPid = fleet.pids().hub;
    const cpu0 = hubPid === undefined ? 0 : (sampleAll({ hub: hubPid }).hub?.cpuSeconds ?? 0);
    const t0 = Date.now();
    opts.log(
      `${opts.clients} feed clients; cutting ${cutCount} clusters (reject) until Offline, then restoring`,
    );
    await callGateways(fleet.egressApiUrls, 'POST', '/v1/chaos', {
      action: 'cut',
      mode: 'reject',
      targets: { percent: 30, seed: 1 },
    });
    await waitCount(fleet, 'Offline', cutCount, opts.timeoutMs);
    await callGateways(fleet.egressApiUrls, 'POST', '/v1/chaos', {
      action: 'restore',
      targets: { all: true },
    });
    await waitCount(fleet, 'Connected', n, opts.timeoutMs);
    // Let the last transitions reach the clients.
    await new Promise((r) => setTimeout(r, 1000));
    const seconds = (Date.now() - t0) / 1000;
    const after = await feedCounters(fleet.hubUrl);
    const cpu1 = hubPid === undefined ? 0 : (sampleAll({ hub: hubPid }).hub?.cpuSeconds ?? 0);
    const mean = (f: (w: Watcher) => number): number =>
      watchers.reduce((a, w) => a + f(w), 0) / watchers.length;
    const ticks = after.ticks - before.ticks;
    return {
      clusters: n,
      clients: opts.clients,
      windowSeconds: seconds,
      deltasPerSecondPerClient: mean((w) => w.deltas) / seconds,
      maxDeltasInOneSecond: Math.max(...watchers.map((w) => w.maxDeltasInOneSecond)),
      tileUpdatesPerSecondPerClient: mean((w) => w.tiles) / seconds,
      snapshotsAfterStart: watchers.reduce((a, w) => a + w.snapshots, 0) - watchers.length,
      feedCpuFraction: (after.tickSeconds - before.tickSeconds) / seconds,
      feedTickMeanMs: ticks > 0 ? ((after.tickSeconds - before.tickSeconds) / ticks) * 1000 : 0,
      feedBytesPerSecond: (after.bytes - before.bytes) / seconds,
      hubCpuFraction: (cpu1 - cpu0) / seconds,
    };
  } finally {
    for (const w of watchers) w.ws.terminate();
  }
}

export function feedLines(r: FeedBenchResult): string[] {
  return [
    '',
    `arcfleet bench --feed: ${r.clusters} clusters, ${r.clients} page clients, 30 % cut and restored (${r.windowSeconds.toFixed(1)} s)`,
    `  page updates (per client)             ${r.deltasPerSecondPerClient.toFixed(2)} deltas/s (max ${r.maxDeltasInOneSecond} in 1 s), ${r.tileUpdatesPerSecondPerClient.toFixed(1)} tile changes/s`,
    `  resync snapshots                      ${r.snapshotsAfterStart}`,
    `  hub feed cost                         ${(r.feedCpuFraction * 100).toFixed(2)} % of a core (mean ${r.feedTickMeanMs.toFixed(2)} ms per interval), ${(r.feedBytesPerSecond / 1024).toFixed(1)} KiB/s sent`,
    `  hub process CPU (everything)          ${(r.hubCpuFraction * 100).toFixed(1)} % of a core`,
    '',
  ];
}
