/**
 * The integration tests' fixture: a fleet started by the fleet library (`startFleet`, the one
 * launcher) in a temporary data dir, on a fast simulated clock, with every process's log lines
 * captured and supervision off (tests kill and restart processes on purpose). By default the hub and
 * the three core agents run, the agents straight to the broker; `gateway: true` adds the egress
 * gateway on their path. On top: ARM calls, waits for connectivity statuses, and diagnostics.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HubClient, PutResult } from '../../fleet/clients/hub-client.js';
import {
  startFleet,
  type FleetHandle,
  type ProcessName,
  type ServiceName,
  type ServiceProcess,
} from '../../fleet/index.js';
import {
  type ConnectedCluster,
  type ConnectivityStatus,
  type ClusterState,
  clusterKey,
  type AgentName,
  type ClusterRef,
} from '../../contract/index.js';
import type { SimClock } from '../../platform/clock.js';
import { ENV } from '../../platform/settings.js';
import { connect, type NatsConnection, type TlsOptions } from 'nats';
import type { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { parseCreds, userAuthenticator, type UserCredentials } from '../../platform/broker-keys.js';
import { ArmClient, metricValue } from './arm.js';
import { connectCluster } from '../../fleet/onboard.js';
import { waitFor, WaitTimeoutError } from './wait.js';

export const AGENT_SERVICES = ['clusteridentityoperator', 'resource-sync-agent', 'metrics-agent'] as const;
export type AgentService = (typeof AGENT_SERVICES)[number];

/**
 * Fast defaults: 1 simulated minute per real second, heartbeat every 0.5 s, Offline after ~3 s, agent
 * health checked every second.
 */
export const FAST_TIMINGS: Readonly<Record<string, string>> = {
  [ENV.heartbeatInterval]: '30s',
  [ENV.metricsAgentInterval]: '60s',
  [ENV.offlineThreshold]: '3m',
  [ENV.clusterPollInterval]: '200',
  // Metadata at once: the tests that are about its delay set their own.
  [ENV.metadataDelay]: '0',
  [ENV.metadataJitter]: '0',
};

/**
 * Agent links for chaos tests: a silently dropped link is noticed in about a second (pings every 300 ms,
 * two outstanding), a refused one retried within `reconnectMaxMs` (default 1 s).
 */
export function fastLinks(reconnectMaxMs = 1000): Readonly<Record<string, string>> {
  return {
    [ENV.agentPingInterval]: '300',
    [ENV.agentMaxPingOut]: '2',
    [ENV.agentReconnectBase]: '100',
    [ENV.agentReconnectMax]: String(reconnectMaxMs),
    [ENV.agentConnectTimeout]: '500',
  };
}

export interface TestFleetOptions {
  /** Number of generated clusters (default 3) or explicit states. */
  readonly clusters?: number | readonly ClusterState[];
  /** Default 60. */
  readonly timeScale?: number;
  /** Extra env for every service (timings, page size, ...); merged over FAST_TIMINGS. */
  readonly env?: Readonly<Record<string, string>>;
  /** Start the agent services (default true). */
  readonly agents?: boolean;
  /** Onboard every cluster (default true; needs no agents to PUT, only to get Connected). */
  readonly connect?: boolean;
  readonly seed?: number;
  /** Run the emulated apiserver too (default false): the cluster side's objects, `kubectl`. */
  readonly kubeApiserver?: boolean;
  /** Run the egress gateway and point the agents at it (default false). */
  readonly gateway?: boolean;
  /** nats-server nodes (default 1; several make a NATS cluster, processes `nats-server-<i>`). */
  readonly brokers?: number;
  /** Shards (default 1; several run `egress-gateway-<i>` and `<agent>-<i>` per shard). */
  readonly shards?: number;
  /** Hub replicas (`hub-0` … in the fleet's process names when more than one). */
  readonly hubs?: number;
  /** Serve the hub on plain HTTP (`--plain-http`) instead of HTTPS with the fleet's CA. */
  readonly plainHttp?: boolean;
  /** Also run Prometheus on the launcher's scrape targets (default false). */
  readonly prometheus?: boolean;
  readonly scrapeInterval?: string;
}

