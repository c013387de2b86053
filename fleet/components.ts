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
import type { AgentName } from '../contract/index.js';
import { BROKER_FILES } from '../platform/broker-files.js';
import { ENV } from '../platform/settings.js';
import { findNatsServer } from './nats-server.js';
import { findPrometheus, prometheusConfigFile, prometheusDir } from './prometheus.js';

/** Every port and URL of one fleet, chosen before anything starts (free ports unless given). */
export interface FleetAddresses {
  readonly dataDir: string;
  readonly natsPort: number;
  readonly natsMonitorPort: number;
  readonly hubPort: number;
  readonly egressPort: number;
  readonly egressApiPort: number;
  readonly kubeApiserverPort: number;
  readonly prometheusPort: number;
  /** Each agent's /metrics port (loopback). */
  readonly metricsPorts: ReadonlyMap<string, number>;
}

/** The broker's trust chain and configuration (platform/broker-files.ts). */
export const brokerDir = (dataDir: string): string => join(dataDir, 'broker');

export const loopback = (port: number): string => `http://127.0.0.1:${port}`;

/** Every process a fleet can run. */
export type ServiceName =
  'nats-server' | 'hub' | 'egress-gateway' | 'kube-apiserver' | AgentName | 'prometheus';
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
  /** Binary arguments (binaries only). */
  readonly args?: (a: FleetAddresses) => readonly string[];
  /** Environment of this row beyond the fleet-wide settings. */
  readonly env?: (a: FleetAddresses) => Readonly<Record<string, string>>;
  /** Answers 200 once the process is ready; none: started is ready. */
  readonly readyUrl?: (a: FleetAddresses) => string;
  /** host:port Prometheus scrapes for its /metrics. */
  readonly scrape?: (a: FleetAddresses) => string;
  /** The launcher's line once it is ready ("ready on nats://…"). */
  readonly announce?: (a: FleetAddresses) => string;
}

const agentRow = (name: AgentName, role: string): Component => ({
  name,
  side: 'cluster',
  role,
  run: { kind: 'node' },
  agent: true,
  env: (a) => ({ [ENV.metricsPort]: String(a.metricsPorts.get(name) ?? 0) }),
  scrape: (a) => `127.0.0.1:${a.metricsPorts.get(name) ?? 0}`,
});

export const COMPONENTS: readonly Component[] = [
  {
    name: 'nats-server',
    side: 'cloud',
    role: 'the broker (JetStream); agents reach it only outbound',
    run: { kind: 'binary', find: () => findNatsServer() },
    required: true,
    // Operator mode (docs/broker-identity.md): the launcher writes nats.conf and the trust chain first.
    args: (a) => ['-c', join(brokerDir(a.dataDir), BROKER_FILES.config)],
    readyUrl: (a) => `${loopback(a.natsMonitorPort)}/healthz`,
    announce: (a) => `ready on nats://127.0.0.1:${a.natsPort} (monitor ${loopback(a.natsMonitorPort)})`,
  },
  {
    name: 'hub',
    side: 'cloud',
    role: 'ARM API, projections, connectivity, configuration, cluster connect, live page',
    run: { kind: 'node' },
    required: true,
    env: (a) => ({
      [ENV.natsCreds]: join(brokerDir(a.dataDir), BROKER_FILES.hubCreds),
      [ENV.natsSystemCreds]: join(brokerDir(a.dataDir), BROKER_FILES.systemCreds),
      [ENV.brokerKeys]: join(brokerDir(a.dataDir), BROKER_FILES.hubKeys),
    }),
    readyUrl: (a) => `${loopback(a.hubPort)}/readyz`,
    scrape: (a) => `127.0.0.1:${a.hubPort}`,
    announce: (a) => `ready on ${loopback(a.hubPort)}`,
  },
  {
    name: 'egress-gateway',
    side: 'cluster',
    role: "the clusters' outbound path (an on-prem firewall): chaos cuts, latency, flaps",
    run: { kind: 'node' },
    readyUrl: (a) => `${loopback(a.egressApiPort)}/healthz`,
    scrape: (a) => `127.0.0.1:${a.egressApiPort}`,
    announce: (a) => `on nats://127.0.0.1:${a.egressPort} (control API ${loopback(a.egressApiPort)})`,
  },
  {
    name: 'kube-apiserver',
    side: 'cluster',
    role: "every cluster's emulated Kubernetes API (loopback, /clusters/<name>)",
    run: { kind: 'node' },
    readyUrl: (a) => `${loopback(a.kubeApiserverPort)}/readyz`,
    scrape: (a) => `127.0.0.1:${a.kubeApiserverPort}`,
    announce: (a) => `on ${loopback(a.kubeApiserverPort)} (each cluster under /clusters/<name>)`,
  },
  agentRow('clusteridentityoperator', 'onboarding, the managed-identity certificate and its renewal'),
  agentRow('resource-sync-agent', 'cluster metadata and heartbeats'),
  agentRow('metrics-agent', "the agents' health (arcAgentProfile)"),
  agentRow('config-agent', 'Flux configurations'),
  agentRow('extension-manager', 'extensions and Service Connector connections'),
  agentRow('clusterconnect-agent', 'cluster connect: apiserver requests over its outbound link'),
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
