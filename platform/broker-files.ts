/**
 * The broker's trust chain on disk, made once per data directory and kept (a restart of nats-server or
 * of the hub must find the same operator, accounts and pushed revocations):
 *
 *   <dir>/trust.json       every signing key (0600): read only by whoever (re)writes these files
 *   <hubDir>/hub-keys.json what the hub needs to mint cluster users and revoke them (0600)
 *   <hubDir>/hub.creds     the hub's HUB-account user (0600)
 *   <hubDir>/system.creds  the hub's SYS-account user, to push account updates (0600)
 *   <dir>/operator.jwt     named by nats.conf
 *   <dir>/resolver/        the full resolver's account JWTs: written when missing, then the server's
 *   <dir>/jetstream.key    JetStream's encryption-at-rest key (0600): made once, never rewritten (the
 *                          store cannot be read without it); nats-server encrypts a plaintext store
 *                          it finds at start
 *   <dir>/nats.conf        rewritten on every start (ports and paths may change); 0600, it holds the key
 *
 * A broker of several nodes (a NATS cluster) has `nats-<i>.conf` and `resolver-<i>/` per node instead:
 * each node's full resolver keeps its own copy.
 *
 * Paths inside nats.conf are as nats-server sees them (`serverDir`), so compose can mount the
 * directory elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseCreds, type UserCredentials } from './broker-keys.js';
import { SECRET_FILE_MODE, fileExists, writeFileAtomically, writeJsonAtomically } from './atomic-file.js';
import {
  createBrokerTrust,
  createUserKey,
  formatCreds,
  hubUserJwt,
  resolverFiles,
  systemUserJwt,
  type BrokerTrust,
} from './broker-trust.js';
import { natsServerConfig, type ServerConfigOptions } from './broker-server-config.js';

export const BROKER_FILES = {
  trust: 'trust.json',
  hubKeys: 'hub-keys.json',
  hubCreds: 'hub.creds',
  systemCreds: 'system.creds',
  operatorJwt: 'operator.jwt',
  resolver: 'resolver',
  config: 'nats.conf',
  storeKey: 'jetstream.key',
} as const;

const nkeySchema = z.strictObject({ publicKey: z.string(), seed: z.string() });
const accountSchema = z.strictObject({
  name: z.string(),
  publicKey: z.string(),
  jwt: z.string(),
  signingKey: nkeySchema,
});
const trustSchema = z.strictObject({
  operator: z.strictObject({ publicKey: z.string(), jwt: z.string() }),
  operatorSigningKey: nkeySchema,
  system: accountSchema,
  hub: accountSchema,
  clusters: accountSchema,
});

/** The hub's part of the trust: mint CLUSTERS users, re-sign the CLUSTERS account (revocations). */
export const hubKeysSchema = z.strictObject({
  operatorSigningKey: nkeySchema,
  hub: z.strictObject({ publicKey: z.string() }),
  clusters: z.strictObject({ name: z.string(), publicKey: z.string(), signingKey: nkeySchema }),
});
export type HubKeys = z.infer<typeof hubKeysSchema>;

export interface BrokerFilesOptions {
  /** Where the files live (this process's view). */
  readonly dir: string;
  /**
   * Where the hub's files go (hub-keys.json, hub.creds, system.creds; default `dir`): compose gives the
   * hub a volume of its own, without the server's files or trust.json.
   */
  readonly hubDir?: string;
  /** The same directory as nats-server sees it (default `dir`). */
  readonly serverDir?: string;
  /** One per broker node; several make a NATS cluster (each needs `routePort`). */
  readonly nodes: readonly BrokerNode[];
  /**
   * The broker's certificate, its key and the fleet CA as nats-server sees them (fleet-tls.ts
   * `ensureBrokerTls`): clients and routes speak TLS. None: plain TCP (`--plain-http`).
   */
  readonly tls?: BrokerServerTls;
}

export type BrokerServerTls = NonNullable<ServerConfigOptions['tls']>;

export interface BrokerNode {
  /** Where it listens (clients, monitor, routes). */
  readonly host: string;
  readonly port: number;
  readonly monitorPort: number;
  /** Route listener (a cluster of several nodes only). */
  readonly routePort?: number;
  /** How the other nodes reach its routes (default `host`): a compose service name. */
  readonly routeHost?: string;
  /** JetStream's store as nats-server sees it. */
  readonly storeDir: string;
}

/** A node's config file and resolver directory in the broker directory. */
export function brokerNodeFiles(index: number, nodeCount: number): { config: string; resolver: string } {
  return nodeCount === 1
    ? { config: BROKER_FILES.config, resolver: BROKER_FILES.resolver }
    : { config: `nats-${index}.conf`, resolver: `${BROKER_FILES.resolver}-${index}` };
}

const secret = { mode: SECRET_FILE_MODE };

