/**
 * `npm run bench -- --connections [--clusters N (2000)]`: what one agent connection costs before any
 * agent logic runs, the floor under every fleet figure. N cluster users (JWTs the CLUSTERS account
 * signs, as the hub mints them) each open one connection the way an agent link does: through the egress
 * gateway, with the user's nonce signature, its own inbox prefix and its control subscription, then a
 * round trip. Measured: CPU seconds and RSS growth of nats-server, of the gateway and of this (client)
 * process, per connection; then the same N directly to nats-server. A fleet of C clusters holds 6 C
 * such connections (one per agent kind), so 6 C times the sum is what it pays to connect at all.
 */
import { createUser } from 'nkeys.js';
import { connect, type NatsConnection, type TlsOptions } from 'nats';
import type { FleetHandle } from '../fleet/index.js';
import { brokerDir } from '../fleet/components.js';
import { BROKER_FILES, readHubKeys } from '../platform/broker-files.js';
import { userAuthenticator } from '../platform/broker-keys.js';
import { clusterInboxPrefix, clusterUserJwt, clusterUserSigner } from '../platform/broker-trust.js';
import { mapLimit } from '../platform/limit.js';
import { agentServerName, subjects, clusterKey } from '../contract/index.js';
import { sampleProcess, type ProcSample } from './procstat.js';

export interface ConnectionCost {
  readonly path: 'gateway' | 'direct';
  readonly connections: number;
  readonly seconds: number;
  /** CPU µs per connection: nats-server, gateway (0 when direct), the client process. */
  readonly cpuMicros: { natsServer: number; gateway: number; client: number };
  /** RSS growth per connection in KiB while the connections are open. */
  readonly rssKiB: { natsServer: number; gateway: number; client: number };
}

export interface ConnectionsBenchResult {
  readonly runs: readonly ConnectionCost[];
}

interface User {
  readonly ref: { subscriptionId: string; resourceGroup: string; name: string };
  readonly jwt: string;
  readonly seed: string;
}

/** Connections opened at once (the agent host's gate default is of the same order). */
const CONCURRENCY = 32;

async function users(handle: FleetHandle, n: number): Promise<User[]> {
  const keys = await readHubKeys(`${brokerDir(handle.dataDir)}/${BROKER_FILES.hubKeys}`);
  const signer = clusterUserSigner({ clusters: keys.clusters });
  return mapLimit(
    Array.from({ length: n }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      const ref = { subscriptionId: 'bench', resourceGroup: 'rg', name: `conn-${i}` };
      const kp = createUser();
      const jwt = await clusterUserJwt(signer, clusterKey(ref), kp.getPublicKey());
      return { ref, jwt, seed: new TextDecoder().decode(kp.getSeed()) };
    },
  );
}

/** nats.js TLS options for a server name (none on a `--plain-http` fleet); the CA is read once. */
type TlsFor = (serverName: string) => { tls?: TlsOptions };

/**
 * One agent-like connection: over the fleet's TLS (its SNI naming the agent and cluster, as an agent's
 * does), authenticated, its inbox prefix, its control subscription, a round trip.
 */
async function open(url: string, u: User, tls: TlsFor): Promise<NatsConnection> {
  const key = clusterKey(u.ref);
  const nc = await connect({
    servers: url,
    name: `config-agent/${u.ref.name}`,
    authenticator: userAuthenticator(() => ({ jwt: u.jwt, seed: u.seed })),
    inboxPrefix: clusterInboxPrefix(key),
    noAsyncTraces: true,
    pingInterval: 60_000,
    ...tls(agentServerName('config-agent', u.ref.name)),
  });
  nc.subscribe(subjects.control(u.ref), { callback: () => undefined });
  await nc.flush();
  return nc;
}

function cpuOf(s: ProcSample | undefined): number {
  return s?.cpuSeconds ?? 0;
}

