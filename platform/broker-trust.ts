/**
 * The broker's trust chain (NATS decentralized auth, docs/broker-identity.md): an operator, three
 * accounts and the user JWTs they sign, made with the NATS ecosystem's own libraries (`@nats-io/jwt`,
 * `@nats-io/nkeys`).
 *
 *   SYS       the system account: pushes account updates (revocations) to the server
 *   HUB       the hub, JetStream and KV; never reachable from a cluster
 *   CLUSTERS  every cluster's agents; JetStream off; deny-all unless a user JWT grants more
 *
 * Only the protocol's subjects cross: HUB exports the service `arc.v1.>` (agent → hub requests and
 * reports; replies flow back) and the stream `arcctl.v1.>` (control); CLUSTERS exports the service
 * `arcconnect.v1.>` (cluster-connect streams the hub opens). A cluster user may publish only on its
 * own `arc.v1.<key>.>` and subscribe only to its own control, connect and inbox subjects.
 *
 * Pure except for key generation: nothing here touches files or the network.
 */
import * as jwt from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed } from '@nats-io/nkeys';
import { fastKeyPair, publicKeyOnly } from './broker-keys.js';

/** A key pair as stored (seed = the secret; public key = its name in JWTs). */
export interface NKey {
  readonly publicKey: string;
  readonly seed: string;
}

export interface AccountTrust {
  readonly name: string;
  /** The account's identity; its seed is not needed at run time once the JWT is signed. */
  readonly publicKey: string;
  readonly jwt: string;
  /** Signs this account's user JWTs (held by the hub). */
  readonly signingKey: NKey;
}

/** Everything the broker and the hub need; persisted 0600 by its owner. */
export interface BrokerTrust {
  readonly operator: { readonly publicKey: string; readonly jwt: string };
  /** Signs account JWTs (revocations re-sign CLUSTERS): held by the hub. */
  readonly operatorSigningKey: NKey;
  readonly system: AccountTrust;
  readonly hub: AccountTrust;
  readonly clusters: AccountTrust;
}

/** Subjects a cluster's agents use, by the cluster key `<sub>.<rg>.<cluster>` (contract/subjects.ts). */
export function clusterPermissions(key: string) {
  return {
    pub: { allow: [`arc.v1.${key}.>`] },
    sub: { allow: [`arcctl.v1.${key}`, `arcconnect.v1.${key}.>`, `${clusterInboxPrefix(key)}.>`] },
    // Replies to the hub's cluster-connect requests (`_R_.…` subjects across the account boundary).
    resp: { max: 1000, ttl: 60_000_000_000 },
  };
}

/** The inbox prefix a cluster's connections use (nats.js `inboxPrefix`), inside its permissions. */
export function clusterInboxPrefix(key: string): string {
  return `_INBOX.${key}`;
}

/**
 * The one request a bootstrap (onboarding) user may make. It may also hear its own cluster's control
 * subject, so the identity operator's link keeps its subscription when it switches to the cluster user.
 */
export function bootstrapPermissions(key: string) {
  return {
    pub: { allow: [`arc.v1.${key}.clusteridentityoperator.register`] },
    sub: { allow: [`arcctl.v1.${key}`, `${clusterInboxPrefix(key)}.>`] },
  };
}

/** Heartbeats of every cluster: `arc.v1.<sub>.<rg>.<cluster>.resource-sync-agent.heartbeat`. */
export const HEARTBEAT_SUBJECT = 'arc.v1.*.*.*.resource-sync-agent.heartbeat';

/** The agent → hub subjects that are requests (or cluster-connect frames): everything but heartbeats. */
export const SERVICE_AGENT_SUBJECTS: readonly string[] = [
  'arc.v1.*.*.*.clusteridentityoperator.>',
  'arc.v1.*.*.*.resource-sync-agent.metadata',
  'arc.v1.*.*.*.metrics-agent.>',
  'arc.v1.*.*.*.config-agent.>',
  'arc.v1.*.*.*.extension-manager.>',
  'arc.v1.*.*.*.clusterconnect-agent.>',
  'arc.v1.*.*.*.flux-logs-agent.flux-logs',
  'arc.v1.*.*.*.guard.config-pull',
];

