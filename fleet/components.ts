/**
 * The component table: every process of a fleet, one row each, in start order (stop order is the
 * reverse). The launcher, the supervisor, the tests' fixture, the bench and the compose test's service
 * list all come from these rows; adding a service is adding a row (see docs/development.md).
 *
 * A row says what the process is (side, role), how to start it (a Node service under
 * `dist/services/<name>/main.js`, or a binary with its arguments), what it needs in its environment
 * beyond the fleet-wide settings, and how to tell it is ready (a URL answering 200).
 */
import { join } from 'node:path';
import { agentHasLink, type AgentName } from '../contract/index.js';
import { BROKER_FILES, brokerNodeFiles } from '../platform/broker-files.js';
import { TLS_FILES } from '../platform/fleet-tls.js';
import { ISSUER_FILES } from '../platform/fleet-issuer.js';
import { ENV } from '../platform/settings.js';
import { brokerAccountKeys, registerBrokerAccounts } from './broker-accounts.js';
import { findNatsServer } from './nats-server.js';
import { issuerDir } from './tokens.js';
import { findPrometheus, prometheusConfigFile, prometheusDir } from './prometheus.js';

/** One node of the broker: client, monitoring and route ports (loopback). */
export interface NatsNodeAddress {
  readonly port: number;
  readonly monitorPort: number;
  readonly routePort: number;
}

/** Every port and URL of one fleet, chosen before anything starts (free ports unless given). */
export interface FleetAddresses {
  readonly dataDir: string;
  /** Node 0's client port (every node serves every client). */
  readonly natsPort: number;
  readonly natsMonitorPort: number;
  /** Every node of the broker; more than one make a NATS cluster. */
  readonly natsNodes: readonly NatsNodeAddress[];
  /** Hub replica 0's HTTP port (the CLI's and the tests' hub). */
  readonly hubPort: number;
  /** Every hub replica's HTTP port (`--hubs H`), replica 0's first. */
  readonly hubPorts: readonly number[];
  /** The hub speaks HTTPS with the fleet's CA (the default; `--plain-http` turns it off). */
  readonly tls: boolean;
  /** With TLS, each replica's plain-HTTP port for the live page and /metrics (loopback). */
  readonly hubPagePorts: readonly number[];
  /** Shard 0's gateway (agents' side and control API). */
  readonly egressPort: number;
  readonly egressApiPort: number;
  /**
   * Shards: each has its own egress gateway and one process per agent kind, hosting the clusters
   * `shardOf` assigns it (contract/shards.ts).
   */
  readonly shards: number;
  /** Per shard: its gateway's agent-facing port and control API port. */
  readonly egressPorts: readonly number[];
  readonly egressApiPorts: readonly number[];
  readonly kubeApiserverPort: number;
  /** Per shard: its kube-aad-proxy's port (loopback), where its clusterconnect-agent relays to. */
  readonly kubeAadProxyPorts: readonly number[];
  /** Per shard: its guard's port (loopback), which its kube-aad-proxy asks about each request. */
  readonly guardPorts: readonly number[];
  readonly prometheusPort: number;
  /** Each agent process's /metrics port (loopback), by process name. */
  readonly metricsPorts: ReadonlyMap<string, number>;
}

/** The broker's trust chain and configuration (platform/broker-files.ts). */
export const brokerDir = (dataDir: string): string => join(dataDir, 'broker');

/** The fleet's CA and the hub's certificate (platform/fleet-tls.ts); kept across `--reset`. */
export const tlsDir = (dataDir: string): string => join(dataDir, 'tls');

export const loopback = (port: number): string => `http://127.0.0.1:${port}`;

function hubPort(a: FleetAddresses, i: number): number {
  const port = a.hubPorts[i];
  if (port === undefined) throw new Error(`no hub replica ${i}`);
  return port;
}

/** Hub replica `i`'s API URL: HTTPS unless the fleet runs plain HTTP. */
export function hubUrlOf(a: FleetAddresses, i = 0): string {
  return a.tls ? `https://127.0.0.1:${hubPort(a, i)}` : loopback(hubPort(a, i));
}

