/**
 * Identity at the broker, on a whole fleet (docs/broker-identity.md): the fleet's nats-server refuses
 * anonymous clients; each cluster's agents connect as that cluster's NATS user, minted by the hub at
 * register and kept in the cluster store (0600); with those credentials a cluster reaches its own
 * subjects only; a renewal switches every agent to the new JWT before the old one expires; DELETE
 * revokes the user at the broker and its live connections drop.
 *
 * Time scale 120: certificate valid 20 simulated minutes (10 real s), renewal from minute 8 to 9.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection, type NatsError } from 'nats';
import { AGENT_NAMES, agentServerName, clusterKey } from '../../contract/index.js';
import { BROKER_FILES } from '../../platform/broker-files.js';
import { userAuthenticator, type UserCredentials } from '../../platform/broker-keys.js';
import { clusterInboxPrefix, decodeJwt } from '../../platform/broker-trust.js';
import { connectRefusal } from '../helpers/agent-wire.js';
import { requestError, subscribeRefused } from '../helpers/nats-probes.js';
import { ENV } from '../../platform/settings.js';
import { metricValue } from '../helpers/arm.js';
import { TestFleet } from '../helpers/fleet.js';
import { AgentLink } from '../../agent-runtime/agent-link.js';
import { NO_HOST_STATS, createAgentMetrics } from '../../agent-runtime/agent-metrics.js';
import { createLogger } from '../../platform/log.js';
import { waitFor } from '../helpers/wait.js';

let fleet: TestFleet;
const open: NatsConnection[] = [];
const AGENT_VIOLATIONS = 'arcfleet_agent_permission_violations_total';
/** The credentials of the cluster DELETE revoked. */
let revoked: UserCredentials | undefined;

/** Connects as cluster `name`, with the credentials its agents use, as any process holding them could. */
async function connectAsCluster(name: string, opts: { reconnect?: boolean } = {}): Promise<NatsConnection> {
  const creds = await fleet.clusterCredentials(name);
  // Through the egress gateway, the cluster's only way out (which counts what the broker refuses).
  const nc = await connect({
    servers: fleet.env[ENV.egressUrl] ?? '',
    name: `hostile/${name}`,
    authenticator: userAuthenticator(() => creds),
    inboxPrefix: clusterInboxPrefix(clusterKey(fleet.ref(name))),
    ...(await fleet.natsTls(agentServerName('hostile', name))),
    reconnect: opts.reconnect ?? false,
  });
  open.push(nc);
  return nc;
}

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 3,
    gateway: true,
    timeScale: 120,
    env: {
      ARCFLEET_CERT_VALIDITY: '20m',
      ARCFLEET_CERT_RENEW_AFTER: '8m',
      ARCFLEET_CERT_RENEW_JITTER: '1m',
      ARCFLEET_HEARTBEAT_INTERVAL: '1m',
    },
  });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
}, 120_000);

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
  await fleet?.stop();
});

const nameAt = (i: number): string => fleet.clusters[i]?.name ?? '';

describe('the fleet broker', () => {
  it('refuses anonymous clients', async () => {
    const err = await connect({ servers: fleet.nats.url, reconnect: false, ...(await fleet.natsTls()) }).then(
      async (nc) => {
        await nc.close();
        return undefined;
      },
      (e: NatsError) => e,
    );
    expect(err?.code).toBe('AUTHORIZATION_VIOLATION');
  });

  it('keeps every credential 0600: the hub keys and users, each cluster user', async () => {
    const broker = join(fleet.dataDir, 'broker');
    for (const f of [
      BROKER_FILES.trust,
      BROKER_FILES.hubKeys,
      BROKER_FILES.hubCreds,
      BROKER_FILES.systemCreds,
    ])
      expect((await stat(join(broker, f))).mode & 0o777, f).toBe(0o600);
    for (const c of fleet.clusters)
      expect((await stat(fleet.clusterCredentialsPath(c.name))).mode & 0o777).toBe(0o600);
  });
});

