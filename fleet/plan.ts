/**
 * Step one of starting a fleet: options → a plan (clock, clusters, which components, every address,
 * the fleet-wide environment), decided before any process starts, so a failure here starts nothing.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArcError, ERROR_CODES, type ClusterState } from '../contract/index.js';
import { SimClock } from '../platform/clock.js';
import { TLS_FILES } from '../platform/fleet-tls.js';
import { ENV } from '../platform/settings.js';
import {
  AGENT_SERVICES,
  COMPONENTS,
  DEFAULT_SERVICES,
  component,
  gatewayApiUrls,
  instanceName,
  hubUrlOf,
  loopback,
  natsUrls,
  tlsDir,
  type FleetAddresses,
  type NatsNodeAddress,
  type ServiceName,
} from './components.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID, generateFleet } from './generator.js';
import { assertPortFree, freePort } from './ports.js';
import { chooseLayout } from './layout.js';
import { readFleetSpec } from './spec.js';
import type { StartFleetOptions } from './options.js';

export const DEFAULT_DATA_DIR = '.arcfleet';
export const DEFAULT_CLUSTER_COUNT = 10;
/** One simulated minute per real second: a fleet connects visibly fast, 15 simulated min of silence ≈ 15 s. */
export const DEFAULT_TIME_SCALE = 60;

export interface FleetPlan {
  readonly dataDir: string;
  readonly logDir: string;
  readonly distDir: string;
  readonly detached: boolean;
  readonly timeScale: number;
  readonly epochMs: number;
  readonly clock: SimClock;
  readonly clusters: readonly ClusterState[];
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The components this fleet runs, in start order. */
  readonly services: readonly ServiceName[];
  readonly addresses: FleetAddresses;
  /** The environment every Node service starts with (rows add their own on top). */
  readonly serviceEnv: Readonly<NodeJS.ProcessEnv>;
}

function defaultDistDir(): string {
  // compiled: this file is <dist>/fleet/plan.js; from sources (vitest, tsx): <repo>/fleet/plan.ts → <repo>/dist
  const here = fileURLToPath(new URL('..', import.meta.url));
  if (existsSync(join(here, 'services', 'hub', 'main.js'))) return here;
  if (existsSync(join(here, 'dist', 'services', 'hub', 'main.js'))) return join(here, 'dist');
  return resolve('dist');
}