/** Where replica `i` serves the live page and /metrics over plain HTTP (its API port without TLS). */
export function hubPageUrlOf(a: FleetAddresses, i = 0): string {
  if (!a.tls) return loopback(hubPort(a, i));
  const port = a.hubPagePorts[i];
  if (port === undefined) throw new Error(`no page port for hub replica ${i}`);
  return loopback(port);
}

/** The hub's TLS settings: its certificate and key, and the CA its kubeconfigs carry. */
function hubTlsEnv(a: FleetAddresses, i: number): Record<string, string> {
  if (!a.tls) return {};
  const dir = tlsDir(a.dataDir);
  return {
    [ENV.hubTlsCert]: join(dir, TLS_FILES.cert),
    [ENV.hubTlsKey]: join(dir, TLS_FILES.key),
    [ENV.hubTlsCa]: join(dir, TLS_FILES.ca),
    [ENV.hubPagePort]: String(a.hubPagePorts[i]),
    [ENV.hubPageHost]: '127.0.0.1',
  };
}

function natsNode(a: FleetAddresses, i: number): NatsNodeAddress {
  const node = a.natsNodes[i];
  if (!node) throw new Error(`no broker node ${i}`);
  return node;
}

/** Every process a fleet can run. */
export type ServiceName =
  'nats-server' | 'hub' | 'egress-gateway' | 'kube-apiserver' | AgentName | 'prometheus';
/** A process of the fleet: its row's name, or `<row>-<i>` when the row runs several instances. */
export type ProcessName = ServiceName | `${ServiceName}-${number}`;
/** The processes this repository builds (`dist/services/<name>/main.js`). */
export type NodeServiceName = Exclude<ServiceName, 'nats-server' | 'prometheus'>;

export interface Component {
  readonly name: ServiceName;
  /** cloud: Azure's side; cluster: inside a customer's cluster or network; observability: tooling. */
  readonly side: 'cloud' | 'cluster' | 'observability';
  /** One line: what it is (the README's process list and `arcfleet ps` use it). */
  readonly role: string;
  /** A Node service of this repository, or an installed binary. */
  readonly run: { readonly kind: 'node' } | { readonly kind: 'binary'; readonly find: () => string };
  /** A fleet cannot run without it. */
  readonly required?: boolean;
  /** An agent of every emulated cluster (one process hosts all clusters). */
  readonly agent?: boolean;
  /** How many processes the row runs (default 1); each function below gets the instance's index. */
  readonly instances?: (a: FleetAddresses) => number;
  /** Binary arguments (binaries only). */
  readonly args?: (a: FleetAddresses, i: number) => readonly string[];
  /** Environment of this row beyond the fleet-wide settings. */
  readonly env?: (a: FleetAddresses, i: number) => Readonly<Record<string, string>>;
  /** Node.js/V8 flags before the service's script (Node services only). */
  readonly nodeArgs?: readonly string[];
  /** Answers 200 once the process is ready; none: started is ready. */
  readonly readyUrl?: (a: FleetAddresses, i: number) => string;
  /** Real ms the process may take to get ready at the least (the launcher's start timeout if longer). */
  readonly readyTimeoutMs?: number;
  /** Answers 2xx while the process works (the supervisor's liveness probe, once ready); none: not probed. */
  readonly healthUrl?: (a: FleetAddresses, i: number) => string;
  /** Done by the launcher once the process answers, before the rows after it start (and after a restart). */
  readonly afterReady?: (a: FleetAddresses, i: number) => Promise<void>;
  /** host:port Prometheus scrapes for its /metrics. */
  readonly scrape?: (a: FleetAddresses, i: number) => string;
  /** The launcher's line once it is ready ("ready on nats://…"). */
  readonly announce?: (a: FleetAddresses, i: number) => string;
}

/** The name of a row's process `i` of `n`: the row's name alone, or `<row>-<i>`. */
export function instanceName(row: ServiceName, i: number, n: number): ProcessName {
  return n === 1 ? row : `${row}-${i}`;
}

