/**
 * A whole fleet for integration tests: real nats-server (JetStream) + hub + agent processes + N
 * emulated clusters in a temporary data dir, on a fast simulated clock. Cluster states come from the
 * CLI's fleet generator and onboarding reuses the CLI's `connectCluster` (what `arcfleet connect`
 * does); processes are run by this harness so tests can read their logs, kill and restart them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster } from '../../cli/onboard.js';
import { HubClient, type PutResult } from '../../cli/clients/hub-client.js';
import { generateFleet } from '../../cli/fleet-generator.js';
import {
  type ConnectedCluster,
  type ConnectivityStatus,
  type ClusterState,
  clusterKey,
  type AgentName,
  type ClusterRef,
} from '../../contract/index.js';
import { SimClock } from '../../platform/clock.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { ENV } from '../../platform/settings.js';
import { connect, type NatsConnection } from 'nats';
import { ArmClient, metricValue } from './arm.js';
import { NatsServer } from './nats.js';
import { freePort } from './ports.js';
import { ServiceProcess, type ServiceName } from './processes.js';
import { waitFor } from './wait.js';

export const AGENT_SERVICES = ['clusteridentityoperator', 'resource-sync-agent', 'metrics-agent'] as const;
export type AgentService = (typeof AGENT_SERVICES)[number];

/** Fast defaults: 1 simulated minute per real second, heartbeat every 0.5 s, Offline after ~3 s. */
export const FAST_TIMINGS: Readonly<Record<string, string>> = {
  [ENV.heartbeatInterval]: '30s',
  [ENV.offlineThreshold]: '3m',
  [ENV.clusterPollInterval]: '200',
};

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
  /** Run the egress gateway and point the agents at it (default false). */
  readonly gateway?: boolean;
}

export class TestFleet {
  readonly agents = new Map<AgentService, ServiceProcess>();
  /** The egress gateway process and its control API URL, when started with `gateway: true`. */
  gateway: ServiceProcess | undefined;
  gatewayApiUrl: string | undefined;
  private observer: NatsConnection | undefined;
  /** The last PUT result of each cluster connected through this fleet (LRO URL, token). */
  readonly puts = new Map<string, PutResult>();

  private constructor(
    readonly nats: NatsServer,
    readonly hub: ServiceProcess,
    readonly dataDir: string,
    readonly env: NodeJS.ProcessEnv,
    readonly clock: SimClock,
    readonly store: ClusterStore,
    readonly arm: ArmClient,
    readonly hubClient: HubClient,
    readonly subscriptionId: string,
    readonly clusters: readonly ClusterState[],
  ) {}

  static async start(opts: TestFleetOptions = {}): Promise<TestFleet> {
    const dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-it-'));
    const timeScale = opts.timeScale ?? 60;
    const epochMs = Date.now();
    const clock = new SimClock(timeScale, epochMs);
    const subscriptionId = randomUUID();
    const resourceGroup = `it-${randomBytes(4).toString('hex')}`;
    const nowIso = new Date(clock.now()).toISOString();
    const clusters =
      typeof opts.clusters === 'object'
        ? opts.clusters.map((c) => ({ ...c, generation: 0, changedAt: nowIso }))
        : generateFleet({
            count: opts.clusters ?? 3,
            seed: opts.seed ?? 7,
            subscriptionId,
            resourceGroup,
            nowIso,
          });
    const nats = await NatsServer.start({ storeDir: join(dataDir, 'nats') });
    const hubPort = await freePort();
    const hubUrl = `http://127.0.0.1:${hubPort}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...FAST_TIMINGS,
      ...opts.env,
      [ENV.natsUrl]: nats.url,
      [ENV.hubPort]: String(hubPort),
      [ENV.hubHost]: '127.0.0.1',
      [ENV.hubPublicUrl]: hubUrl,
      [ENV.timeScale]: String(timeScale),
      [ENV.clockEpochMs]: String(epochMs),
      [ENV.dataDir]: dataDir,
    };
    if (opts.gateway) {
      const [egressPort, egressApiPort] = [await freePort(), await freePort()];
      env[ENV.egressPort] = String(egressPort);
      env[ENV.egressApiPort] = String(egressApiPort);
      env[ENV.egressUrl] = `nats://127.0.0.1:${egressPort}`;
    }
    const hub = ServiceProcess.start('hub', env);
    const store = new ClusterStore(dataDir);
    const fleet = new TestFleet(
      nats,
      hub,
      dataDir,
      env,
      clock,
      store,
      new ArmClient(hubUrl),
      new HubClient(hubUrl),
      clusters[0]?.subscriptionId ?? subscriptionId,
      clusters,
    );
    try {
      await fleet.waitHubReady();
      if (opts.gateway) await fleet.startGateway();
      for (const c of clusters) await store.writeState(c);
      if (opts.agents ?? true)
        for (const name of AGENT_SERVICES) fleet.agents.set(name, ServiceProcess.start(name, env));
      if (opts.connect ?? true) for (const c of clusters) await fleet.connect(c.name);
    } catch (err) {
      await fleet.stop();
      throw err;
    }
    return fleet;
  }

  get hubUrl(): string {
    return this.arm.baseUrl;
  }

  agent(name: AgentService): ServiceProcess {
    const p = this.agents.get(name);
    if (!p) throw new Error(`agent service ${name} was not started`);
    return p;
  }

  service(name: ServiceName): ServiceProcess {
    if (name === 'egress-gateway') {
      if (!this.gateway) throw new Error('the egress gateway was not started');
      return this.gateway;
    }
    return name === 'hub' ? this.hub : this.agent(name);
  }

  private async startGateway(): Promise<void> {
    const gateway = ServiceProcess.start('egress-gateway', this.env);
    this.gateway = gateway;
    const url = `http://127.0.0.1:${this.env[ENV.egressApiPort] ?? ''}`;
    this.gatewayApiUrl = url;
    await waitFor(
      async () => {
        if (!gateway.running) throw new Error(`gateway exited (${gateway.exitCode}):\n${gateway.tail()}`);
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return res.status;
      },
      { timeoutMs: 15_000, until: (s) => s === 200, message: 'egress gateway /healthz 200' },
    );
  }

  /** A call to the gateway's control API; returns status and parsed body. */
  async gatewayApi(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    if (!this.gatewayApiUrl) throw new Error('the egress gateway was not started');
    const res = await fetch(`${this.gatewayApiUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
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
      features: { clusterConnect: true },
      faults: {},
    }));
  }

  /**
   * The hub's persisted projection of a cluster, as stored in JetStream KV (bucket
   * ARCFLEET_HUB_KV_BUCKET, default `arcfleet-clusters`, key = cluster key), or undefined.
   */
  async persisted(name: string): Promise<string | undefined> {
    this.observer ??= await connect({ servers: this.nats.url, name: 'integration-test-observer' });
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
    const parts = [`--- hub ---\n${this.hub.tail(30)}`];
    for (const [name, p] of this.agents) parts.push(`--- ${name} ---\n${p.tail(30)}`);
    if (this.gateway) parts.push(`--- egress-gateway ---\n${this.gateway.tail(30)}`);
    return parts.join('\n');
  }

  async stop(): Promise<void> {
    await this.observer?.close();
    await Promise.all([...this.agents.values()].map((p) => p.stop(3000)));
    await this.gateway?.stop(3000);
    await this.hub.stop(3000);
    await this.nats.stop(3000);
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
