/**
 * Starts a whole fleet: nats-server (JetStream) → hub (wait for /readyz) → cluster store → agent
 * services → onboarding of every cluster. Reusable by the CLI, the integration tests and the bench:
 *
 *   import { startFleet } from '../dist/cli/launcher.js';
 *   const fleet = await startFleet({ dataDir, clusters: 5, timeScale: 600 });
 *   await fleet.waitAllConnected({ timeoutMs: 60_000 });
 *   ...
 *   await fleet.stop();
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcError, ERROR_CODES, type ClusterState, type ConnectedCluster } from '../contract/index.js';
import { SimClock } from '../platform/clock.js';
import { ClusterStore } from '../agent-runtime/cluster-store.js';
import { ENV } from '../platform/settings.js';
import { Child, isAlive } from './children.js';
import { readFleetFile, writeFleetFile, type FleetFile } from './fleet-file.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID, generateFleet } from './fleet-generator.js';
import { readFleetSpec } from './fleet-spec.js';
import { HubClient, type PutResult } from './clients/hub-client.js';
import { startNatsServer, findNatsServer } from './nats-server.js';
import { connectCluster } from './onboard.js';
import { mapLimit } from '../platform/limit.js';
import { assertPortFree, freePort } from './ports.js';
import { waitFor } from '../platform/wait.js';
import { waitAllConnected, type Progress } from './progress.js';
import { startPrometheus, writeTargets, type LocalPrometheus } from './prometheus.js';
import { DEFAULT_RESTART_POLICY, RestartPolicy, type RestartPolicyOptions } from './supervisor.js';

export const DEFAULT_DATA_DIR = '.arcfleet';
export const DEFAULT_CLUSTER_COUNT = 10;
/** One simulated minute per real second: a fleet connects visibly fast, 15 simulated min of silence ≈ 15 s. */
export const DEFAULT_TIME_SCALE = 60;
export const AGENT_SERVICES = [
  'clusteridentityoperator',
  'resource-sync-agent',
  'metrics-agent',
  'config-agent',
  'extension-manager',
  'clusterconnect-agent',
] as const;
export const NODE_SERVICES = ['hub', 'egress-gateway', 'kube-apiserver', ...AGENT_SERVICES] as const;
export type NodeServiceName = (typeof NODE_SERVICES)[number];
export type ServiceName = 'nats-server' | 'prometheus' | NodeServiceName;

export interface StartFleetOptions {
  /** Default `.arcfleet` (relative to the cwd). */
  readonly dataDir?: string;
  /** Number of generated clusters (default 10); ignored when `specFile` or `clusterStates` is given. */
  readonly clusters?: number;
  readonly specFile?: string;
  /** Explicit cluster states (tests); generation/changedAt are reset. */
  readonly clusterStates?: readonly ClusterState[];
  readonly seed?: number | string;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  /** Simulated time speed-up (default 60). */
  readonly timeScale?: number;
  /** Default: now. Every child gets the same value. */
  readonly epochMs?: number;
  /** Default: a free port. */
  readonly hubPort?: number;
  readonly natsPort?: number;
  /** Children in their own process group, unref'd: they outlive the launcher (`arcfleet down` stops them). */
  readonly detach?: boolean;
  /** Extra environment for every child (e.g. ARCFLEET_OFFLINE_THRESHOLD); the launcher's own settings win. */
  readonly env?: Readonly<Record<string, string>>;
  /** Onboard every cluster after start (default true). */
  readonly connect?: boolean;
  /** Parallel PUTs while onboarding (default 16). */
  readonly connectConcurrency?: number;
  /** Remove the data dir's previous clusters, broker data and logs first (default true). */
  readonly reset?: boolean;
  /** Directory holding `services/<name>/main.js` (default: the dist/ this module was loaded from). */
  readonly distDir?: string;
  /** Real ms to wait for nats-server and the hub to become ready (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Aborts start-up (Ctrl-C while starting): whatever started is stopped and startFleet rejects. */
  readonly signal?: AbortSignal;
  /** Called with short progress lines ("nats-server ready on ..."). */
  readonly log?: (line: string) => void;
  /** Also start a local Prometheus scraping every service (`arcfleet up --prometheus`; Debian package `prometheus`). */
  readonly prometheus?: boolean;
  /** Default: a free port. */
  readonly prometheusPort?: number;
  /** Scrape and rule evaluation interval of that Prometheus (default 5s). */
  readonly scrapeInterval?: string;
  /**
   * Restart policy for services that exit unasked once the fleet has started (foreground launcher
   * only: a detached fleet outlives its launcher and is not supervised).
   */
  readonly restartPolicy?: Partial<RestartPolicyOptions>;
}

