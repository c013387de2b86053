/**
 * Message rates on one nats-server: the raw publish→subscribe rate of a plain pair of connections,
 * and the hub's heartbeat processing rate (valid, signed heartbeats of onboarded clusters, counted by
 * the hub's own `arcfleet_hub_heartbeats_total`).
 */
import { connect, headers as natsHeaders, type MsgHdrs, type NatsConnection } from 'nats';
import { randomBytes } from 'node:crypto';
import type { ClusterStore } from '../agent-runtime/cluster-store.js';
import { type ClusterState, encodeMessage, PROTOCOL_VERSION, subjects } from '../contract/index.js';
import { userAuthenticator, type UserCredentials } from '../platform/broker-keys.js';
import { HEADER_IDENTITY, HEADER_SIGNATURE, MessageSigner } from '../platform/identity.js';

export interface RateResult {
  readonly messages: number;
  readonly seconds: number;
  readonly perSecond: number;
}

interface Prepared {
  readonly subject: string;
  readonly payload: Uint8Array;
  readonly headers: MsgHdrs;
}

const FLUSH_EVERY = 2000;

async function publishAll(nc: NatsConnection, items: readonly Prepared[], count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const item = items[i % items.length] as Prepared;
    nc.publish(item.subject, item.payload, { headers: item.headers });
    if (i % FLUSH_EVERY === FLUSH_EVERY - 1) await nc.flush();
  }
  await nc.flush();
}

/** Signed heartbeats of every onboarded cluster, ready to publish (signing is not part of the timing). */
export async function prepareHeartbeats(
  store: ClusterStore,
  clusters: readonly ClusterState[],
): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for (const c of clusters) {
    const identity = await store.readIdentity(c.name);
    const onboarding = await store.readOnboarding(c.name);
    if (!identity || !onboarding) continue;
    const subject = subjects.agentToHub(c, 'resource-sync-agent', 'heartbeat');
    const payload = encodeMessage({
      v: PROTOCOL_VERSION,
      type: 'heartbeat',
      agent: 'resource-sync-agent',
      agentVersion: c.agentVersion,
      sentAt: new Date().toISOString(),
    });
    const headers = natsHeaders();
    headers.set(HEADER_IDENTITY, identity.certificate);
    headers.set(HEADER_SIGNATURE, new MessageSigner(onboarding.privateKeyPem).sign(subject, payload));
    out.push({ subject, payload, headers });
  }
  return out;
}

/** The fleet's broker and the user the bench connects as (the cloud side's: it speaks for any cluster). */
export interface BenchBroker {
  readonly url: string;
  readonly credentials: UserCredentials;
}

function connectAs(broker: BenchBroker, name: string): Promise<NatsConnection> {
  return connect({
    servers: broker.url,
    name,
    authenticator: userAuthenticator(() => broker.credentials),
  });
}

/** A plain publisher → subscriber pair; messages shaped like heartbeats (same payload and headers). */
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
    await publishAll(pub, [{ ...sample, subject }], count);
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
 * Publishes `count` valid heartbeats round-robin over the clusters and waits until the hub counted
 * them (`readCounter` = heartbeats accepted so far) on top of the real agents' own heartbeats
 * (`backgroundPerSecond`, measured just before). The rate is everything the hub accepted in the
 * window (ours + background) divided by its length.
 */
export async function measureHubRate(
  broker: BenchBroker,
  items: readonly Prepared[],
  count: number,
  readCounter: () => Promise<number>,
  backgroundPerSecond: number,
): Promise<RateResult & { processed: number }> {
  if (items.length === 0) throw new Error('no onboarded cluster to send heartbeats for');
  const nc = await connectAs(broker, 'bench-heartbeats');
  try {
    const base = await readCounter();
    const start = process.hrtime.bigint();
    const elapsed = (): number => Number(process.hrtime.bigint() - start) / 1e9;
    await publishAll(nc, items, count);
    const deadline = Date.now() + 300_000;
    for (;;) {
      const seconds = elapsed();
      const processed = (await readCounter()) - base;
      if (processed - backgroundPerSecond * seconds >= count)
        return { messages: count, seconds, perSecond: processed / seconds, processed };
      if (Date.now() > deadline)
        throw new Error(`the hub accepted ${processed} heartbeats (${count} sent + background) within 300 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  } finally {
    await nc.close();
  }
}