/** One process of a row. */
export interface ProcessInstance {
  readonly name: ProcessName;
  readonly row: Component;
  readonly index: number;
}

/** The processes a row runs: the row's name alone, or `<row>-0` … `<row>-<n-1>`. */
export function rowInstances(row: Component, a: FleetAddresses): ProcessInstance[] {
  const n = row.instances?.(a) ?? 1;
  return Array.from({ length: n }, (_, index) => ({ name: instanceName(row.name, index, n), row, index }));
}

/** Every node's client URL, comma-separated (ARCFLEET_NATS_URL: clients fail over between them). */
export const natsUrls = (a: FleetAddresses): string =>
  a.natsNodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');

/** Every shard's gateway control API (none when the fleet runs no gateway). */
export const gatewayApiUrls = (a: FleetAddresses): string[] => a.egressApiPorts.map((p) => loopback(p));

/** Port `i` of a per-shard list. */
function shardPort(ports: readonly number[], i: number): number {
  const port = ports[i];
  if (port === undefined) throw new Error(`no port for shard ${i}`);
  return port;
}

/** What every process of shard `i` is told: its shard, and its shard's gateway (if the fleet runs one). */
const shardEnv = (a: FleetAddresses, i: number): Record<string, string> => ({
  [ENV.shard]: `${i}/${a.shards}`,
  ...(a.egressPorts.length > 0 ? { [ENV.egressUrl]: `nats://127.0.0.1:${shardPort(a.egressPorts, i)}` } : {}),
});

/**
 * V8 heap sizing of the agent processes (docs/benchmarks.md, "Memory per cluster"). Each holds one NATS
 * connection per cluster, 30-60 KiB of live heap per cluster; V8's defaults let the old space grow to
 * up to 4x what survived the last full GC, and after the onboarding burst it stayed there (config-agent
 * 189, extension-manager 226 KiB RSS per cluster), with young generations of 2 x 16 MiB in every
 * process. 1.5x the live set and 2 x 4 MiB semi-spaces: 62-70 KiB per cluster, 10-30 MiB less base.
 * The hub and the gateway keep the defaults: their throughput is what the bench measures.
 */
export const AGENT_NODE_ARGS: readonly string[] = ['--max-semi-space-size=4', '--heap-growing-percent=50'];

/**
 * Go's GC target for nats-server (GOGC; the environment's wins). The broker's live heap is ~34 KiB per
 * client connection (six per cluster), and the default (100) lets the heap reach twice that before a
 * collection: 50 keeps it to 1.5x, ~15 % less RSS, at a GC cost within the noise of its CPU.
 */
export const NATS_SERVER_GOGC = '50';

const agentRow = (
  name: AgentName,
  role: string,
  env: (a: FleetAddresses, i: number) => Record<string, string> = () => ({}),
): Component => {
  const metricsPort = (a: FleetAddresses, i: number): number =>
    a.metricsPorts.get(instanceName(name, i, a.shards)) ?? 0;
  return {
    name,
    side: 'cluster',
    role,
    run: { kind: 'node' },
    agent: true,
    nodeArgs: AGENT_NODE_ARGS,
    instances: (a) => a.shards,
    env: (a, i) => ({
      [ENV.metricsPort]: String(metricsPort(a, i)),
      // A cluster-local agent is told its shard but not the way out: it has no business there.
      ...(agentHasLink(name) ? shardEnv(a, i) : { [ENV.shard]: `${i}/${a.shards}` }),
      ...env(a, i),
    }),
    scrape: (a, i) => `127.0.0.1:${metricsPort(a, i)}`,
    healthUrl: (a, i) => `${loopback(metricsPort(a, i))}/healthz`,
  };
};