/** What the supervisor saw of one service: shown by `arcfleet ps` (from fleet.json). */
export interface ServiceSupervision {
  readonly service: ServiceName;
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly restarts: number;
  /** "was killed by SIGKILL", "exited with code 1". */
  readonly lastExit?: string;
  readonly lastExitAt?: string;
  /** Set when the supervisor stopped restarting it (crash loop). */
  readonly gaveUp?: string;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly onProgress?: (p: Progress) => void;
  /** Default: every cluster of the fleet. */
  readonly names?: readonly string[];
}

export interface FleetHandle {
  readonly dataDir: string;
  readonly hubUrl: string;
  readonly hubPort: number;
  readonly natsUrl: string;
  readonly natsMonitorUrl: string;
  /** The local Prometheus (with `prometheus: true`). */
  readonly prometheusUrl: string | undefined;
  /** The file_sd JSON listing every /metrics target: `<dataDir>/prometheus/targets.json`. */
  readonly targetsFile: string | undefined;
  /** Control API of the egress gateway every agent connection leaves through. */
  readonly egressApiUrl: string;
  /** The emulated apiserver (cluster side); a cluster's API is `<url>/clusters/<name>`. */
  readonly kubeApiserverUrl: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly timeScale: number;
  readonly epochMs: number;
  readonly clock: SimClock;
  readonly clusters: readonly ClusterState[];
  readonly store: ClusterStore;
  readonly client: HubClient;
  /** The environment every Node service was started with. */
  readonly serviceEnv: Readonly<NodeJS.ProcessEnv>;
  pids(): Record<string, number>;
  child(name: ServiceName): Child | undefined;
  /** A child that exited without being asked to, described; undefined while all run. */
  failure(): string | undefined;
  /** Sends a signal to one service (e.g. SIGKILL the hub) as an intentional stop: it is not restarted. */
  kill(name: ServiceName, signal?: NodeJS.Signals): void;
  /** Sends a signal to one service as a crash would (default SIGKILL): the supervisor restarts it. */
  crash(name: ServiceName, signal?: NodeJS.Signals): void;
  /** Per service: pid, restarts and last unasked exit. */
  supervision(): ServiceSupervision[];
  /**
   * Stops restarting services (at once, before stop()): on Ctrl-C the terminal signals every process
   * of the group, and their exits are not crashes.
   */
  unsupervise(): void;
  /** Stops (SIGTERM→SIGKILL) if still running, then starts the service again; waits until it is ready. */
  restart(name: ServiceName): Promise<void>;
  /** Onboards (again) a cluster that is in the store. */
  connect(name: string): Promise<PutResult>;
  list(): Promise<ConnectedCluster[]>;
  waitAllConnected(opts?: WaitOptions): Promise<Progress>;
  /** Stops every child (agents, hub, broker); safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** A fleet whose processes are still alive, from `<dataDir>/fleet.json`. */
export async function runningFleet(dataDir: string): Promise<FleetFile | undefined> {
  const file = await readFleetFile(dataDir);
  if (!file) return undefined;
  return Object.values(file.pids).some((pid) => isAlive(pid)) ? file : undefined;
}

function defaultDistDir(): string {
  // compiled: this file is <dist>/cli/launcher.js; from sources (vitest, tsx): <repo>/cli/launcher.ts → <repo>/dist
  const here = fileURLToPath(new URL('..', import.meta.url));
  if (existsSync(join(here, 'services', 'hub', 'main.js'))) return here;
  if (existsSync(join(here, 'dist', 'services', 'hub', 'main.js'))) return join(here, 'dist');
  return resolve('dist');
}

async function loadClusters(opts: StartFleetOptions, nowIso: string): Promise<ClusterState[]> {
  if (opts.clusterStates)
    return opts.clusterStates.map((c) => ({
      ...c,
      generation: 0,
      changedAt: nowIso,
      stoppedAgents: c.stoppedAgents,
    }));
  const overrides = {
    nowIso,
    ...(opts.subscriptionId === undefined ? {} : { subscriptionId: opts.subscriptionId }),
    ...(opts.resourceGroup === undefined ? {} : { resourceGroup: opts.resourceGroup }),
  };
  if (opts.specFile) return (await readFleetSpec(opts.specFile, overrides)).clusters;
  return generateFleet({
    count: opts.clusters ?? DEFAULT_CLUSTER_COUNT,
    seed: opts.seed ?? 1,
    subscriptionId: opts.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID,
    resourceGroup: opts.resourceGroup ?? DEFAULT_RESOURCE_GROUP,
    nowIso,
  });
}

export async function startFleet(opts: StartFleetOptions = {}): Promise<FleetHandle> {
  const log = opts.log ?? (() => undefined);
  const dataDir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const detached = opts.detach ?? false;
  const timeScale = opts.timeScale ?? DEFAULT_TIME_SCALE;
  if (!(timeScale > 0)) throw new RangeError('timeScale must be > 0');
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;

  const epochMs = opts.epochMs ?? Date.now();
  const clock = new SimClock(timeScale, epochMs);
  const clusters = await loadClusters(opts, new Date(clock.now()).toISOString());
  const subscriptionId = clusters[0]?.subscriptionId ?? opts.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
  const resourceGroup = clusters[0]?.resourceGroup ?? opts.resourceGroup ?? DEFAULT_RESOURCE_GROUP;

  const already = await runningFleet(dataDir);
  if (already)
    throw new ArcError(
      ERROR_CODES.Conflict,
      `a fleet is already running from ${dataDir} (hub ${already.hubUrl}); run \`arcfleet down\` first or use another --data-dir`,
      { status: 409 },
    );
  findNatsServer(); // fail before anything starts
  const distDir = opts.distDir ?? defaultDistDir();
  for (const service of NODE_SERVICES) {
    const entry = join(distDir, 'services', service, 'main.js');
    if (!existsSync(entry))
      throw new ArcError(ERROR_CODES.InternalServerError, `${entry} is missing; build first: npm run build`);
  }

  if (opts.hubPort !== undefined) await assertPortFree(opts.hubPort, '--hub-port');
  if (opts.natsPort !== undefined) await assertPortFree(opts.natsPort, 'nats port');
  const hubPort = opts.hubPort ?? (await freePort());
  const natsPort = opts.natsPort ?? (await freePort());
  let natsMonitorPort = await freePort();
  while (natsMonitorPort === natsPort || natsMonitorPort === hubPort) natsMonitorPort = await freePort();
  const [egressPort, egressApiPort] = [await freePort(), await freePort()];
  const egressApiUrl = `http://127.0.0.1:${egressApiPort}`;
  // Cluster side only: the agents reach it on loopback; the cloud only through cluster connect.
  const kubeApiserverPort = await freePort();
  const kubeApiserverUrl = `http://127.0.0.1:${kubeApiserverPort}`;

  if (opts.reset ?? true)
    for (const entry of ['clusters', 'nats', 'logs', 'hub', 'fleet.json'])
      await rm(join(dataDir, entry), { recursive: true, force: true });
  const logDir = join(dataDir, 'logs');
  await mkdir(logDir, { recursive: true });

  const children = new Map<ServiceName, Child>();
  let stopped = false;
  /** Off while starting (a failure then aborts start-up); on once the fleet is up, unless detached. */
  let supervising = false;
  const policy = { ...DEFAULT_RESTART_POLICY, ...opts.restartPolicy };
  const supervised = new Map<
    ServiceName,
    {
      policy: RestartPolicy;
      startedAtMs: number;
      restarts: number;
      /** From a crash until the new process is ready. */
      restarting?: boolean;
      lastExit?: string;
      lastExitAt?: string;
      gaveUp?: string;
    }
  >();
  const supervisorLog = join(dataDir, 'logs', 'supervisor.log');
  // Assigned below, once everything a restart needs exists.
  let onCrash: (name: ServiceName, how: string, pid: number | undefined) => void = () => undefined;
  const adopt = (name: ServiceName, child: Child): void => {
    children.set(name, child);
    const entry = supervised.get(name);
    if (entry) entry.startedAtMs = Date.now();
    else supervised.set(name, { policy: new RestartPolicy(policy), startedAtMs: Date.now(), restarts: 0 });
    void child.exited$().then(() => {
      if (!child.stopping && !stopped && supervising && children.get(name) === child)
        onCrash(name, child.how(), child.pid);
    });
  };
  const hubUrl = `http://127.0.0.1:${hubPort}`;
  const client = new HubClient(hubUrl);
  const store = new ClusterStore(dataDir);

  const natsOptions = {
    port: natsPort,
    monitorPort: natsMonitorPort,
    storeDir: join(dataDir, 'nats'),
    logDir,
    detached,
    startTimeoutMs,
  };
  const nats = await startNatsServer(natsOptions);
  adopt('nats-server', nats.child);
  log(`nats-server ready on ${nats.url} (monitor ${nats.monitorUrl})`);

  const serviceEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    [ENV.natsUrl]: nats.url,
    [ENV.hubPort]: String(hubPort),
    [ENV.hubHost]: '127.0.0.1',
    [ENV.hubPublicUrl]: hubUrl,
    [ENV.timeScale]: String(timeScale),
    [ENV.clockEpochMs]: String(epochMs),
    [ENV.dataDir]: dataDir,
    [ENV.egressPort]: String(egressPort),
    [ENV.egressApiPort]: String(egressApiPort),
    [ENV.egressUrl]: `nats://127.0.0.1:${egressPort}`,
    [ENV.kubeApiserverPort]: String(kubeApiserverPort),
    [ENV.kubeApiserverHost]: '127.0.0.1',
    [ENV.kubeApiserverUrl]: kubeApiserverUrl,
  };

