/**
 * The broker as a Kubernetes StatefulSet (deploy/kubernetes): ONE nats.conf serves every pod, since a
 * pod template cannot differ per ordinal. nats-server fills `server_name` from the pod's environment
 * (`$POD_NAME`), and every pod lists the routes of every pod, itself included (a server recognises a
 * route to itself and drops it), so the same file is right for `nats-0` … `nats-<K-1>`.
 *
 *   ensureStatefulSetBrokerFiles({ dir, replicas: 3, routeHostPattern: 'nats-{i}.nats', ... })
 *     → <dir>/nats.conf (0600: it holds the JetStream store key), <dir>/operator.jwt, <dir>/resolver/<account>.jwt (the trust chain as usual)
 *
 * The account JWTs are written beside the config for whoever ships them to the pods: each pod copies
 * them into its own volume (`resolverDir`) when missing, so updates the hub pushed survive a restart.
 */
import { join } from 'node:path';
import {
  BROKER_FILES,
  ensureBrokerTrust,
  ensureStoreKey,
  writeResolverFiles,
  type BrokerServerTls,
} from './broker-files.js';
import { natsServerConfig } from './broker-server-config.js';
import { SECRET_FILE_MODE, writeFileAtomically } from './atomic-file.js';

export interface StatefulSetBrokerOptions {
  /** Where the files are written (this process's view). */
  readonly dir: string;
  /** The hub's keys and credentials (default `dir`). */
  readonly hubDir?: string;
  /** Where a pod sees `dir` (its mounted Secret): operator.jwt is named from there. */
  readonly serverDir: string;
  readonly replicas: number;
  /** A pod's stable DNS name, `{i}` standing for its ordinal: `nats-{i}.nats`. */
  readonly routeHostPattern: string;
  readonly routePort: number;
  readonly host: string;
  readonly port: number;
  readonly monitorPort: number;
  /** `server_name`; `$POD_NAME` is read from the pod's environment by nats-server. */
  readonly serverName: string;
  /** JetStream's store and the resolver's directory, on the pod's own volume. */
  readonly storeDir: string;
  readonly resolverDir: string;
  /** The broker's certificate, key and the fleet CA as a pod sees them: clients and routes over TLS. */
  readonly tls?: BrokerServerTls;
}

/** Every pod's route URL host:port, in ordinal order. */
export function statefulSetRoutes(pattern: string, replicas: number, port: number): string[] {
  if (!pattern.includes('{i}')) throw new Error(`route host pattern "${pattern}" has no {i}`);
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`${replicas} is not a replica count`);
  return Array.from({ length: replicas }, (_, i) => `${pattern.replaceAll('{i}', String(i))}:${port}`);
}

/** Makes or keeps the trust chain in `o.dir` and writes the shared nats.conf; returns its path. */
export async function ensureStatefulSetBrokerFiles(o: StatefulSetBrokerOptions): Promise<string> {
  const trust = await ensureBrokerTrust(o.dir, o.hubDir ?? o.dir);
  await writeResolverFiles(trust, join(o.dir, BROKER_FILES.resolver));
  const config = join(o.dir, BROKER_FILES.config);
  await writeFileAtomically(
    config,
    natsServerConfig(trust, {
      host: o.host,
      port: o.port,
      monitorPort: o.monitorPort,
      serverName: o.serverName,
      storeDir: o.storeDir,
      storeKey: await ensureStoreKey(o.dir),
      resolverDir: o.resolverDir,
      operatorFile: join(o.serverDir, BROKER_FILES.operatorJwt),
      ...(o.tls ? { tls: o.tls } : {}),
      ...(o.replicas > 1
        ? {
            cluster: {
              listen: `${o.host}:${o.routePort}`,
              routes: statefulSetRoutes(o.routeHostPattern, o.replicas, o.routePort),
            },
          }
        : {}),
    }),
    { mode: SECRET_FILE_MODE },
  );
  return config;
}