/** Reads `trust.json`, or makes a new chain (and every file derived from it) when there is none. */
async function loadOrCreateTrust(dir: string, hubDir: string): Promise<BrokerTrust> {
  const path = join(dir, BROKER_FILES.trust);
  if (await fileExists(path)) return trustSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  const trust = await createBrokerTrust();
  const hubKeys: HubKeys = {
    operatorSigningKey: trust.operatorSigningKey,
    hub: { publicKey: trust.hub.publicKey },
    clusters: {
      name: trust.clusters.name,
      publicKey: trust.clusters.publicKey,
      signingKey: trust.clusters.signingKey,
    },
  };
  const hubUser = createUserKey();
  const sysUser = createUserKey();
  await mkdir(hubDir, { recursive: true, mode: 0o700 });
  await writeJsonAtomically(join(hubDir, BROKER_FILES.hubKeys), hubKeys, secret);
  await writeFileAtomically(
    join(hubDir, BROKER_FILES.hubCreds),
    formatCreds(await hubUserJwt(trust, hubUser.publicKey), hubUser),
    secret,
  );
  await writeFileAtomically(
    join(hubDir, BROKER_FILES.systemCreds),
    formatCreds(await systemUserJwt(trust, sysUser.publicKey), sysUser),
    secret,
  );
  // Last: its presence says the chain is complete.
  await writeJsonAtomically(path, trust, secret);
  return trust;
}

/** Makes or keeps the trust chain in `dir` (the hub's files in `hubDir`) and writes operator.jwt. */
export async function ensureBrokerTrust(dir: string, hubDir: string): Promise<BrokerTrust> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const trust = await loadOrCreateTrust(dir, hubDir);
  await writeFileAtomically(join(dir, BROKER_FILES.operatorJwt), `${trust.operator.jwt}\n`);
  return trust;
}

/**
 * JetStream's encryption-at-rest key, made when missing and kept: only nats-server's config holds it,
 * so no agent, hub or reader of a copied store directory can read what the streams held.
 */
export async function ensureStoreKey(dir: string): Promise<string> {
  const path = join(dir, BROKER_FILES.storeKey);
  if (await fileExists(path)) {
    const key = (await readFile(path, 'utf8')).trim();
    if (key.length < 32) throw new Error(`${path} does not hold a JetStream key (too short)`);
    return key;
  }
  const key = randomBytes(32).toString('base64url');
  await writeFileAtomically(path, `${key}\n`, secret);
  return key;
}

/** The account JWTs a full resolver starts from, each written only when missing. */
export async function writeResolverFiles(trust: BrokerTrust, resolverDir: string): Promise<void> {
  await mkdir(resolverDir, { recursive: true, mode: 0o700 });
  // Only when missing: the server replaces these when the hub pushes an update (a revocation).
  for (const f of resolverFiles(trust))
    if (!(await fileExists(join(resolverDir, f.name))))
      await writeFileAtomically(join(resolverDir, f.name), f.content);
}

/**
 * Makes or keeps the trust chain in `o.dir` and writes each node's config for this start; returns the
 * config paths, one per node.
 */
export async function ensureBrokerFiles(o: BrokerFilesOptions): Promise<string[]> {
  const trust = await ensureBrokerTrust(o.dir, o.hubDir ?? o.dir);
  const storeKey = await ensureStoreKey(o.dir);
  const serverDir = o.serverDir ?? o.dir;
  const routeOf = (n: BrokerNode): string => {
    if (n.routePort === undefined) throw new Error('every node of a NATS cluster needs a routePort');
    return `${n.routeHost ?? n.host}:${n.routePort}`;
  };
  const configs: string[] = [];
  for (const [i, node] of o.nodes.entries()) {
    const files = brokerNodeFiles(i, o.nodes.length);
    await writeResolverFiles(trust, join(o.dir, files.resolver));
    const config = join(o.dir, files.config);
    const clustered = o.nodes.length > 1;
    await writeFileAtomically(
      config,
      natsServerConfig(trust, {
        host: node.host,
        port: node.port,
        monitorPort: node.monitorPort,
        storeDir: node.storeDir,
        storeKey,
        ...(o.tls ? { tls: o.tls } : {}),
        resolverDir: join(serverDir, files.resolver),
        operatorFile: join(serverDir, BROKER_FILES.operatorJwt),
        ...(clustered
          ? {
              serverName: `arcfleet-${i}`,
              cluster: {
                listen: `${node.host}:${node.routePort ?? 0}`,
                routes: o.nodes.filter((n) => n !== node).map(routeOf),
              },
            }
          : {}),
      }),
      secret,
    );
    configs.push(config);
  }
  return configs;
}

/** A `.creds` file's user (the hub's, the system user, a cluster's). */
export async function readCreds(path: string): Promise<UserCredentials> {
  return parseCreds(await readFile(path, 'utf8'));
}

/** The hub's own NATS user in a broker directory (tools that must act as the cloud side: tests, bench). */
export function readHubCreds(dir: string): Promise<UserCredentials> {
  return readCreds(join(dir, BROKER_FILES.hubCreds));
}

/** The hub's keys file (hub-keys.json), validated. */
export async function readHubKeys(path: string): Promise<HubKeys> {
  return hubKeysSchema.parse(JSON.parse(await readFile(path, 'utf8')));
}
