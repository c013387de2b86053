/**
 * Message rates on one nats-server: the raw publish→subscribe rate of a plain pair of connections,
 * and the hub's heartbeat processing rate (valid heartbeats of onboarded clusters, each published as
 * its own cluster's NATS user so it crosses the account boundary as an agent's does, counted by the
 * hub's own `arcfleet_hub_heartbeats_total`).
 */
import { connect, type NatsConnection, type TlsOptions } from 'nats';
import { randomBytes } from 'node:crypto';
import type { ClusterStore } from '../agent-runtime/cluster-store.js';
import {
  type ClusterState,
  clusterKey,
  encodeMessage,
  PROTOCOL_VERSION,
  subjects,
} from '../contract/index.js';
import { clusterInboxPrefix } from '../platform/broker-trust.js';
import { parseCreds, userAuthenticator, type UserCredentials } from '../platform/broker-keys.js';

export interface RateResult {
  readonly messages: number;
  readonly seconds: number;
  readonly perSecond: number;
}

interface Prepared {
  readonly subject: string;
  readonly payload: Uint8Array;
  /** The cluster's own NATS user (its creds file in the cluster store). */
  readonly credentials: UserCredentials;
  /** Its inboxes (the only ones it may subscribe to). */
  readonly inboxPrefix: string;
  /** A read-only request of the same cluster (a config pull), to learn when the burst was processed. */
  readonly marker: { readonly subject: string; readonly payload: Uint8Array };
}

const FLUSH_EVERY = 2000;

/** `count` messages round-robin over `items`, each on its own connection (`conns[i]` for `items[i]`). */
async function publishAll(
  conns: readonly NatsConnection[],
  items: readonly { subject: string; payload: Uint8Array }[],
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const at = i % items.length;
    const item = items[at] as Prepared;
    (conns[at % conns.length] as NatsConnection).publish(item.subject, item.payload);
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1) await Promise.all(conns.map((c) => c.flush()));
  }
  await Promise.all(conns.map((c) => c.flush()));
}

/**
 * Heartbeats of up to `limit` onboarded clusters, ready to publish, with each cluster's NATS user (the
 * creds file its clusteridentityoperator wrote). Reading them is not part of the timing.
 */
export async function prepareHeartbeats(
  store: ClusterStore,
  clusters: readonly ClusterState[],
  limit = 100,
): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (const c of clusters) {
    if (out.length >= limit) break;
    const creds = await store.readBrokerCredentials(c.name);
    if (!creds) continue;
    const subject = subjects.agentToHub(c, 'resource-sync-agent', 'heartbeat');
    const payload = encodeMessage({
      v: PROTOCOL_VERSION,
      type: 'heartbeat',
      agent: 'resource-sync-agent',
      agentVersion: c.agentVersion,
      sentAt: new Date().toISOString(),
    });
    out.push({
      subject,
      payload,
      credentials: parseCreds(creds),
      inboxPrefix: clusterInboxPrefix(clusterKey(c)),
      marker: {
        subject: subjects.agentToHub(c, 'config-agent', 'config-pull'),
        payload: encodeMessage({
          v: PROTOCOL_VERSION,
          type: 'config-pull',
          agent: 'config-agent',
          sentAt: new Date().toISOString(),
        }),
      },
    });
  }
  return out;
}

/** The fleet's broker and the user the bench connects as (the cloud side's: it speaks for any cluster). */
export interface BenchBroker {
  readonly url: string;
  readonly credentials: UserCredentials;
  /** The fleet's broker TLS (none on a `--plain-http` fleet). */
  readonly tls?: TlsOptions;
}

function connectAs(broker: BenchBroker, name: string): Promise<NatsConnection> {
  return connect({
    servers: broker.url,
    name,
    authenticator: userAuthenticator(() => broker.credentials),
    ...(broker.tls ? { tls: broker.tls } : {}),
  });
}

/** A plain publisher → subscriber pair in one account; messages shaped like heartbeats (same payload). */
export async function measureRawRate(
  broker: BenchBroker,
  sample: Prepared,
  count: number,
): Promise<RateResult> {
  const pub = await connectAs(broker, 'bench-raw-pub');
  const sub = await connectAs(broker, 'bench-raw-sub');
  try {
    const subject = `bench.raw.${randomBytes(6).toString('hex')}`;
    let received = 0;
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    sub.subscribe(subject, {
      callback: () => {
        if (++received === count) resolveDone();
      },
    });
    await sub.flush();
    const start = process.hrtime.bigint();
    await publishAll([pub], [{ subject, payload: sample.payload }], count);
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`raw subscriber got ${received}/${count}`)), 120_000).unref(),
    );
    await Promise.race([done, timeout]);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { messages: count, seconds, perSecond: count / seconds };
  } finally {
    await pub.close();
    await sub.close();
  }
}

/**
 * Publishes `count` valid heartbeats round-robin over the clusters, one connection per cluster, then
 * one config pull per connection: the hub answers each only after every earlier message of that
 * connection (nats-server handles one client's messages in order, and the hub reads them from one
 * connection), so once all are answered the hub has processed the whole burst. Timed that way, nothing polls the hub during the window. The hub's own
 * counter (`readCounter`) then confirms it accepted every heartbeat.
 */
export async function measureHubRate(
  broker: BenchBroker,
  items: readonly Prepared[],
  count: number,
  readCounter: () => Promise<number>,
): Promise<RateResult & { processed: number }> {
  if (items.length === 0) throw new Error('no onboarded cluster to send heartbeats for');
  // One connection per cluster, as that cluster: the broker checks each publish against its user.
  const conns = await Promise.all(
    items.map((item, i) =>
      connect({
        servers: broker.url,
        name: `bench-heartbeats-${i}`,
        authenticator: userAuthenticator(() => item.credentials),
        inboxPrefix: item.inboxPrefix,
        ...(broker.tls ? { tls: broker.tls } : {}),
      }),
    ),
  );
  try {
    const base = await readCounter();
    const start = process.hrtime.bigint();
    await publishAll(conns, items, count);
    await Promise.all(
      conns.map((c, i) => {
        const { marker } = items[i] as Prepared;
        return c.request(marker.subject, marker.payload, { timeout: 300_000 });
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const processed = (await readCounter()) - base;
    if (processed < count) throw new Error(`the hub accepted ${processed} of ${count} heartbeats`);
    return { messages: count, seconds, perSecond: count / seconds, processed };
  } finally {
    await Promise.all(conns.map((c) => c.close()));
  }
}