  // Every agent serves /metrics on a port of its own (loopback), listed with the hub in the file_sd JSON.
  const metricsPorts = new Map<NodeServiceName, number>();
  for (const name of AGENT_SERVICES) metricsPorts.set(name, await freePort());
  let prometheus: LocalPrometheus | undefined;
  let prometheusPort: number | undefined;
  let targets: string | undefined;

  const spawnService = (name: NodeServiceName): Child => {
    const child = new Child({
      name,
      command: process.execPath,
      args: [join(distDir, 'services', name, 'main.js')],
      env: metricsPorts.has(name)
        ? { ...serviceEnv, [ENV.metricsPort]: String(metricsPorts.get(name)) }
        : serviceEnv,
      logDir,
      detached,
    });
    adopt(name, child);
    return child;
  };

  // Once supervised, a crash is a failure only when the supervisor has given up on the service.
  const failure = (): string | undefined => {
    for (const [name, child] of children) {
      if (!child.exited || child.stopping) continue;
      const gaveUp = supervised.get(name)?.gaveUp;
      if (!supervising) return child.describeExit();
      if (gaveUp !== undefined) return `${child.describeExit()}\n(not restarted: ${gaveUp})`;
    }
    return undefined;
  };
  const interrupted = (): Error | undefined =>
    opts.signal?.aborted ? new ArcError(ERROR_CODES.InternalServerError, 'start-up interrupted') : undefined;
  const failureError = (): Error | undefined => {
    const f = failure();
    return f === undefined ? undefined : new ArcError(ERROR_CODES.InternalServerError, f);
  };