describe("a cluster's credentials", () => {
  it('reach only its own subjects: not another cluster, not everything, not JetStream or KV', async () => {
    const [a, b] = [nameAt(0), nameAt(1)];
    const bKey = clusterKey(fleet.ref(b));
    const nc = await connectAsCluster(a);
    expect(await subscribeRefused(nc, '>')).toBe(true);
    expect(await subscribeRefused(nc, `arcctl.v1.${bKey}`)).toBe(true);
    expect(await subscribeRefused(nc, `_INBOX.${bKey}.>`)).toBe(true);
    // Answering requests meant for the hub (even its own cluster's) is the hub's alone.
    expect(await subscribeRefused(nc, `arc.v1.${clusterKey(fleet.ref(a))}.>`)).toBe(true);
    expect(await requestError(nc, `arc.v1.${bKey}.resource-sync-agent.heartbeat`)).toBe(
      'PERMISSIONS_VIOLATION',
    );
    expect(await requestError(nc, '$JS.API.INFO')).toBe('PERMISSIONS_VIOLATION');
    expect(await requestError(nc, '$KV.arcfleet-clusters-authority.identity-authority')).toBe(
      'PERMISSIONS_VIOLATION',
    );
  });

  it('are counted by the agent a refusal reaches: over TLS the gateway cannot read it', async () => {
    // An agent link holding A's credentials that reaches for B (as a bug or a tampered agent would):
    // its subscription to B's control subject is refused, and its process counts it.
    const [a, b] = [nameAt(0), nameAt(1)];
    const onboarding = await fleet.store.readOnboarding(a);
    const identity = await fleet.store.readIdentity(a);
    const metrics = createAgentMetrics('test-agent', () => NO_HOST_STATS, Date.now);
    const violations = async (operation: string): Promise<number> =>
      metricValue(await metrics.registry.metrics(), AGENT_VIOLATIONS, { operation });
    const caFile = fleet.env[ENV.natsCa];
    const link = await AgentLink.open({
      natsUrl: fleet.env[ENV.egressUrl] ?? '',
      ca: caFile === undefined ? undefined : await readFile(caFile, 'utf8'),
      agentName: 'resource-sync-agent',
      ref: fleet.ref(b),
      logger: createLogger('test-agent', 'silent'),
      maxMessageBytes: 64 * 1024,
      credentials: { privateKeyPem: onboarding?.privateKeyPem ?? '', natsUserJwt: identity?.natsUserJwt },
      metrics: metrics.link,
    });
    try {
      await waitFor(async () => (await violations('subscribe')) >= 1, {
        timeoutMs: 5000,
        message: 'the refused control subscription counted',
      });
      expect(await violations('publish')).toBe(0);
    } finally {
      await link.close();
    }
    // The real agents reached for nothing that is not theirs (every agent process's /metrics).
    const targets = JSON.parse(await readFile(fleet.handle.targetsFile, 'utf8')) as {
      targets: string[];
      labels: { service: string };
    }[];
    const agents = targets.filter((t) => (AGENT_NAMES as readonly string[]).includes(t.labels.service));
    expect(agents.length).toBe(fleet.agents.size);
    for (const t of agents) {
      const text = await (await fetch(`http://${t.targets[0] ?? ''}/metrics`)).text();
      expect(metricValue(text, AGENT_VIOLATIONS, { operation: 'subscribe' }), t.labels.service).toBe(0);
      expect(metricValue(text, AGENT_VIOLATIONS, { operation: 'publish' }), t.labels.service).toBe(0);
    }
  });

  it('are renewed with the certificate: the agents switch before the old JWT expires, no gap', async () => {
    const name = nameAt(2);
    const first = await fleet.clusterCredentials(name);
    const firstExp = decodeJwt(first.jwt).exp ?? 0;
    expect(firstExp * 1000).toBeGreaterThan(Date.now());
    // Only the JWT is compared (and shown on failure): the seed is a secret.
    const renewedJwt = await waitFor(async () => (await fleet.clusterCredentials(name)).jwt, {
      timeoutMs: 20_000,
      intervalMs: 200,
      until: (jwt) => jwt !== first.jwt,
      message: `${name} broker credentials renewed`,
    });
    expect(decodeJwt(renewedJwt).exp ?? 0).toBeGreaterThan(firstExp);
    // Past the first JWT's expiry: no connection of this cluster was ended by the broker for using an
    // expired JWT (every agent had switched), and the cluster kept reporting (heartbeat every 0.5 s).
    await waitFor(() => Date.now(), { timeoutMs: 20_000, until: (t) => t > firstExp * 1000 + 1500 });
    const res = await fetch(`${fleet.handle.natsMonitorUrl}/connz?state=closed&limit=10000`);
    const closed = ((await res.json()) as { connections?: { name?: string; reason?: string }[] }).connections;
    const ended = (closed ?? []).filter(
      (c) => c.name?.endsWith(`/${name}`) && /expired/i.test(c.reason ?? ''),
    );
    expect(ended.map((c) => `${c.name ?? ''}: ${c.reason ?? ''}`)).toEqual([]);
    const seen = Date.parse((await fleet.get(name)).properties.lastConnectivityTime ?? '');
    await waitFor(() => fleet.get(name), {
      timeoutMs: 5000,
      until: (c) =>
        c.properties.connectivityStatus === 'Connected' &&
        Date.parse(c.properties.lastConnectivityTime ?? '') > seen,
      message: `${name} still reporting after its first broker JWT expired`,
    });
  });

  it('are revoked by DELETE: live connections drop within a second, reconnects are refused', async () => {
    const [gone, kept] = [nameAt(1), nameAt(0)];
    const creds = await fleet.clusterCredentials(gone);
    // Its agents delete their copy on `disconnect`; the next test presents it again.
    revoked = creds;
    const nc = await connectAsCluster(gone);
    const other = await connectAsCluster(kept);
    const closed = nc.closed();
    const del = await fleet.arm.deleteAndWait(fleet.ref(gone));
    expect(del.final.status).toBe(204);
    const deletedAt = Date.now();
    const reason = await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('still connected after 1 s')), 1000)),
    ]);
    expect(Date.now() - deletedAt).toBeLessThan(1000);
    expect(String(reason)).toMatch(/revoked/i);
    expect(await connectRefusal(fleet, creds)).toBe('AUTHORIZATION_VIOLATION');
    // The other cluster is untouched.
    expect(other.isClosed()).toBe(false);
    expect((await fleet.get(kept)).properties.connectivityStatus).toBe('Connected');
  });

  it('stay revoked when the broker restarts: the pushed account JWT is what it loads', async () => {
    const creds = revoked;
    if (!creds) throw new Error('the revocation test did not run');
    await fleet.nats.restart();
    expect(await connectRefusal(fleet, creds)).toBe('AUTHORIZATION_VIOLATION');
    await fleet.waitStatus(nameAt(0), 'Connected');
  });
});
