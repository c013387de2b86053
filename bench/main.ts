/**
 * `npm run bench [-- --clusters N --time-scale X]`: brings up N emulated clusters (nats-server + hub
 * + agent services, via the CLI's launcher) and prints seconds until all are Connected, the hub's
 * heartbeat processing rate against the raw NATS publish→subscribe rate on the same server, RSS per
 * emulated cluster and CPU seconds. A benchmark, not a test: a readable table plus one JSON line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startFleet, type FleetHandle } from '../fleet/index.js';
import { chaosLines, runChaosBench } from './chaos.js';
import { allAgentsFleet, configureFlux } from './all-agents.js';
import { connectLines, runConnectBench } from './connect.js';
import { connectionsLines, runConnectionsBench } from './connections.js';
import { feedLines, runFeedBench } from './feed.js';
import { fuzzLines, runFuzz } from './fuzz/run.js';
import { pageLines, runPageBench } from './page.js';
import { sampleAll, totals } from './procstat.js';
import { mib, serviceTable } from './service-table.js';
import { waitApiserverQuiet } from './settle.js';
import { measureMetricsLatency } from './metrics-latency.js';
import { measureHubRate, measureRawRate, prepareHeartbeats } from './throughput.js';

interface Args {
  clusters: number;
  timeScale: number;
  heartbeats: number;
  rawMessages: number;
  timeoutSeconds: number;
  heartbeatInterval: string;
  steadySeconds: number;
  dataDir: string | undefined;
  chaos: boolean;
  feed: boolean;
  feedClients: number;
  page: boolean;
  connect: boolean;
  connections: boolean;
  fuzz: boolean;
  fuzzRuns: number;
  fuzzSeed: number;
  /** Clusters whose users publish the hub-rate heartbeats (one connection each). */
  heartbeatClusters: number;
  /** Node services to run under `--cpu-prof` (profiles in <data dir>/profiles). */
  cpuProf: string[];
  /** No TLS anywhere (`arcfleet up --plain-http`): the cost of NATS over TLS, by difference. */
  plainHttp: boolean;
  /** The fleet's layout (default: chosen from the cluster count, fleet/layout.ts). */
  brokers: number | undefined;
  shards: number | undefined;
  /** Every agent at work: azure-rbac (guard) and a Flux configuration (flux-logs-agent) on every cluster. */
  allAgents: boolean;
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      clusters: { type: 'string' },
      'time-scale': { type: 'string', default: '60' },
      heartbeats: { type: 'string', default: '300000' },
      'raw-messages': { type: 'string', default: '1000000' },
      timeout: { type: 'string', default: '900' },
      // Default: the fleet's own (platform/settings.ts DEFAULT_TIMINGS).
      'heartbeat-interval': { type: 'string', default: '5m' },
      'steady-seconds': { type: 'string', default: '10' },
      'data-dir': { type: 'string' },
      chaos: { type: 'boolean', default: false },
      feed: { type: 'boolean', default: false },
      page: { type: 'boolean', default: false },
      connect: { type: 'boolean', default: false },
      connections: { type: 'boolean', default: false },
      fuzz: { type: 'boolean', default: false },
      'fuzz-runs': { type: 'string', default: '5000' },
      'fuzz-seed': { type: 'string', default: '20261201' },
      'feed-clients': { type: 'string', default: '10' },
      'cpu-prof': { type: 'string', multiple: true, default: [] },
      'heartbeat-clusters': { type: 'string', default: '10' },
      brokers: { type: 'string' },
      shards: { type: 'string' },
      'plain-http': { type: 'boolean', default: false },
      'all-agents': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--clusters N (200)] [--time-scale X (60)] [--heartbeats M (300000)]\n' +
        '                        [--raw-messages R (1000000)] [--heartbeat-interval SIM (5m)]\n' +
        '                        [--steady-seconds S (10)] [--timeout SECONDS (900)] [--data-dir DIR]\n' +
        '                        [--heartbeat-clusters C (10): cluster users publishing the hub-rate heartbeats]\n' +
        '                        [--cpu-prof SERVICE ...] (V8 CPU profiles in DIR/profiles; keep --data-dir)\n' +
        '                        [--brokers K] [--shards S] (layout; default: chosen from N, as arcfleet up)\n' +
        '                        [--plain-http] (no TLS, HTTP or NATS, as arcfleet up --plain-http; here and with --connections)\n' +
        '                        [--all-agents] (azure-rbac and a Flux configuration on every cluster: guard and flux-logs-agent at work)\n' +
        '       npm run bench -- --chaos [--clusters N (1000)] [--time-scale X (60)]\n' +
        '         (the whole fleet cut, then restored: time to all Connected, reconnect spread)\n' +
        '       npm run bench -- --feed [--clusters N (1000)] [--feed-clients C (10)]\n' +
        '         (the live page feed while 30 % of the fleet is cut and restored: update rate, hub cost)\n' +
        '       npm run bench -- --page [--clusters N (10000)] [--steady-seconds S (10)]\n' +
        '         (the live page in Chromium with N projections churning: paint time, update rate)\n' +
        '       npm run bench -- --connect [--clusters N (20)]\n' +
        '         (cluster connect against the apiserver directly; an extension rolled out to every cluster)\n' +
        '       npm run bench -- --connections [--clusters N (2000)]\n' +
        '         (N agent connections, through the gateway and directly: CPU and memory per connection)\n' +
        '       npm run bench -- --fuzz [--clusters N (3)] [--fuzz-runs R (5000)] [--fuzz-seed S (20261201)]\n' +
        '         (R random and malformed inputs per boundary: tried, rejected, counted, crashes; docs/fuzzing.md)\n',
    );
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, min: number): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min} (got ${raw})`);
    return n;
  };
  return {
    clusters: Math.floor(
      num(
        'clusters',
        values.clusters ??
          (values.page
            ? '10000'
            : values.chaos || values.feed
              ? '1000'
              : values.connect
                ? '20'
                : values.connections
                  ? '2000'
                  : values.fuzz
                    ? '3'
                    : '200'),
        1,
      ),
    ),
    timeScale: num('time-scale', values['time-scale'], 0.001),
    heartbeats: Math.floor(num('heartbeats', values.heartbeats, 1)),
    rawMessages: Math.floor(num('raw-messages', values['raw-messages'], 1)),
    timeoutSeconds: num('timeout', values.timeout, 1),
    heartbeatInterval: values['heartbeat-interval'] ?? '5m',
    steadySeconds: num('steady-seconds', values['steady-seconds'], 0),
    dataDir: values['data-dir'],
    cpuProf: values['cpu-prof'] ?? [],
    heartbeatClusters: Math.floor(num('heartbeat-clusters', values['heartbeat-clusters'], 1)),
    chaos: values.chaos ?? false,
    feed: values.feed ?? false,
    page: values.page ?? false,
    connect: values.connect ?? false,
    connections: values.connections ?? false,
    fuzz: values.fuzz ?? false,
    plainHttp: values['plain-http'] ?? false,
    allAgents: values['all-agents'] ?? false,
    fuzzRuns: Math.floor(num('fuzz-runs', values['fuzz-runs'], 1)),
    fuzzSeed: Math.floor(num('fuzz-seed', values['fuzz-seed'], 0)),
    feedClients: Math.floor(num('feed-clients', values['feed-clients'], 1)),
    brokers: values.brokers === undefined ? undefined : Math.floor(num('brokers', values.brokers, 1)),
    shards: values.shards === undefined ? undefined : Math.floor(num('shards', values.shards, 1)),
  };
}

/** The agents' back-off bound in the chaos run: the default (10 s), stated so the figures say it. */
const CHAOS_RECONNECT_MAX_MS = 10_000;

const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
const rate = (n: number): string => `${Math.round(n).toLocaleString('en-US')} msg/s`;

async function heartbeatCounter(hubUrl: string): Promise<number> {
  const text = await (await fetch(`${hubUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const m = /^arcfleet_hub_heartbeats_total\s+(\S+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

async function main(): Promise<void> {
  const args = parse();
  const dataDir = args.dataDir ?? (await mkdtemp(join(tmpdir(), 'arcfleet-bench-')));
  log(`${args.clusters} clusters, time scale ${args.timeScale}, data in ${dataDir}`);
  const t0 = Date.now();
  let fleet: FleetHandle | undefined;
  // Ctrl-C (or a SIGTERM) stops the fleet, whatever the bench is doing: dozens of processes must not
  // outlive it. While starting, startFleet itself stops what it started and rejects.
  const interrupt = new AbortController();
  const onSignal = (signal: string): void => {
    log(`${signal}: stopping the fleet`);
    interrupt.abort();
    if (fleet) void fleet.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  try {
    if (args.page) {
      // The hub alone carries the projections: no agent processes, no clusters in the store.
      fleet = await startFleet({
        dataDir,
        clusters: 0,
        timeScale: args.timeScale,
        log,
        signal: interrupt.signal,
      });
      const result = await runPageBench(fleet, { clusters: args.clusters, seconds: args.steadySeconds, log });
      process.stdout.write(`${pageLines(result).join('\n')}\n`);
      process.stdout.write(`${JSON.stringify({ bench: 'arcfleet-page', ...result })}\n`);
      return;
    }
    if (args.connections) {
      // The broker and the gateway alone: the connections are the bench's own.
      fleet = await startFleet({
        dataDir,
        clusters: 0,
        services: ['nats-server', 'egress-gateway'],
        brokers: 1,
        shards: 1,
        plainHttp: args.plainHttp,
        log,
        signal: interrupt.signal,
      });
      const result = await runConnectionsBench(fleet, { connections: args.clusters, log });
      process.stdout.write(`${connectionsLines(result).join('\n')}\n`);
      process.stdout.write(`${JSON.stringify({ bench: 'arcfleet-connections', ...result })}\n`);
      return;
    }
    fleet = await startFleet({
      dataDir,
      ...(args.allAgents
        ? { clusterStates: allAgentsFleet(args.clusters, new Date().toISOString()) }
        : { clusters: args.clusters }),
      timeScale: args.timeScale,
      env: {
        ...(args.chaos || args.feed ? { ARCFLEET_AGENT_RECONNECT_MAX: String(CHAOS_RECONNECT_MAX_MS) } : {}),
        ARCFLEET_HEARTBEAT_INTERVAL: args.heartbeatInterval,
        ARCFLEET_LOG_LEVEL: process.env.ARCFLEET_LOG_LEVEL ?? 'warn',
      },
      connectConcurrency: 32,
      plainHttp: args.plainHttp,
      ...(args.brokers === undefined ? {} : { brokers: args.brokers }),
      ...(args.shards === undefined ? {} : { shards: args.shards }),
      signal: interrupt.signal,
      nodeArgs: Object.fromEntries(
        args.cpuProf.map((name) => [name, ['--cpu-prof', `--cpu-prof-dir=${join(dataDir, 'profiles')}`]]),
      ),
      log,
    });
    const startedS = (Date.now() - t0) / 1000;
    log(`started and onboarded in ${startedS.toFixed(1)} s; waiting for all Connected`);
    let lastReport = 0;
    await fleet.waitAllConnected({
      timeoutMs: args.timeoutSeconds * 1000,
      pollMs: 500,
      onProgress: (p) => {
        if (Date.now() - lastReport > 5000 || p.connected === p.total) {
          lastReport = Date.now();
          log(`${p.connected}/${p.total} Connected`);
        }
      },
    });
    const connectedS = (Date.now() - t0) / 1000;
    if (args.connect) {
      const result = await runConnectBench(fleet, { log });
      process.stdout.write(`${connectLines(result).join('\n')}\n`);
      process.stdout.write(
        `${JSON.stringify({ bench: 'arcfleet-connect', timeScale: args.timeScale, ...result })}\n`,
      );
      return;
    }
    if (args.fuzz) {
      const reports = await runFuzz(fleet, { runs: args.fuzzRuns, seed: args.fuzzSeed, log });
      const after = await fleet.waitAllConnected({ timeoutMs: 120_000 });
      process.stdout.write(`${fuzzLines(reports).join('\n')}\n`);
      process.stdout.write(`  afterwards: ${after.connected}/${after.total} clusters Connected\n`);
      process.stdout.write(
        `${JSON.stringify({ bench: 'arcfleet-fuzz', seed: args.fuzzSeed, runs: args.fuzzRuns, connectedAfter: after.connected, clusters: after.total, boundaries: reports })}\n`,
      );
      if (reports.some((r) => r.crashes > 0 || r.counted < r.refusals)) process.exitCode = 1;
      return;
    }
    if (args.feed) {
      const result = await runFeedBench(fleet, {
        clients: args.feedClients,
        timeoutMs: args.timeoutSeconds * 1000,
        log,
      });
      process.stdout.write(`${feedLines(result).join('\n')}\n`);
      process.stdout.write(
        `${JSON.stringify({ bench: 'arcfleet-feed', timeScale: args.timeScale, ...result })}\n`,
      );
      return;
    }
    if (args.chaos) {
      const result = await runChaosBench(fleet, {
        timeoutMs: args.timeoutSeconds * 1000,
        reconnectMaxMs: CHAOS_RECONNECT_MAX_MS,
        log,
      });
      process.stdout.write(`${chaosLines(result, args.timeScale).join('\n')}\n`);
      process.stdout.write(
        `${JSON.stringify({ bench: 'arcfleet-chaos', timeScale: args.timeScale, allConnectedSeconds: connectedS, ...result })}\n`,
      );
      return;
    }
    const atConnected = sampleAll(fleet.pids());
    // --all-agents: Flux on every cluster; its configurations Compliant with their logs shipped is the
    // settled point (the apiserver is never quiet then: each reconciles every 10 simulated minutes).
    const fluxS = args.allAgents
      ? await configureFlux(fleet, { timeoutMs: args.timeoutSeconds * 1000, log })
      : undefined;
    // The cluster-local agents still write each cluster's objects after it is Connected.
    let settledS = (Date.now() - t0) / 1000;
    if (fleet.kubeApiserverUrl && !args.allAgents) {
      log('waiting for the cluster side to settle (no apiserver request for 3 s)');
      await waitApiserverQuiet(fleet.kubeApiserverUrl, {
        quietMs: 3000,
        timeoutMs: args.timeoutSeconds * 1000,
      });
      settledS = (Date.now() - t0) / 1000 - 3;
    }
    const atSettled = sampleAll(fleet.pids());

    // Steady state: the whole fleet heartbeating, nothing else going on.
    log(`steady state for ${args.steadySeconds} s (heartbeat every ${args.heartbeatInterval} simulated)`);
    const steadyStart = Date.now();
    const hb0 = await heartbeatCounter(fleet.hubUrl);
    await new Promise((r) => setTimeout(r, args.steadySeconds * 1000));
    const steadyS = (Date.now() - steadyStart) / 1000;
    const afterSteady = sampleAll(fleet.pids());
    const steadyHeartbeatsPerSecond = ((await heartbeatCounter(fleet.hubUrl)) - hb0) / steadyS;
    const steadyCores = (totals(afterSteady).cpuSeconds - totals(atSettled).cpuSeconds) / steadyS;
    const stillConnected = (await fleet.list()).filter(
      (c) => c.properties.connectivityStatus === 'Connected',
    ).length;

    log('hub GET /metrics latency, 30 sequential scrapes');
    const scrape = await measureMetricsLatency(fleet.hubUrl);

    const items = await prepareHeartbeats(fleet.store, fleet.clusters, args.heartbeatClusters);
    const sample = items[0];
    if (!sample) throw new Error('no cluster identity found in the cluster store');
    log(`raw NATS publish→subscribe, ${args.rawMessages} messages of ${sample.payload.byteLength} B`);
    const broker = {
      url: fleet.natsUrl,
      credentials: await fleet.natsCredentials(),
      ...(await fleet.natsTls()),
    };
    const raw = await measureRawRate(broker, sample, args.rawMessages);

    log(`hub heartbeat processing, ${args.heartbeats} heartbeats from ${items.length} cluster users`);
    const hub = await measureHubRate(broker, items, args.heartbeats, () =>
      heartbeatCounter(fleet?.hubUrl ?? ''),
    );
    const atEnd = sampleAll(fleet.pids());
    const connectedTotals = totals(atConnected);
    const endTotals = totals(atEnd);
    const ratio = hub.perSecond / raw.perSecond;

    const lines = [
      '',
      `arcfleet bench: ${args.clusters} clusters, time scale ${args.timeScale}, ${fleet.natsMonitorUrls.length} broker node(s), ${fleet.egressApiUrls.length} shard(s)`,
      `  start (nats, hub, agents, ${args.clusters} PUTs)  ${startedS.toFixed(1)} s`,
      `  all Connected (from start)         ${connectedS.toFixed(1)} s`,
      ...(fluxS === undefined
        ? []
        : [
            `  Flux on every cluster, logs shipped ${fluxS.toFixed(1)} s after all Connected (azure-rbac on: guard everywhere)`,
          ]),
      `  cluster side settled (from start)  ${settledS.toFixed(1)} s  (${totals(atSettled).cpuSeconds.toFixed(2)} CPU s)`,
      `  steady state (${steadyS.toFixed(0)} s)              ${steadyCores.toFixed(2)} CPU cores, ${Math.round(steadyHeartbeatsPerSecond)} heartbeats/s, ${stillConnected}/${args.clusters} Connected`,
      `  raw NATS publish→subscribe         ${rate(raw.perSecond)}  (${raw.messages} msgs in ${raw.seconds.toFixed(2)} s)`,
      `  hub heartbeats processed           ${rate(hub.perSecond)}  (${hub.messages} from ${items.length} cluster users in ${hub.seconds.toFixed(2)} s; ${hub.processed} counted with the agents' own)`,
      `  ratio hub / raw                    ${ratio.toFixed(4)}`,
      `  hub GET /metrics                   median ${scrape.medianMs.toFixed(1)} ms, p90 ${scrape.p90Ms.toFixed(1)} ms, max ${scrape.maxMs.toFixed(1)} ms (${scrape.samples} scrapes, ${Math.round(scrape.bytes / 1024)} KiB)`,
      `  RSS all processes (all Connected)  ${mib(connectedTotals.rssBytes)}  = ${(connectedTotals.rssBytes / args.clusters / 1024).toFixed(0)} KiB per cluster`,
      `  RSS all processes (end)            ${mib(endTotals.rssBytes)}  = ${(endTotals.rssBytes / args.clusters / 1024).toFixed(0)} KiB per cluster`,
      `  CPU seconds until all Connected    ${connectedTotals.cpuSeconds.toFixed(2)} s`,
      `  CPU seconds at end                 ${endTotals.cpuSeconds.toFixed(2)} s`,
      `  per service (${Object.keys(atEnd).length} processes):`,
      ...serviceTable({
        atConnected,
        atSettled,
        afterSteady,
        atEnd,
        steadySeconds: steadyS,
        clusters: args.clusters,
      }),
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    const perProcess = Object.fromEntries(
      Object.entries(atEnd).map(([name, s]) => [name, { rssBytes: s.rssBytes, cpuSeconds: s.cpuSeconds }]),
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'arcfleet',
        clusters: args.clusters,
        timeScale: args.timeScale,
        brokers: fleet.natsMonitorUrls.length,
        shards: fleet.egressApiUrls.length,
        startSeconds: startedS,
        allConnectedSeconds: connectedS,
        settledSeconds: Number(settledS.toFixed(1)),
        allAgents: args.allAgents,
        ...(fluxS === undefined ? {} : { fluxSeconds: Number(fluxS.toFixed(1)) }),
        cpuSecondsAtSettled: Number(totals(atSettled).cpuSeconds.toFixed(2)),
        heartbeatInterval: args.heartbeatInterval,
        steadyCpuCores: Number(steadyCores.toFixed(3)),
        steadyHeartbeatsPerSecond: Math.round(steadyHeartbeatsPerSecond),
        steadyConnected: stillConnected,
        rawNatsMsgsPerSecond: Math.round(raw.perSecond),
        hubHeartbeatsPerSecond: Math.round(hub.perSecond),
        hubToRawRatio: Number(ratio.toFixed(5)),
        metricsMedianMs: Number(scrape.medianMs.toFixed(2)),
        metricsP90Ms: Number(scrape.p90Ms.toFixed(2)),
        rssBytesPerClusterAtConnected: Math.round(connectedTotals.rssBytes / args.clusters),
        rssBytesPerClusterAtEnd: Math.round(endTotals.rssBytes / args.clusters),
        cpuSecondsAtConnected: Number(connectedTotals.cpuSeconds.toFixed(2)),
        cpuSecondsAtEnd: Number(endTotals.cpuSeconds.toFixed(2)),
        processes: perProcess,
      })}\n`,
    );
  } finally {
    if (fleet) await fleet.stop();
    if (!args.dataDir) await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
