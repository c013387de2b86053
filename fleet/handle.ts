/** What `startFleet` hands back: addresses, the processes, and the operations on a running fleet. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsOptions } from 'nats';
import { ArcError, ERROR_CODES, type ClusterState, type ConnectedCluster } from '../contract/index.js';
import type { ClusterStore } from '../agent-runtime/cluster-store.js';
import type { UserCredentials } from '../platform/broker-keys.js';
import { readHubCreds } from '../platform/broker-files.js';
import type { SimClock } from '../platform/clock.js';
import { TLS_FILES } from '../platform/fleet-tls.js';
import { brokerTls } from '../platform/nats.js';
import {
  brokerDir,
  gatewayApiUrls,
  hubPageUrlOf,
  hubUrlOf,
  loopback,
  tlsDir,
  natsUrls,
  type ProcessName,
  type ServiceName,
} from './components.js';
import type { HubClient, PutResult, TokenSource } from './clients/hub-client.js';
import type { FleetProcesses } from './fleet-processes.js';
import { connectCluster } from './onboard.js';
import type { FleetPlan } from './plan.js';
import type { ServiceProcess } from './process.js';
import { waitAllConnected, type Progress } from './progress.js';
import type { ServiceSupervision } from './supervision.js';

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly onProgress?: (p: Progress) => void;
  /** Default: every cluster of the fleet. */
  readonly names?: readonly string[];
}

