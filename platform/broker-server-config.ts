/**
 * nats-server's configuration for one broker node: operator mode with the full resolver, JetStream,
 * and, when the broker is a NATS cluster, the node's routes to the others.
 *
 *   natsServerConfig(trust, { host, port, monitorPort, storeDir, resolverDir, operatorFile })
 *   natsServerConfig(trust, { ..., serverName: 'arcfleet-1',
 *                             cluster: { listen: '127.0.0.1:6223', routes: ['127.0.0.1:6222', …] } })
 */
import type { BrokerTrust } from './broker-trust.js';

/** The NATS cluster's name (every node of one fleet's broker). */
export const BROKER_CLUSTER_NAME = 'arcfleet';

export interface ServerConfigOptions {
  readonly host: string;
  readonly port: number;
  readonly monitorPort: number;
  /** Unique per node of a cluster (JetStream's peers are named by it); default `arcfleet`. */
  readonly serverName?: string;
  /** JetStream storage (HUB only). */
  readonly storeDir: string;
  /** Where the full resolver keeps account JWTs; pushed updates land there and survive a restart. */
  readonly resolverDir: string;
  /** Path of the operator JWT file the config names. */
  readonly operatorFile: string;
  /**
   * JetStream's encryption-at-rest key (broker-files.ts `ensureStoreKey`): every block file, and so every
   * record's history, is ChaCha20-Poly1305 ciphertext on disk. None: plaintext (tests of config shape).
   */
  readonly storeKey?: string;
  /**
   * The broker's certificate and key as nats-server sees them (platform/fleet-tls.ts ensureBrokerTls):
   * every client connection is TLS, none in clear text; in a cluster the routes are mutual TLS, each node
   * checking its peer against the fleet CA (`caFile`). None: plaintext (`--plain-http`, config tests).
   */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly caFile: string };
  /** This node's route listener and every other node's (`host:port`); none: a single server. */
  readonly cluster?: { readonly listen: string; readonly routes: readonly string[] };
}

/**
 * The account JWTs are files in `resolverDir` (`resolverFiles`), written once by the owner, so an update
 * pushed at run time (a revocation) is what a restarted server loads, not the original; in a cluster
 * the full resolver passes pushed updates to every node.
 *
 * The store key makes the file a secret (written 0600): a stream's old revisions, protected settings
 * included, stay in block files until compaction, and encryption is what keeps them unreadable there.
 *
 * `no_advertise`: a node does not tell clients the other nodes' client URLs, or agents would learn them
 * and reconnect around the egress gateway (their only way out).
 */
export function natsServerConfig(trust: BrokerTrust, o: ServerConfigOptions): string {
  const q = JSON.stringify;
  const cluster = o.cluster
    ? [
        'cluster: {',
        `  name: ${BROKER_CLUSTER_NAME}`,
        `  listen: ${q(o.cluster.listen)}`,
        '  no_advertise: true',
        `  routes: [${o.cluster.routes.map((r) => q(`nats-route://${r}`)).join(', ')}]`,
        ...(o.tls
          ? [
              `  tls: { cert_file: ${q(o.tls.certFile)}, key_file: ${q(o.tls.keyFile)}, ca_file: ${q(o.tls.caFile)}, timeout: 5 }`,
            ]
          : []),
        '}',
      ]
    : [];
  return [
    `server_name: ${o.serverName ?? BROKER_CLUSTER_NAME}`,
    `listen: ${q(`${o.host}:${o.port}`)}`,
    `http: ${q(`${o.host}:${o.monitorPort}`)}`,
    `operator: ${q(o.operatorFile)}`,
    `system_account: ${trust.system.publicKey}`,
    `resolver: { type: full, dir: ${q(o.resolverDir)}, allow_delete: true, interval: "2m", timeout: "1.9s" }`,
    o.storeKey === undefined
      ? `jetstream: { store_dir: ${q(o.storeDir)} }`
      : `jetstream: { store_dir: ${q(o.storeDir)}, cipher: chachapoly, key: ${q(o.storeKey)} }`,
    ...(o.tls ? [`tls: { cert_file: ${q(o.tls.certFile)}, key_file: ${q(o.tls.keyFile)}, timeout: 5 }`] : []),
    ...cluster,
    '',
  ].join('\n');
}