/** The broker, as the tests stop and restart it. */
export interface TestBroker {
  readonly url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves once healthy. */
  restart(): Promise<void>;
}

const constant =
  <T>(v: T): (() => T) =>
  () =>
    v;

/** The wanted clusters not (yet) in `status`, each with the status it has, or "missing". */
function laggards(last: unknown, wanted: ReadonlySet<string>, status: ConnectivityStatus): string {
  const seen = new Map(
    ((last as { value?: ConnectedCluster[] } | undefined)?.value ?? []).map((c) => [
      c.name.toLowerCase(),
      c.properties.connectivityStatus,
    ]),
  );
  return [...wanted]
    .filter((n) => seen.get(n) !== status)
    .map((n) => `${n}: ${seen.get(n) ?? 'missing'}`)
    .join(', ');
}

export class TestFleet {
  readonly agents = new Map<AgentService, ServiceProcess>();
  /** The egress gateway process and its control API URL, when started with `gateway: true`. */
  readonly gateway: ServiceProcess | undefined;
  readonly gatewayApiUrl: string | undefined;
  readonly hub: ServiceProcess;
  readonly nats: TestBroker;
  readonly dataDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly clock: SimClock;
  readonly store: ClusterStore;
  readonly arm: ArmClient;
  readonly hubClient: HubClient;
  readonly subscriptionId: string;
  readonly clusters: readonly ClusterState[];
  private observer: NatsConnection | undefined;
  /** The last PUT result of each cluster connected through this fleet (LRO URL, token). */
  readonly puts = new Map<string, PutResult>();

  private constructor(readonly handle: FleetHandle) {
    const proc = (name: ProcessName): ServiceProcess => {
      const p = handle.process(name);
      if (!p) throw new Error(`${name} is not running`);
      return p;
    };
    // With replicas (`hubs`), replica 0 (`hub-0`) stands for the hub here, as `hubUrl` does.
    this.hub = proc(handle.process('hub') ? 'hub' : 'hub-0');
    for (const name of AGENT_SERVICES) {
      const p = handle.process(name);
      if (p) this.agents.set(name, p);
    }
    this.gateway = handle.process('egress-gateway') ?? handle.process('egress-gateway-0');
    this.gatewayApiUrl = this.gateway ? handle.egressApiUrl : undefined;
    // One broker node: `nats-server`; a NATS cluster: node 0 stands for the broker here.
    const broker = handle.process('nats-server') ? 'nats-server' : 'nats-server-0';
    this.nats = {
      url: handle.natsUrl,
      stop: () => proc(broker).stop(),
      restart: () => handle.restart(broker),
    };
    this.dataDir = handle.dataDir;
    this.env = handle.serviceEnv;
    this.clock = handle.clock;
    this.store = handle.store;
    this.arm = new ArmClient(handle.hubUrl, undefined, () => handle.token());
    this.hubClient = handle.client;
    this.subscriptionId = handle.subscriptionId;
    this.clusters = handle.clusters;
  }