async function measure(
  path: ConnectionCost['path'],
  url: string,
  list: readonly User[],
  pids: { nats: number; gateway: number | undefined },
  /** Where the connections go once measured: they stay open, so the next run's RSS growth is its own. */
  opened: NatsConnection[],
  tls: TlsFor,
): Promise<ConnectionCost> {
  const sample = () => ({
    nats: sampleProcess(pids.nats),
    gateway: pids.gateway === undefined ? undefined : sampleProcess(pids.gateway),
    clientCpu: process.cpuUsage(),
    clientRss: process.memoryUsage().rss,
  });
  const before = sample();
  const t0 = performance.now();
  const conns = await mapLimit(list, CONCURRENCY, (u) => open(url, u, tls));
  const seconds = (performance.now() - t0) / 1000;
  const after = sample();
  opened.push(...conns);
  const n = list.length;
  const clientCpu = process.cpuUsage(before.clientCpu);
  const perConn = (bytes: number): number => Math.round(bytes / n / 102.4) / 10;
  const result: ConnectionCost = {
    path,
    connections: n,
    seconds: Math.round(seconds * 100) / 100,
    cpuMicros: {
      natsServer: Math.round(((cpuOf(after.nats) - cpuOf(before.nats)) * 1e6) / n),
      gateway: Math.round(((cpuOf(after.gateway) - cpuOf(before.gateway)) * 1e6) / n),
      client: Math.round((clientCpu.user + clientCpu.system) / n),
    },
    rssKiB: {
      natsServer: perConn((after.nats?.rssBytes ?? 0) - (before.nats?.rssBytes ?? 0)),
      gateway: perConn((after.gateway?.rssBytes ?? 0) - (before.gateway?.rssBytes ?? 0)),
      client: perConn(after.clientRss - before.clientRss),
    },
  };
  return result;
}

/** `handle`: a fleet of nats-server (one node) and the egress gateway only (main.ts starts it). */
export async function runConnectionsBench(
  handle: FleetHandle,
  opts: { connections: number; log: (line: string) => void },
): Promise<ConnectionsBenchResult> {
  const pids = handle.pids();
  const nats = pids['nats-server'];
  const gateway = pids['egress-gateway'];
  const gatewayUrl = handle.egressUrls[0];
  if (nats === undefined || gateway === undefined || gatewayUrl === undefined)
    throw new Error(`the bench needs nats-server and the gateway running (got ${JSON.stringify(pids)})`);
  opts.log(`minting ${opts.connections} cluster users`);
  const list = await users(handle, opts.connections);
  const opened: NatsConnection[] = [];
  const base = (await handle.natsTls()).tls;
  const tls: TlsFor = base ? (servername) => ({ tls: { ...base, servername } as TlsOptions }) : () => ({});
  try {
    // Warm-up, both ways (JIT, the server's account lookups), not counted.
    const warm = list.slice(0, Math.min(200, list.length));
    for (const url of [gatewayUrl, handle.natsUrl]) {
      const conns = await mapLimit(warm, CONCURRENCY, (u) => open(url, u, tls));
      await Promise.all(conns.map((c) => c.close()));
    }
    opts.log(`opening ${opts.connections} connections through the gateway`);
    const viaGateway = await measure('gateway', gatewayUrl, list, { nats, gateway }, opened, tls);
    opts.log(`opening ${opts.connections} more directly (the first stay open)`);
    const direct = await measure('direct', handle.natsUrl, list, { nats, gateway: undefined }, opened, tls);
    return { runs: [viaGateway, direct] };
  } finally {
    await Promise.all(opened.map((c) => c.close()));
  }
}

export function connectionsLines(r: ConnectionsBenchResult): string[] {
  const lines = [
    '  path      conns   wall s   CPU µs per connection (nats / gateway / client = sum)   RSS KiB per connection (nats / gateway / client)',
  ];
  for (const c of r.runs) {
    const cpu = c.cpuMicros;
    const sum = cpu.natsServer + cpu.gateway + cpu.client;
    lines.push(
      `  ${c.path.padEnd(8)} ${String(c.connections).padStart(6)} ${c.seconds.toFixed(2).padStart(8)}   ` +
        `${cpu.natsServer} / ${cpu.gateway} / ${cpu.client} = ${sum}`.padEnd(56) +
        `${c.rssKiB.natsServer} / ${c.rssKiB.gateway} / ${c.rssKiB.client}`,
    );
  }
  const g = r.runs.find((c) => c.path === 'gateway');
  if (g) {
    const sum = g.cpuMicros.natsServer + g.cpuMicros.gateway + g.cpuMicros.client;
    lines.push(
      `  10,000 clusters = 60,000 such connections: ${((sum * 60_000) / 1e6).toFixed(0)} CPU s to connect ` +
        `(${((sum * 60_000) / 1e6 / 2).toFixed(0)} s of two cores), before any agent or hub work`,
    );
  }
  return lines;
}