  const waitHubReady = async (abort: () => Error | undefined = failureError): Promise<void> => {
    await waitFor(
      async () => {
        return client.ready();
      },
      {
        timeoutMs: startTimeoutMs,
        onTimeout: () =>
          new ArcError(
            ERROR_CODES.InternalServerError,
            `the hub did not answer GET ${hubUrl}/readyz with 200 within ${startTimeoutMs / 1000} s (log: ${join(logDir, 'hub.log')})`,
          ),
        abort: () => interrupted() ?? abort(),
      },
    );
  };

  /** Waits for a service's health endpoint to answer 200; the error names the URL and the log. */
  const waitHttpReady = async (
    what: string,
    url: string,
    logName: NodeServiceName,
    abort: () => Error | undefined,
  ): Promise<void> => {
    await waitFor(
      async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) }).catch(() => undefined);
        await res?.body?.cancel();
        return res?.status === 200;
      },
      {
        timeoutMs: startTimeoutMs,
        onTimeout: () =>
          new ArcError(
            ERROR_CODES.InternalServerError,
            `${what} did not answer GET ${url} within ${startTimeoutMs / 1000} s (log: ${join(logDir, `${logName}.log`)})`,
          ),
        abort: () => interrupted() ?? abort(),
      },
    );
  };
  const waitGatewayReady = (abort: () => Error | undefined = failureError): Promise<void> =>
    waitHttpReady('the egress gateway', `${egressApiUrl}/healthz`, 'egress-gateway', abort);
  const waitKubeApiserverReady = (abort: () => Error | undefined = failureError): Promise<void> =>
    waitHttpReady('the kube-apiserver', `${kubeApiserverUrl}/readyz`, 'kube-apiserver', abort);

  const pids = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [name, child] of children) if (child.pid !== undefined && !child.exited) out[name] = child.pid;
    return out;
  };

  const fleetFile = (): FleetFile => ({
    version: 1,
    dataDir,
    subscriptionId,
    resourceGroup,
    hubUrl,
    natsUrl: nats.url,
    natsMonitorUrl: nats.monitorUrl,
    egressApiUrl,
    kubeApiserverUrl,
    timeScale,
    epochMs,
    clusterCount: clusters.length,
    detached,
    launcherPid: process.pid,
    pids: pids(),
    startedAt,
    supervised: supervising,
    supervision: Object.fromEntries(
      [...supervised].map(([name, e]) => [
        name,
        {
          restarts: e.restarts,
          ...(e.lastExit === undefined ? {} : { lastExit: e.lastExit }),
          ...(e.lastExitAt === undefined ? {} : { lastExitAt: e.lastExitAt }),
          ...(e.gaveUp === undefined ? {} : { gaveUp: e.gaveUp }),
        },
      ]),
    ),
  });
  const startedAt = new Date().toISOString();

  const record = (event: Record<string, unknown>): void => {
    const line = JSON.stringify({ time: new Date().toISOString(), service: 'launcher', ...event });
    void appendFile(supervisorLog, `${line}\n`).catch(() => undefined);
  };

  /** Starts a service again in place (same ports, same data); resolves once it is ready. */
  const respawn = async (name: ServiceName): Promise<void> => {
    if (name === 'nats-server') {
      await startNatsServer({ ...natsOptions, onSpawn: (c) => adopt(name, c) });
    } else if (name === 'prometheus') {
      if (!prometheusPort) throw new Error('prometheus was never started');
      await startPrometheus({
        dataDir,
        port: prometheusPort,
        detached,
        startTimeoutMs,
        ...(opts.scrapeInterval ? { scrapeInterval: opts.scrapeInterval } : {}),
        onSpawn: (c) => adopt(name, c),
      });
    } else {
      const child = spawnService(name);
      const exited = (): Error | undefined =>
        child.exited ? new ArcError(ERROR_CODES.InternalServerError, child.describeExit()) : undefined;
      if (name === 'hub') await waitHubReady(exited);
      if (name === 'egress-gateway') await waitGatewayReady(exited);
      if (name === 'kube-apiserver') await waitKubeApiserverReady(exited);
    }
  };

  const restartTimers = new Set<NodeJS.Timeout>();
  const restartAfterCrash = async (name: ServiceName, previous: Child | undefined): Promise<void> => {
    try {
      await respawn(name);
      if (stopped) return;
      const entry = supervised.get(name);
      if (entry) entry.restarting = false;
      const pid = children.get(name)?.pid;
      log(`${name} restarted (pid ${pid ?? '?'})`);
      record({ event: 'service.restarted', target: name, pid });
      await writeFleetFile(fleetFile());
    } catch (err) {
      if (stopped) return;
      const current = children.get(name);
      const reason = err instanceof Error ? err.message : String(err);
      if (!current || current === previous) {
        const entry = supervised.get(name);
        if (entry) entry.gaveUp = `could not be started again: ${reason}`;
        log(`${name} could not be started again: ${reason}`);
        record({ event: 'service.given_up', target: name, reason });
        await writeFleetFile(fleetFile());
        return;
      }
      // Exited on its own: its exit watcher has taken over. Alive but never ready: stop it, count a crash.
      if (!current.exited) await current.stop(2000);
      else if (!current.stopping) return;
      onCrash(name, `did not become ready (${reason})`, current.pid);
    }
  };

  onCrash = (name, how, pid) => {
    const entry = supervised.get(name);
    if (!entry) return;
    entry.lastExit = how;
    entry.lastExitAt = new Date().toISOString();
    const decision = entry.policy.onCrash(Date.now(), entry.startedAtMs);
    if (decision.action === 'give-up') {
      entry.gaveUp = decision.reason;
      log(
        `${name} (pid ${pid ?? '?'}) ${how}; not restarting it: ${decision.reason} (log: ${join(logDir, `${name}.log`)})`,
      );
      record({ event: 'service.given_up', target: name, pid, exit: how, reason: decision.reason });
    } else {
      entry.restarts = decision.restart;
      entry.restarting = true;
      log(
        `${name} (pid ${pid ?? '?'}) ${how}; restarting it in ${(decision.delayMs / 1000).toFixed(1)} s (restart ${decision.restart})`,
      );
      record({
        event: 'service.crashed',
        target: name,
        pid,
        exit: how,
        restart: decision.restart,
        delayMs: decision.delayMs,
      });
      const previous = children.get(name);
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopped) void restartAfterCrash(name, previous);
      }, decision.delayMs);
      restartTimers.add(timer);
    }
    void writeFleetFile(fleetFile()).catch(() => undefined);
  };

  const stop = async (graceMs = 5000): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const timer of restartTimers) clearTimeout(timer);
    const agents = AGENT_SERVICES.map((n) => children.get(n)).filter((c): c is Child => c !== undefined);
    await Promise.all(agents.map((c) => c.stop(graceMs)));
    await children.get('kube-apiserver')?.stop(graceMs);
    await children.get('egress-gateway')?.stop(graceMs);
    await children.get('prometheus')?.stop(graceMs);
    await children.get('hub')?.stop(graceMs);
    await children.get('nats-server')?.stop(graceMs);
    const file = await readFleetFile(dataDir);
    if (file && file.launcherPid === process.pid) await writeFleetFile({ ...file, pids: {} });
  };

  const checkAborted = (): void => {
    const err = interrupted();
    if (err) throw err;
  };
  try {
    checkAborted();
    spawnService('hub');
    await waitHubReady();
    log(`hub ready on ${hubUrl}`);
    await writeFleetFile(fleetFile());
    checkAborted();

    await mapLimit(clusters, 32, (c) => store.writeState(c));
    spawnService('egress-gateway');
    await waitGatewayReady();
    log(`egress gateway on ${serviceEnv[ENV.egressUrl] ?? ''} (control API ${egressApiUrl})`);
    spawnService('kube-apiserver');
    await waitKubeApiserverReady();
    log(`kube-apiserver on ${kubeApiserverUrl} (each cluster under /clusters/<name>)`);
    for (const name of AGENT_SERVICES) spawnService(name);
    targets = await writeTargets(dataDir, [
      { service: 'hub', address: `127.0.0.1:${hubPort}` },
      { service: 'egress-gateway', address: new URL(egressApiUrl).host },
      { service: 'kube-apiserver', address: `127.0.0.1:${kubeApiserverPort}` },
      ...[...metricsPorts].map(([service, port]) => ({ service, address: `127.0.0.1:${port}` })),
    ]);
    if (opts.prometheus) {
      checkAborted();
      prometheusPort = opts.prometheusPort ?? (await freePort());
      prometheus = await startPrometheus({
        dataDir,
        port: prometheusPort,
        detached,
        startTimeoutMs,
        ...(opts.scrapeInterval ? { scrapeInterval: opts.scrapeInterval } : {}),
        onSpawn: (c) => adopt('prometheus', c),
      });
      log(`prometheus on ${prometheus.url} (targets ${targets})`);
    }
    await writeFleetFile(fleetFile());
    log(`${clusters.length} clusters written to ${store.root}; agent services started`);

    if (opts.connect ?? true) {
      checkAborted();
      await mapLimit(clusters, opts.connectConcurrency ?? 16, async (c) => {
        checkAborted();
        const f = failureError();
        if (f) throw f;
        await connectCluster(client, store, c);
      });
      log(`${clusters.length} clusters onboarded (PUT connectedClusters)`);
    }
    supervising = !detached;
    await writeFleetFile(fleetFile());
  } catch (err) {
    await stop(2000);
    throw err;
  }

  const allNames = clusters.map((c) => c.name.toLowerCase());
  return {
    dataDir,
    hubUrl,
    hubPort,
    prometheusUrl: prometheus?.url,
    targetsFile: targets,
    natsUrl: nats.url,
    natsMonitorUrl: nats.monitorUrl,
    egressApiUrl,
    kubeApiserverUrl,
    subscriptionId,
    resourceGroup,
    timeScale,
    epochMs,
    clock,
    clusters,
    store,
    client,
    serviceEnv,
    pids,
    child: (name) => children.get(name),
    failure,
    kill(name, signal = 'SIGTERM') {
      const child = children.get(name);
      if (child) {
        child.stopping = true;
        child.signal(signal);
      }
    },
    unsupervise() {
      supervising = false;
      for (const timer of restartTimers) clearTimeout(timer);
      restartTimers.clear();
    },
    crash(name, signal = 'SIGKILL') {
      children.get(name)?.signal(signal);
    },
    supervision() {
      return [...supervised].map(([service, e]) => {
        const child = children.get(service);
        return {
          service,
          pid: child?.pid,
          running: child !== undefined && !child.exited && e.restarting !== true,
          restarts: e.restarts,
          ...(e.lastExit === undefined ? {} : { lastExit: e.lastExit }),
          ...(e.lastExitAt === undefined ? {} : { lastExitAt: e.lastExitAt }),
          ...(e.gaveUp === undefined ? {} : { gaveUp: e.gaveUp }),
        };
      });
    },
    async restart(name) {
      const old = children.get(name);
      if (old) await old.stop();
      await respawn(name);
      await writeFleetFile(fleetFile());
    },
    async connect(name) {
      const state = await store.readState(name);
      if (!state)
        throw new ArcError(
          ERROR_CODES.NotFound,
          `cluster ${name} is not in the cluster store ${store.root}`,
          {
            status: 404,
          },
        );
      return connectCluster(client, store, state);
    },
    async list() {
      return (await client.listClusters(subscriptionId)).value;
    },
    waitAllConnected(w: WaitOptions = {}) {
      return waitAllConnected({
        client,
        subscriptionId,
        names: new Set(w.names ? w.names.map((n) => n.toLowerCase()) : allNames),
        timeoutMs: w.timeoutMs ?? 180_000,
        pollMs: w.pollMs ?? 500,
        ...(w.onProgress ? { onProgress: w.onProgress } : {}),
        abort: failureError,
      });
    },
    stop,
  };
}