async function loadClusters(opts: StartFleetOptions, nowIso: string): Promise<ClusterState[]> {
  if (opts.clusterStates) return opts.clusterStates.map((c) => ({ ...c, generation: 0, changedAt: nowIso }));
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

/** The components to run: the requested ones (plus the required), in table order. */
function chooseServices(opts: StartFleetOptions): ServiceName[] {
  const wanted = new Set<ServiceName>(opts.services ?? DEFAULT_SERVICES);
  if (opts.prometheus) wanted.add('prometheus');
  for (const c of COMPONENTS) if (c.required) wanted.add(c.name);
  return COMPONENTS.map((c) => c.name).filter((n) => wanted.has(n));
}

/** Distinct free ports (the OS may hand the same one out twice in a row). */
async function freePorts(count: number, taken: Set<number>): Promise<number[]> {
  const out: number[] = [];
  while (out.length < count) {
    const p = await freePort();
    if (!taken.has(p)) {
      taken.add(p);
      out.push(p);
    }
  }
  return out;
}

async function chooseAddresses(
  opts: StartFleetOptions,
  dataDir: string,
  layout: { brokers: number; shards: number; gateway: boolean; hubs: number },
): Promise<FleetAddresses> {
  const { brokers, shards, hubs } = layout;
  if (opts.hubPort !== undefined) await assertPortFree(opts.hubPort, '--hub-port');
  if (opts.natsPort !== undefined) await assertPortFree(opts.natsPort, 'nats port');
  const taken = new Set<number>(
    [opts.hubPort, opts.natsPort, opts.prometheusPort].filter((p) => p !== undefined),
  );
  const [hub, egress, egressApi, kube, prom] = await freePorts(5, taken);
  const metricsPorts = new Map<string, number>();
  for (let shard = 0; shard < shards; shard++) {
    const ports = await freePorts(AGENT_SERVICES.length, taken);
    AGENT_SERVICES.forEach((name, i) =>
      metricsPorts.set(instanceName(name, shard, shards), ports[i] as number),
    );
  }
  const egressPorts: number[] = [];
  const egressApiPorts: number[] = [];
  for (let shard = 0; layout.gateway && shard < shards; shard++) {
    const [port, apiPort] = shard === 0 ? [egress, egressApi] : await freePorts(2, taken);
    egressPorts.push(port as number);
    egressApiPorts.push(apiPort as number);
  }
  const natsNodes: NatsNodeAddress[] = [];
  for (let i = 0; i < brokers; i++) {
    const [port, monitorPort, routePort] = await freePorts(3, taken);
    natsNodes.push({
      port: i === 0 && opts.natsPort !== undefined ? opts.natsPort : (port as number),
      monitorPort: monitorPort as number,
      routePort: routePort as number,
    });
  }
  const node0 = natsNodes[0] as NatsNodeAddress;
  const hubPort = opts.hubPort ?? (hub as number);
  const tls = !(opts.plainHttp ?? false);
  return {
    dataDir,
    hubPort,
    hubPorts: [hubPort, ...(await freePorts(hubs - 1, taken))],
    tls,
    hubPagePorts: tls ? await freePorts(hubs, taken) : [],
    natsPort: node0.port,
    natsMonitorPort: node0.monitorPort,
    natsNodes,
    egressPort: egress as number,
    egressApiPort: egressApi as number,
    shards,
    egressPorts,
    egressApiPorts,
    kubeApiserverPort: kube as number,
    kubeAadProxyPorts: await freePorts(shards, taken),
    guardPorts: await freePorts(shards, taken),
    prometheusPort: opts.prometheusPort ?? (prom as number),
    metricsPorts,
  };
}

function fleetEnv(
  opts: StartFleetOptions,
  a: FleetAddresses,
  services: readonly ServiceName[],
  clock: SimClock,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    [ENV.natsUrl]: natsUrls(a),
    // Every NATS client trusts only the fleet CA and speaks TLS (broker-files.ts wrote the certificate).
    ...(a.tls ? { [ENV.natsCa]: join(tlsDir(a.dataDir), TLS_FILES.ca) } : {}),
    // Every JetStream bucket on up to three nodes: one node may die without losing a write.
    [ENV.jetstreamReplicas]: String(Math.min(3, a.natsNodes.length)),
    [ENV.hubPort]: String(a.hubPort),
    [ENV.hubReplicas]: String(a.hubPorts.length),
    [ENV.hubHost]: '127.0.0.1',
    [ENV.hubPublicUrl]: hubUrlOf(a),
    [ENV.timeScale]: String(clock.timeScale),
    [ENV.clockEpochMs]: String(clock.epochMs),
    [ENV.dataDir]: a.dataDir,
    [ENV.kubeApiserverPort]: String(a.kubeApiserverPort),
    [ENV.kubeApiserverHost]: '127.0.0.1',
  };
  // Only a fleet that runs the clusters' apiserver tells its agents where it is (resource-sync-agent
  // then syncs cluster-metadata-operator's resource; without one, the cluster state).
  if (services.includes('kube-apiserver')) env[ENV.kubeApiserverUrl] = loopback(a.kubeApiserverPort);
  // With the egress gateway, every agent connection leaves through its shard's gateway (chaos acts
  // there; the rows set ARCFLEET_EGRESS_URL per shard); the hub forwards the page's chaos to all of them.
  if (services.includes('egress-gateway')) {
    env[ENV.egressApiUrl] = gatewayApiUrls(a).join(',');
    // Shard 0's, for tools given the fleet's environment (tests dial through it as a cluster would).
    env[ENV.egressUrl] = `nats://127.0.0.1:${a.egressPort}`;
  }
  return env;
}

export async function planFleet(opts: StartFleetOptions): Promise<FleetPlan> {
  const dataDir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const timeScale = opts.timeScale ?? DEFAULT_TIME_SCALE;
  if (!(timeScale > 0)) throw new RangeError('timeScale must be > 0');
  const epochMs = opts.epochMs ?? Date.now();
  const clock = new SimClock(timeScale, epochMs);
  const clusters = await loadClusters(opts, new Date(clock.now()).toISOString());
  const services = chooseServices(opts);
  // Fail before anything starts: binaries installed, services built.
  const distDir = opts.distDir ?? defaultDistDir();
  for (const name of services) {
    const row = component(name);
    if (row.run.kind === 'binary') row.run.find();
    else if (!existsSync(join(distDir, 'services', name, 'main.js')))
      throw new ArcError(
        ERROR_CODES.InternalServerError,
        `${join(distDir, 'services', name, 'main.js')} is missing; build first: npm run build`,
      );
  }
  const { brokers, shards, hubs } = chooseLayout(opts, clusters.length);
  const addresses = await chooseAddresses(opts, dataDir, {
    brokers,
    shards,
    hubs,
    gateway: services.includes('egress-gateway'),
  });
  return {
    dataDir,
    logDir: join(dataDir, 'logs'),
    distDir,
    detached: opts.detach ?? false,
    timeScale,
    epochMs,
    clock,
    clusters,
    subscriptionId: clusters[0]?.subscriptionId ?? opts.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID,
    resourceGroup: clusters[0]?.resourceGroup ?? opts.resourceGroup ?? DEFAULT_RESOURCE_GROUP,
    services,
    addresses,
    serviceEnv: fleetEnv(opts, addresses, services, clock),
  };
}