  static async start(opts: TestFleetOptions = {}): Promise<TestFleet> {
    const dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-it-'));
    const services: ServiceName[] = ['hub'];
    if (opts.gateway) services.push('egress-gateway');
    if (opts.kubeApiserver) services.push('kube-apiserver');
    if (opts.agents ?? true) services.push(...AGENT_SERVICES);
    // The apiserver's clustermetadata is written by cluster-metadata-operator, and the azure-arc
    // Deployments and Pods by controller-manager: both talk only to the apiserver.
    if (opts.kubeApiserver && (opts.agents ?? true))
      services.push('cluster-metadata-operator', 'controller-manager');
    let handle: FleetHandle;
    try {
      handle = await startFleet({
        dataDir,
        services,
        ...(typeof opts.clusters === 'object'
          ? { clusterStates: opts.clusters }
          : { clusters: opts.clusters ?? 3, seed: opts.seed ?? 7 }),
        subscriptionId: randomUUID(),
        resourceGroup: `it-${randomBytes(4).toString('hex')}`,
        timeScale: opts.timeScale ?? 60,
        ...(opts.brokers === undefined ? {} : { brokers: opts.brokers }),
        ...(opts.shards === undefined ? {} : { shards: opts.shards }),
        ...(opts.hubs === undefined ? {} : { hubs: opts.hubs }),
        ...(opts.plainHttp ? { plainHttp: true } : {}),
        env: { ...FAST_TIMINGS, ...opts.env },
        connect: false,
        supervise: false,
        captureLogs: true,
        ...(opts.prometheus ? { prometheus: true } : {}),
        ...(opts.scrapeInterval ? { scrapeInterval: opts.scrapeInterval } : {}),
      });
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
    const fleet = new TestFleet(handle);
    try {
      if (opts.connect ?? true) for (const c of fleet.clusters) await fleet.connect(c.name);
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  get hubUrl(): string {
    return this.arm.baseUrl;
  }

  /** The live page, its feed and /metrics over plain HTTP (hubUrl on a plain-HTTP fleet). */
  get pageUrl(): string {
    return this.handle.pageUrl;
  }

  agent(name: AgentService): ServiceProcess {
    const p = this.agents.get(name);
    if (!p) throw new Error(`agent service ${name} was not started`);
    return p;
  }

  service(name: ProcessName): ServiceProcess {
    const p = this.handle.process(name);
    if (!p) throw new Error(`${name} was not started`);
    return p;
  }

  /**
   * A call to the gateway's control API; returns status and parsed body. A sharded fleet's gateways
   * all get a change (as the CLI sends it); the first one answers reads.
   */
  async gatewayApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    if (!this.gatewayApiUrl) throw new Error('the egress gateway was not started');
    const call = async (base: string): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(`${base}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        signal: AbortSignal.timeout(5000),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    };
    const [first, ...rest] = method === 'GET' ? [this.gatewayApiUrl] : this.handle.egressApiUrls;
    const answers = await Promise.all([first ?? this.gatewayApiUrl, ...rest].map(call));
    return answers.find((a) => a.status >= 400) ?? (answers[0] as { status: number; body: unknown });
  }

  async waitHubReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.hub.running) throw new Error(`hub exited (${this.hub.exitCode}):\n${this.hub.tail()}`);
        const res = await fetch(`${this.hubUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return res.status;
      },
      { timeoutMs, until: (s) => s === 200, message: 'hub /readyz 200' },
    );
  }

  ref(name: string): ClusterRef {
    const c = this.clusters.find((x) => x.name === name);
    if (!c) throw new Error(`no cluster ${name} in this fleet`);
    return { subscriptionId: c.subscriptionId, resourceGroup: c.resourceGroup, name: c.name };
  }

  /** `arcfleet connect NAME`: PUT with a fresh agent key, onboarding secret into the cluster store. */
  async connect(name: string): Promise<PutResult> {
    const state = await this.store.readState(name);
    if (!state) throw new Error(`cluster ${name} is not in the store`);
    const result = await connectCluster(this.hubClient, this.store, state);
    this.puts.set(name, result);
    return result;
  }

  get(name: string): Promise<ConnectedCluster> {
    return this.arm.cluster(this.ref(name));
  }

  /** Waits until the cluster's connectivityStatus is `status`; returns the resource. */
  waitStatus(name: string, status: ConnectivityStatus, timeoutMs = 20_000): Promise<ConnectedCluster> {
    return waitFor(() => this.get(name), {
      timeoutMs,
      intervalMs: 150,
      until: (c) => c.properties.connectivityStatus === status,
      message: `${name} connectivityStatus ${status}`,
    });
  }

  /** Waits until every listed cluster (default all) is `status`. */
  async waitAll(
    status: ConnectivityStatus,
    names?: readonly string[],
    timeoutMs = 30_000,
  ): Promise<ConnectedCluster[]> {
    const wanted = new Set((names ?? this.clusters.map((c) => c.name)).map((n) => n.toLowerCase()));
    const { value } = await waitFor(() => this.arm.listSubscription(this.subscriptionId), {
      timeoutMs,
      intervalMs: 200,
      until: (l) =>
        l.value.filter((c) => wanted.has(c.name.toLowerCase()) && c.properties.connectivityStatus === status)
          .length === wanted.size,
      message: `${wanted.size} clusters ${status}`,
      // The whole LIST is too long to read in a failure: name the clusters that are not there yet.
      onTimeout: (last) =>
        new WaitTimeoutError(
          `timed out after ${timeoutMs} ms waiting for ${wanted.size} clusters ${status}; not yet: ${
            last instanceof Error ? `${last.name}: ${last.message}` : laggards(last, wanted, status)
          }`,
          last,
        ),
    });
    return value.filter((c) => wanted.has(c.name.toLowerCase()));
  }

  /** Scales the given agents of one cluster to zero (`stoppedAgents` in cluster.json). */
  async stopAgents(name: string, agents: readonly AgentName[]): Promise<void> {
    await this.store.updateState(name, new Date(this.clock.now()).toISOString(), (s) => ({
      ...s,
      stoppedAgents: [...new Set([...s.stoppedAgents, ...agents])],
    }));
  }

  async startAgents(name: string): Promise<void> {
    await this.store.updateState(name, new Date(this.clock.now()).toISOString(), (s) => ({
      ...s,
      stoppedAgents: [],
      features: { clusterConnect: true, azureRbac: false },
      faults: {},
    }));
  }

  /** Where a cluster's NATS user is kept (its clusteridentityoperator writes it, 0600). */
  clusterCredentialsPath(name: string): string {
    return this.store.brokerCredentialsPath(name);
  }

  /** A cluster's NATS user, as its agents present it. */
  async clusterCredentials(name: string): Promise<UserCredentials> {
    const creds = await this.store.readBrokerCredentials(name);
    if (creds === undefined) throw new Error(`${name} has no broker credentials in the cluster store`);
    return parseCreds(creds);
  }

  /** What reaches this fleet's broker over its TLS (none with `plainHttp`); agents' SNI via `serverName`. */
  natsTls(serverName?: string): Promise<{ tls?: TlsOptions }> {
    return this.handle.natsTls(serverName);
  }

  /** The cloud side's NATS user (the hub's): the broker refuses anonymous clients. */
  natsCredentials(): Promise<UserCredentials> {
    return this.handle.natsCredentials();
  }

  /**
   * The hub's persisted projection of a cluster, as stored in JetStream KV (bucket
   * ARCFLEET_HUB_KV_BUCKET, default `arcfleet-clusters`, key = cluster key), or undefined.
   */
  async persisted(name: string): Promise<string | undefined> {
    this.observer ??= await connect({
      servers: this.nats.url.split(','),
      name: 'integration-test-observer',
      authenticator: userAuthenticator(constant(await this.natsCredentials())),
      ...(await this.natsTls()),
    });
    const kv = await this.observer.jetstream().views.kv(this.env[ENV.hubKvBucket] ?? 'arcfleet-clusters', {
      bindOnly: true,
    });
    const entry = await kv.get(clusterKey(this.ref(name)));
    return entry && entry.operation === 'PUT' ? entry.string() : undefined;
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue(await this.arm.metrics(), name, labels);
  }

  /** Output of every process, for failure messages. */
  diagnostics(): string {
    // Every process of the fleet (replicas and shards included), each with its last lines.
    const failure = this.handle.failure();
    return (failure ? [`--- exited ---\n${failure}`] : [])
      .concat(
        Object.keys(this.handle.pids()).map(
          (name) => `--- ${name} ---\n${this.handle.process(name as ProcessName)?.tail(30) ?? ''}`,
        ),
      )
      .join('\n');
  }

  async stop(): Promise<void> {
    await this.observer?.close();
    await this.handle.stop(3000);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