export interface FleetHandle {
  readonly dataDir: string;
  /** Replica 0's ARM API and cluster connect: `https://…` unless the fleet runs plain HTTP. */
  readonly hubUrl: string;
  readonly hubPort: number;
  /** Every hub replica's URL (`hubs`), replica 0's (hubUrl) first. */
  readonly hubUrls: readonly string[];
  /** Replica 0's live page and /metrics over plain HTTP (hubUrl itself on a plain-HTTP fleet). */
  readonly pageUrl: string;
  /** The fleet CA's certificate the hub's is signed by; undefined on a plain-HTTP fleet. */
  readonly caFile: string | undefined;
  /** A bearer token for the ARM API from the fleet's issuer: the owner's, or `user`'s. */
  token(user?: string): Promise<string>;
  /** Every broker node's URL, comma-separated (platform/nats.ts connects to any of them). */
  readonly natsUrl: string;
  /** Node 0's monitoring endpoint. */
  readonly natsMonitorUrl: string;
  /** Every broker node's monitoring endpoint (`/varz`, `/connz`, `/jsz`). */
  readonly natsMonitorUrls: readonly string[];
  /**
   * The cloud side's NATS user (the hub's, from `<dataDir>/broker/hub.creds`), for tools that must read
   * the hub's KV or stand in for it (tests, the bench). The broker refuses anonymous clients.
   */
  natsCredentials(): Promise<UserCredentials>;
  /**
   * nats.js options that reach this fleet's broker: its TLS (the fleet CA, `serverName` as SNI; an
   * agent's is `agentServerName(agent, cluster)`), or nothing for a `--plain-http` fleet.
   */
  natsTls(serverName?: string): Promise<{ tls?: TlsOptions }>;
  /** The local Prometheus (with `prometheus: true`). */
  readonly prometheusUrl: string | undefined;
  /** The file_sd JSON listing every /metrics target: `<dataDir>/prometheus/targets.json`. */
  readonly targetsFile: string;
  /** Control API of the egress gateway every agent connection leaves through (shard 0's). */
  readonly egressApiUrl: string;
  /** Every shard's gateway control API (chaos goes to all: fleet/clients/egress-gateway.ts). */
  readonly egressApiUrls: readonly string[];
  /** Every shard's gateway as the agents dial it (`nats://…`); empty without a gateway. */
  readonly egressUrls: readonly string[];
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
  /** The components this fleet runs, in start order. */
  readonly services: readonly ServiceName[];
  /** The environment every Node service was started with. */
  readonly serviceEnv: Readonly<NodeJS.ProcessEnv>;
  pids(): Record<string, number>;
  /** The process of a component (its logs, its restarts), or undefined when the fleet does not run it. */
  process(name: ProcessName): ServiceProcess | undefined;
  /** A process that exited without being asked to, described; undefined while all run. */
  failure(): string | undefined;
  /** Sends a signal to one service (e.g. SIGKILL the hub) as an intentional stop: it is not restarted. */
  kill(name: ProcessName, signal?: NodeJS.Signals): void;
  /** Sends a signal to one service as a crash would (default SIGKILL): the supervisor restarts it. */
  crash(name: ProcessName, signal?: NodeJS.Signals): void;
  /** Per service: pid, restarts and last unasked exit. */
  supervision(): ServiceSupervision[];
  /**
   * Stops restarting services (at once, before stop()): on Ctrl-C the terminal signals every process
   * of the group, and their exits are not crashes.
   */
  unsupervise(): void;
  /** Stops (SIGTERM→SIGKILL) if still running, then starts the service again; waits until it is ready. */
  restart(name: ProcessName): Promise<void>;
  /** Onboards (again) a cluster that is in the store. */
  connect(name: string): Promise<PutResult>;
  list(): Promise<ConnectedCluster[]>;
  waitAllConnected(opts?: WaitOptions): Promise<Progress>;
  /** Stops every process (agents, servers, broker); safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

export function createHandle(deps: {
  plan: FleetPlan;
  fleet: FleetProcesses;
  store: ClusterStore;
  client: HubClient;
  tokens: TokenSource;
  targetsFile: string;
}): FleetHandle {
  const { plan, fleet, store, client } = deps;
  const a = plan.addresses;
  const allNames = plan.clusters.map((c) => c.name.toLowerCase());
  return {
    dataDir: plan.dataDir,
    hubUrl: hubUrlOf(a),
    hubPort: a.hubPort,
    hubUrls: a.hubPorts.map((_, i) => hubUrlOf(a, i)),
    pageUrl: hubPageUrlOf(a),
    caFile: a.tls ? join(tlsDir(plan.dataDir), TLS_FILES.ca) : undefined,
    token: deps.tokens,
    natsUrl: natsUrls(a),
    natsMonitorUrl: loopback(a.natsMonitorPort),
    natsMonitorUrls: a.natsNodes.map((n) => loopback(n.monitorPort)),
    natsCredentials: () => readHubCreds(brokerDir(plan.dataDir)),
    natsTls: async (serverName) =>
      a.tls
        ? { tls: brokerTls(await readFile(join(tlsDir(a.dataDir), TLS_FILES.ca), 'utf8'), serverName) }
        : {},
    prometheusUrl: plan.services.includes('prometheus') ? loopback(a.prometheusPort) : undefined,
    targetsFile: deps.targetsFile,
    egressApiUrl: loopback(a.egressApiPort),
    egressApiUrls: a.egressApiPorts.length > 0 ? gatewayApiUrls(a) : [loopback(a.egressApiPort)],
    egressUrls: a.egressPorts.map((p) => `nats://127.0.0.1:${p}`),
    kubeApiserverUrl: loopback(a.kubeApiserverPort),
    subscriptionId: plan.subscriptionId,
    resourceGroup: plan.resourceGroup,
    timeScale: plan.timeScale,
    epochMs: plan.epochMs,
    clock: plan.clock,
    clusters: plan.clusters,
    store,
    client,
    services: plan.services,
    serviceEnv: plan.serviceEnv,
    pids: () => fleet.pids(),
    process: (name) => fleet.processes.get(name),
    failure: () => fleet.failure(),
    kill(name, signal = 'SIGTERM') {
      const proc = fleet.processes.get(name);
      if (proc) {
        proc.stopping = true;
        proc.signal(signal);
      }
    },
    crash(name, signal = 'SIGKILL') {
      fleet.processes.get(name)?.signal(signal);
    },
    supervision: () => fleet.supervisor.report(fleet.processes),
    unsupervise: () => fleet.supervisor.pause(),
    async restart(name) {
      await fleet.respawn(name);
      await fleet.saveFleetFile();
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
      return (await client.listClusters(plan.subscriptionId)).value;
    },
    waitAllConnected(w: WaitOptions = {}) {
      return waitAllConnected({
        client,
        subscriptionId: plan.subscriptionId,
        names: new Set(w.names ? w.names.map((n) => n.toLowerCase()) : allNames),
        timeoutMs: w.timeoutMs ?? 180_000,
        pollMs: w.pollMs ?? 500,
        ...(w.onProgress ? { onProgress: w.onProgress } : {}),
        abort: () => fleet.failureError(),
      });
    },
    stop: (graceMs) => fleet.stop(graceMs),
  };
}