const UNLIMITED = {
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  conn: -1,
  leaf: -1,
} as const;
const JETSTREAM = {
  mem_storage: 256 * 1024 * 1024,
  // Whatever the server has (its max_file_store: 75 % of the disk at start). A fixed reservation larger
  // than the disk's free space makes nats-server refuse JetStream to the account altogether.
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

function nkey(kp: { getPublicKey(): string; getSeed(): Uint8Array }): NKey {
  return { publicKey: kp.getPublicKey(), seed: new TextDecoder().decode(kp.getSeed()) };
}

const seedBytes = (k: NKey): Uint8Array => new TextEncoder().encode(k.seed);

/** The CLUSTERS account JWT with `revocations` (user public key → unix seconds: JWTs issued up to then). */
export function encodeClustersAccount(
  trust: Pick<BrokerTrust, 'operatorSigningKey'> & {
    hub: { publicKey: string };
    clusters: Omit<AccountTrust, 'jwt'>;
  },
  revocations: Readonly<Record<string, number>> = {},
): Promise<string> {
  return jwt.encodeAccount(
    trust.clusters.name,
    trust.clusters.publicKey,
    {
      limits: { ...UNLIMITED },
      signing_keys: [trust.clusters.signingKey.publicKey],
      // A user minted without permissions can do nothing.
      default_permissions: { pub: { deny: ['>'] }, sub: { deny: ['>'] } },
      imports: [
        // Every agent → hub subject but the heartbeat, as services (replies flow back). No `share`: it
        // would add the caller's claims in a header to every message; the subject already names the
        // caller (a user publishes only its own).
        ...SERVICE_AGENT_SUBJECTS.map((subject) => ({
          name: `arc ${subject}`,
          subject,
          account: trust.hub.publicKey,
          type: 'service' as const,
        })),
        { name: 'arcctl', subject: 'arcctl.v1.>', account: trust.hub.publicKey, type: 'stream' },
      ],
      exports: [
        { name: 'arcconnect', subject: 'arcconnect.v1.>', type: 'service', response_type: 'Stream' },
        // Heartbeats (most of the traffic, never answered) reach the hub as a stream: no service-import
        // bookkeeping or header per message.
        { name: 'heartbeats', subject: HEARTBEAT_SUBJECT, type: 'stream' },
      ],
      revocations: { ...revocations },
    },
    { signer: seedBytes(trust.operatorSigningKey) },
  );
}

/** A new operator, its accounts and their signing keys. */
export async function createBrokerTrust(): Promise<BrokerTrust> {
  const operator = createOperator();
  const operatorSigningKey = nkey(createOperator());
  const [sys, hub, clusters] = [createAccount(), createAccount(), createAccount()];
  const signer = { signer: seedBytes(operatorSigningKey) };
  const signingKeys = new Map<string, NKey>(
    ['SYS', 'HUB', 'CLUSTERS'].map((n) => [n, nkey(createAccount())] as const),
  );
  const account = (kp: typeof sys, name: string, token: string): AccountTrust => ({
    name,
    publicKey: kp.getPublicKey(),
    jwt: token,
    signingKey: signingKeys.get(name) as NKey,
  });
  const sysJwt = await jwt.encodeAccount(
    'SYS',
    sys.getPublicKey(),
    { limits: { ...UNLIMITED }, signing_keys: [(signingKeys.get('SYS') as NKey).publicKey] },
    signer,
  );
  const hubJwt = await jwt.encodeAccount(
    'HUB',
    hub.getPublicKey(),
    {
      limits: { ...UNLIMITED, ...JETSTREAM },
      signing_keys: [(signingKeys.get('HUB') as NKey).publicKey],
      exports: [
        { name: 'arc', subject: 'arc.v1.>', type: 'service', response_type: 'Singleton' },
        { name: 'arcctl', subject: 'arcctl.v1.>', type: 'stream' },
      ],
      imports: [
        { name: 'arcconnect', subject: 'arcconnect.v1.>', account: clusters.getPublicKey(), type: 'service' },
        { name: 'heartbeats', subject: HEARTBEAT_SUBJECT, account: clusters.getPublicKey(), type: 'stream' },
      ],
    },
    signer,
  );
  const hubTrust = account(hub, 'HUB', hubJwt);
  const clustersPart = {
    name: 'CLUSTERS',
    publicKey: clusters.getPublicKey(),
    signingKey: signingKeys.get('CLUSTERS') as NKey,
  };
  const clustersJwt = await encodeClustersAccount({
    operatorSigningKey,
    hub: hubTrust,
    clusters: clustersPart,
  });
  const operatorJwt = await jwt.encodeOperator('arcfleet', operator, {
    signing_keys: [operatorSigningKey.publicKey],
    system_account: sys.getPublicKey(),
  });
  return {
    operator: { publicKey: operator.getPublicKey(), jwt: operatorJwt },
    operatorSigningKey,
    system: account(sys, 'SYS', sysJwt),
    hub: hubTrust,
    clusters: { ...clustersPart, jwt: clustersJwt },
  };
}

/** A `.creds` file (user JWT + seed), what nats.js's `credsAuthenticator` reads. */
export function formatCreds(userJwt: string, user: NKey): string {
  return new TextDecoder().decode(jwt.fmtCreds(userJwt, fromSeed(seedBytes(user))));
}

/** A new user key pair (a cluster makes its own; the hub signs only the public key). */
export function createUserKey(): NKey {
  return nkey(createUser());
}

export interface UserOptions {
  /** Unix seconds (real time) after which the broker refuses and disconnects the user. */
  readonly expiresAtSec?: number;
}

const expiry = (o: UserOptions) => (o.expiresAtSec === undefined ? {} : { exp: Math.floor(o.expiresAtSec) });

/** One user JWT of `account`, signed by `signer`, with `permissions` and an optional expiry. */
function userJwt(
  name: string,
  userPublicKey: string,
  accountPublicKey: string,
  permissions: object,
  signer: ReturnType<typeof fastKeyPair>,
  opts: UserOptions = {},
): Promise<string> {
  return jwt.encodeUser(name, publicKeyOnly(userPublicKey), publicKeyOnly(accountPublicKey), permissions, {
    signer,
    ...expiry(opts),
  });
}

/** The hub's own user: everything in the HUB account (JetStream, KV, the exported subjects). */
export function hubUserJwt(trust: BrokerTrust, userPublicKey: string): Promise<string> {
  return userJwt('hub', userPublicKey, trust.hub.publicKey, {}, fastKeyPair(trust.hub.signingKey.seed));
}

/** A system-account user (account updates, server events): root-equivalent, the hub's alone. */
export function systemUserJwt(trust: BrokerTrust, userPublicKey: string): Promise<string> {
  const signer = fastKeyPair(trust.system.signingKey.seed);
  return userJwt('sys', userPublicKey, trust.system.publicKey, {}, signer);
}

/** Who signs cluster users: the CLUSTERS signing key (the hub keeps one signer, node:crypto backed). */
export interface ClusterUserSigner {
  readonly accountPublicKey: string;
  readonly signer: ReturnType<typeof fastKeyPair>;
}

export function clusterUserSigner(trust: {
  clusters: Pick<AccountTrust, 'publicKey' | 'signingKey'>;
}): ClusterUserSigner {
  return { accountPublicKey: trust.clusters.publicKey, signer: fastKeyPair(trust.clusters.signingKey.seed) };
}

function signerOf(trust: BrokerTrust | ClusterUserSigner): ClusterUserSigner {
  return 'signer' in trust ? trust : clusterUserSigner(trust);
}

/** A cluster's user: its own subjects only. */
export function clusterUserJwt(
  trust: BrokerTrust | ClusterUserSigner,
  key: string,
  userPublicKey: string,
  opts: UserOptions = {},
): Promise<string> {
  const s = signerOf(trust);
  return userJwt(
    `cluster:${key}`,
    userPublicKey,
    s.accountPublicKey,
    clusterPermissions(key),
    s.signer,
    opts,
  );
}

/** An onboarding user: the register request of one cluster, nothing else. */
export function bootstrapUserJwt(
  trust: BrokerTrust | ClusterUserSigner,
  key: string,
  userPublicKey: string,
  opts: UserOptions = {},
): Promise<string> {
  const s = signerOf(trust);
  const permissions = bootstrapPermissions(key);
  return userJwt(`bootstrap:${key}`, userPublicKey, s.accountPublicKey, permissions, s.signer, opts);
}

/** The claims of any of these JWTs (no signature check: the broker checks). */
export function decodeJwt<T = unknown>(token: string): jwt.ClaimsData<T> {
  return jwt.decode<T>(token);
}

/** The full resolver's files: `<account public key>.jwt` → the account JWT. */
export function resolverFiles(trust: BrokerTrust): { name: string; content: string }[] {
  return [trust.system, trust.hub, trust.clusters].map((a) => ({
    name: `${a.publicKey}.jwt`,
    content: a.jwt,
  }));
}