export const COMPONENTS: readonly Component[] = [
  {
    name: 'nats-server',
    side: 'cloud',
    role: 'the broker (JetStream); agents reach it only outbound',
    run: { kind: 'binary', find: () => findNatsServer() },
    required: true,
    // One per broker node: several make a NATS cluster (`--brokers`).
    instances: (a) => a.natsNodes.length,
    // Operator mode (docs/broker-identity.md): the launcher writes nats.conf and the trust chain first.
    args: (a, i) => ['-c', join(brokerDir(a.dataDir), brokerNodeFiles(i, a.natsNodes.length).config)],
    env: () => ({ GOGC: process.env.GOGC ?? NATS_SERVER_GOGC }),
    readyUrl: (a, i) => `${loopback(natsNode(a, i).monitorPort)}/healthz`,
    // Fails when JetStream has switched itself off (a full disk), which only a restart undoes; not while
    // a NATS cluster elects a leader, which the full /healthz (readiness) also waits for.
    healthUrl: (a, i) => `${loopback(natsNode(a, i).monitorPort)}/healthz?js-enabled-only=true`,
    // Before the hub or any agent connects: nats-server 2.9 can bind CLUSTERS's imports to a HUB that
    // lost a registration race (broker-accounts.ts).
    afterReady: async (a, i) =>
      registerBrokerAccounts(
        loopback(natsNode(a, i).monitorPort),
        await brokerAccountKeys(brokerDir(a.dataDir)),
      ),
    announce: (a, i) =>
      `ready on nats://127.0.0.1:${natsNode(a, i).port} (monitor ${loopback(natsNode(a, i).monitorPort)})`,
  },
  {
    name: 'hub',
    side: 'cloud',
    role: 'ARM API, projections, connectivity, configuration, cluster connect, live page',
    run: { kind: 'node' },
    required: true,
    // One per replica (`--hubs`), each with its own HTTP port, all in the `hub` queue group.
    instances: (a) => a.hubPorts.length,
    env: (a, i) => ({
      [ENV.hubPort]: String(hubPort(a, i)),
      [ENV.hubPublicUrl]: hubUrlOf(a, i),
      // Public keys only: the hub checks tokens, it does not mint them.
      [ENV.hubTokenKeys]: join(issuerDir(a.dataDir), ISSUER_FILES.jwks),
      ...hubTlsEnv(a, i),
      [ENV.natsCreds]: join(brokerDir(a.dataDir), BROKER_FILES.hubCreds),
      [ENV.natsSystemCreds]: join(brokerDir(a.dataDir), BROKER_FILES.systemCreds),
      [ENV.brokerKeys]: join(brokerDir(a.dataDir), BROKER_FILES.hubKeys),
    }),
    // The plain page port when there is one: readiness and scrapes need no CA.
    readyUrl: (a, i) => `${hubPageUrlOf(a, i)}/readyz`,
    // It waits up to 60 s for JetStream (untilJetStream: a broker node just died and the survivors
    // elect leaders), so the launcher must not give up on it sooner.
    readyTimeoutMs: 75_000,
    healthUrl: (a, i) => `${hubPageUrlOf(a, i)}/healthz`,
    scrape: (a, i) => new URL(hubPageUrlOf(a, i)).host,
    announce: (a, i) =>
      a.tls ? `ready on ${hubUrlOf(a, i)} (page ${hubPageUrlOf(a, i)}/)` : `ready on ${hubUrlOf(a, i)}`,
  },
  {
    name: 'egress-gateway',
    side: 'cluster',
    role: "the clusters' outbound path (an on-prem firewall): chaos cuts, latency, flaps",
    run: { kind: 'node' },
    // One per shard: it proxies its shard's agent connections (20,000 files per process, 2 per connection).
    instances: (a) => a.shards,
    env: (a, i) => ({
      [ENV.egressPort]: String(shardPort(a.egressPorts, i)),
      [ENV.egressApiPort]: String(shardPort(a.egressApiPorts, i)),
      [ENV.shard]: `${i}/${a.shards}`,
    }),
    readyUrl: (a, i) => `${loopback(shardPort(a.egressApiPorts, i))}/healthz`,
    healthUrl: (a, i) => `${loopback(shardPort(a.egressApiPorts, i))}/healthz`,
    scrape: (a, i) => `127.0.0.1:${shardPort(a.egressApiPorts, i)}`,
    announce: (a, i) =>
      `on nats://127.0.0.1:${shardPort(a.egressPorts, i)} (control API ${loopback(shardPort(a.egressApiPorts, i))})`,
  },
  {
    name: 'kube-apiserver',
    side: 'cluster',
    role: "every cluster's emulated Kubernetes API (loopback, /clusters/<name>)",
    run: { kind: 'node' },
    // Every shard's clusters: the count maps a cluster to its shard's agent processes.
    env: (a) => ({ [ENV.shard]: `all/${a.shards}` }),
    readyUrl: (a) => `${loopback(a.kubeApiserverPort)}/readyz`,
    healthUrl: (a) => `${loopback(a.kubeApiserverPort)}/healthz`,
    scrape: (a) => `127.0.0.1:${a.kubeApiserverPort}`,
    announce: (a) => `on ${loopback(a.kubeApiserverPort)} (each cluster under /clusters/<name>)`,
  },
  agentRow('clusteridentityoperator', 'onboarding, the managed-identity certificate and its renewal'),
  agentRow('resource-sync-agent', 'cluster metadata and heartbeats'),
  agentRow('metrics-agent', "the agents' health (arcAgentProfile)"),
  agentRow('config-agent', 'Flux configurations (v2 and legacy v1)'),
  agentRow('extension-manager', 'extensions and Service Connector connections'),
  agentRow(
    'clusterconnect-agent',
    'cluster connect: relays requests over its outbound link to kube-aad-proxy',
    (a, i) => ({
      [ENV.kubeAadProxyUrl]: loopback(shardPort(a.kubeAadProxyPorts, i)),
    }),
  ),
  agentRow(
    'cluster-metadata-operator',
    "the clustermetadata resource from the cluster's apiserver (no link to Azure)",
  ),
  agentRow(
    'kube-aad-proxy',
    "authenticates cluster connect's requests and impersonates the user (no link to Azure)",
    (a, i) => ({
      [ENV.kubeAadProxyPort]: String(shardPort(a.kubeAadProxyPorts, i)),
      [ENV.guardUrl]: loopback(shardPort(a.guardPorts, i)),
    }),
  ),
  agentRow(
    'controller-manager',
    'the azure-arc Deployments and Pods, true to the agent processes (no link to Azure)',
  ),
  agentRow('flux-logs-agent', "the Flux controllers' reconcile logs, shipped to Azure"),
  agentRow(
    'guard',
    'Azure RBAC: authorizes cluster connect’s requests by role assignments (clusters with azure-rbac)',
    (a, i) => ({ [ENV.guardPort]: String(shardPort(a.guardPorts, i)) }),
  ),
  {
    name: 'prometheus',
    side: 'observability',
    role: 'scrapes every /metrics (with --prometheus)',
    run: { kind: 'binary', find: () => findPrometheus() },
    args: (a) => [
      `--config.file=${prometheusConfigFile(a.dataDir)}`,
      `--storage.tsdb.path=${join(prometheusDir(a.dataDir), 'data')}`,
      `--web.listen-address=127.0.0.1:${a.prometheusPort}`,
      '--storage.tsdb.retention.time=1d',
    ],
    readyUrl: (a) => `${loopback(a.prometheusPort)}/-/ready`,
    healthUrl: (a) => `${loopback(a.prometheusPort)}/-/healthy`,
    announce: (a) => `on ${loopback(a.prometheusPort)}`,
  },
];

export function component(name: ServiceName): Component {
  const row = COMPONENTS.find((c) => c.name === name);
  if (!row) throw new Error(`no component ${name}`);
  return row;
}

/** The Node services (every row the repository builds), in start order. */
export const NODE_SERVICES = COMPONENTS.filter((c) => c.run.kind === 'node').map(
  (c) => c.name as NodeServiceName,
);

/** The Arc agents, in start order. */
export const AGENT_SERVICES = COMPONENTS.filter((c) => c.agent === true).map((c) => c.name as AgentName);

/** What a fleet runs by default: everything but the optional observability tooling. */
export const DEFAULT_SERVICES: readonly ServiceName[] = COMPONENTS.filter(
  (c) => c.side !== 'observability',
).map((c) => c.name);
