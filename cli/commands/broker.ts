/**
 * `arcfleet broker init`: the broker's trust chain and nats.conf (platform/broker-files.ts) for fleets
 * whose processes something else runs: compose runs it once before nats-server starts. `arcfleet up`
 * does the same itself. Idempotent: an existing chain (and the revocations the server stored) is kept.
 *
 * With `--route-host-pattern` it writes one nats.conf for every pod of a StatefulSet of `--nodes`
 * (platform/broker-statefulset.ts); with `--kubernetes-secrets` the files end in Secrets
 * (./broker-secrets.ts): deploy/kubernetes runs it as a Job.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ensureBrokerFiles, type BrokerServerTls } from '../../platform/broker-files.js';
import { TLS_FILES } from '../../platform/fleet-tls.js';
import { ensureStatefulSetBrokerFiles } from '../../platform/broker-statefulset.js';
import { inClusterSecrets, type SecretStore } from '../kubernetes-secrets.js';
import { brokerSecretNames, withBrokerSecrets } from './broker-secrets.js';

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${v} is not a port`);
  return n;
};

const count = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`${v} is not a node count (1-64)`);
  return n;
};

export interface BrokerInitOptions {
  readonly dir: string;
  readonly hubDir?: string;
  readonly serverDir?: string;
  readonly storeDir: string;
  readonly resolverDir?: string;
  readonly host: string;
  readonly port: number;
  readonly monitorPort: number;
  readonly nodes: number;
  readonly routeHostPattern?: string;
  readonly routePort: number;
  readonly serverName: string;
  readonly kubernetesSecrets?: string;
  /**
   * Where nats-server finds broker.pem, broker-key.pem and ca.pem (`arcfleet trust init --broker-dir`):
   * clients and routes over TLS. None: plain TCP.
   */
  readonly tlsDir?: string;
}

/** What `broker init` does; `secrets` is the pod's own API access unless a test passes another. */
export async function brokerInit(
  o: BrokerInitOptions,
  print: (text: string) => void,
  secrets: () => SecretStore = inClusterSecrets,
): Promise<void> {
  const dir = resolve(o.dir);
  const hubDir = o.hubDir ? resolve(o.hubDir) : dir;
  if (o.nodes > 1 && !o.routeHostPattern)
    throw new Error('--nodes above 1 needs --route-host-pattern (e.g. nats-{i}.nats)');
  const tls = o.tlsDir === undefined ? undefined : brokerServerTls(o.tlsDir);
  const generate = async (): Promise<string> => {
    if (o.routeHostPattern) {
      const serverDir = o.serverDir ?? dir;
      return ensureStatefulSetBrokerFiles({
        dir,
        hubDir,
        serverDir,
        replicas: o.nodes,
        routeHostPattern: o.routeHostPattern,
        routePort: o.routePort,
        host: o.host,
        port: o.port,
        monitorPort: o.monitorPort,
        serverName: o.serverName,
        storeDir: o.storeDir,
        resolverDir: o.resolverDir ?? `${serverDir}/resolver`,
        ...(tls ? { tls } : {}),
      });
    }
    const [config] = await ensureBrokerFiles({
      dir,
      hubDir,
      ...(o.serverDir ? { serverDir: o.serverDir } : {}),
      nodes: [{ storeDir: o.storeDir, host: o.host, port: o.port, monitorPort: o.monitorPort }],
      ...(tls ? { tls } : {}),
    });
    return config ?? '';
  };
  if (!o.kubernetesSecrets) {
    print(`broker configuration: ${await generate()}`);
    return;
  }
  let config = '';
  await withBrokerSecrets(secrets(), o.kubernetesSecrets, { dir, hubDir }, async () => {
    config = await generate();
  });
  const names = brokerSecretNames(o.kubernetesSecrets);
  print(`broker configuration: ${config}, kept in secrets ${Object.values(names).join(', ')}`);
}

/** The broker's TLS files in `dir`, as `trust init --broker-dir` names them. */
function brokerServerTls(dir: string): BrokerServerTls {
  return {
    certFile: join(dir, TLS_FILES.brokerCert),
    keyFile: join(dir, TLS_FILES.brokerKey),
    caFile: join(dir, TLS_FILES.ca),
  };
}

export function registerBrokerCommands(program: Command, print: (text: string) => void): void {
  const broker = program.command('broker').description("the broker's accounts and credentials");
  broker
    .command('init')
    .description('write the operator, accounts, the hub credentials and nats.conf (kept when present)')
    .requiredOption('--dir <path>', "the server's files and the trust chain")
    .option('--hub-dir <path>', "the hub's keys and credentials (default: --dir)")
    .option('--server-dir <path>', '--dir as nats-server sees it (default: --dir)')
    .requiredOption('--store-dir <path>', "JetStream's store as nats-server sees it")
    .option('--host <address>', 'nats-server listen address', '0.0.0.0')
    .option('--port <port>', 'client port', port, 4222)
    .option('--monitor-port <port>', 'monitoring port (/healthz)', port, 8222)
    .option('--nodes <count>', 'nodes of a StatefulSet sharing one nats.conf', count, 1)
    .option('--route-host-pattern <pattern>', "a node's host for routes, {i} its ordinal: nats-{i}.nats")
    .option('--route-port <port>', 'route port of every node', port, 6222)
    .option(
      '--server-name <name>',
      'server_name with --route-host-pattern ($VAR: from the environment)',
      '$POD_NAME',
    )
    .option(
      '--resolver-dir <path>',
      "the resolver's directory as nats-server sees it (default: <server-dir>/resolver)",
    )
    .option(
      '--kubernetes-secrets <prefix>',
      'keep the files in Secrets <prefix>-trust, -server, -hub (in a pod)',
    )
    .option(
      '--tls-dir <path>',
      'NATS over TLS: where nats-server finds broker.pem, broker-key.pem and ca.pem (trust init --broker-dir)',
    )
    .action((o: BrokerInitOptions) => brokerInit(o, print));
}
