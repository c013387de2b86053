// resource-sync-agent per cluster on a FakeClock, with a fake link at the openLink seam: no network.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import {
  PROTOCOL_VERSION,
  metadataOf,
  type AgentMessage,
  type Heartbeat,
  type MetadataReport,
} from '../../contract/index.js';
import { FakeClock } from '../../platform/clock.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { waitFor } from '../../platform/wait.js';
import { resourceSyncFactory } from '../../services/resource-sync-agent/resource-sync.js';
import {
  DAY,
  FakeAuthority,
  ack,
  captureLogger,
  clusterState,
  fail,
  fakeContext,
  onboardingSecret,
  refuse,
  snapshotOf,
  type Sent,
} from './agent-fakes.js';

const HEARTBEAT_MS = 60_000;
const IDENTITY = { state: false, onboarding: false, identity: true, kube: false } as const;
const STATE = { state: true, onboarding: false, identity: false, kube: false } as const;

const heartbeats = (sent: Sent[]): Heartbeat[] =>
  sent.map((s) => s.message).filter((m): m is Heartbeat => m.type === 'heartbeat');
const reports = (sent: Sent[]): MetadataReport[] =>
  sent.map((s) => s.message).filter((m): m is MetadataReport => m.type === 'metadata');
const types = (sent: Sent[]): AgentMessage['type'][] => sent.map((s) => s.message.type);
const fast = { intervalMs: 2, timeoutMs: 2000 };

describe('resource-sync-agent', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function setup(opts: { identity?: boolean; validityMs?: number } = {}) {
    dir = await mkdtemp(join(tmpdir(), 'resource-sync-'));
    const store = new ClusterStore(dir);
    const clock = new FakeClock();
    const authority = new FakeAuthority();
    const keys = generateAgentKeyPair();
    const onboarding = onboardingSecret(keys);
    const identity = authority.issue(keys, clock.now(), opts.validityMs);
    const { logger, lines } = captureLogger();
    const fake = fakeContext('resource-sync-agent', store, logger);
    const create = resourceSyncFactory({
      clock,
      timings: { heartbeatIntervalMs: HEARTBEAT_MS },
      retryBaseMs: 500,
      retryCapMs: 10_000,
      random: () => 0.999, // each retry waits just under its bound: 499, 998, 1996 ms, ...
    });
    const state = clusterState(0);
    const agent = create(
      fake.ctx,
      snapshotOf(state, onboarding, opts.identity === false ? undefined : identity),
    );
    const events = (event: string) => lines.filter((l) => l.event === event);
    return { store, clock, authority, keys, onboarding, identity, state, agent, lines, events, ...fake };
  }

  it('sends the metadata at start and on every change, and a heartbeat every interval', async () => {
    const { clock, agent, links, sent, identity, keys, onboarding, state } = await setup();
    await waitFor(() => types(sent()), { ...fast, until: (t) => t.includes('metadata') });
    expect(links).toHaveLength(1);
    expect(links[0]?.credentials).toEqual({
      privateKeyPem: keys.privateKeyPem,
      natsUserJwt: identity.natsUserJwt,
    });
    // At once: one heartbeat, then the metadata report, both as the cluster's broker user.
    expect(types(sent())).toEqual(['heartbeat', 'metadata']);
    expect(sent().every((s) => s.natsUserJwt === identity.natsUserJwt)).toBe(true);
    expect(heartbeats(sent())[0]).toMatchObject({ agent: 'resource-sync-agent', agentVersion: '1.21.10' });
    expect(reports(sent())[0]).toMatchObject({
      agent: 'resource-sync-agent',
      generation: 0,
      changedAt: state.changedAt,
      metadata: metadataOf(state),
    });
    expect(agent.outboxDepth?.()).toBe(0);

    clock.advance(HEARTBEAT_MS - 1);
    expect(heartbeats(sent())).toHaveLength(1);
    clock.advance(1);
    expect(heartbeats(sent())).toHaveLength(2);
    expect(heartbeats(sent())[1]?.sentAt).toBe(new Date(clock.now()).toISOString());

    // A change of the cluster (scaled to 5 nodes): its metadata goes out at once.
    const scaled = clusterState(1, 5);
    agent.update(snapshotOf(scaled, onboarding, identity), STATE);
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 2 });
    expect(reports(sent())[1]).toMatchObject({ generation: 1, metadata: metadataOf(scaled) });
    clock.advance(3 * HEARTBEAT_MS);
    expect(heartbeats(sent())).toHaveLength(5);
    expect(reports(sent())).toHaveLength(2);
    await agent.close();
    expect(links[0]?.closed).toBe(true);
    clock.advance(HEARTBEAT_MS);
    expect(heartbeats(sent())).toHaveLength(5);
  });

  it('retries an unacknowledged report with backoff; the latest generation wins', async () => {
    const { clock, agent, hub, sent, onboarding, identity, events } = await setup();
    const answers = [fail('timeout'), refuse('ServiceUnavailable')];
    hub.respond = () => answers.shift() ?? ack();
    await waitFor(() => events('sync.metadata_retry'), { ...fast, until: (e) => e.length === 1 });
    expect(events('sync.metadata_retry')[0]).toMatchObject({ reason: 'timeout', delayMs: 499 });
    expect(agent.outboxDepth?.()).toBe(1);

    clock.advance(498);
    expect(reports(sent())).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => events('sync.metadata_retry'), { ...fast, until: (e) => e.length === 2 });
    expect(reports(sent())).toHaveLength(2);
    expect(events('sync.metadata_retry')[1]).toMatchObject({ reason: 'ServiceUnavailable', delayMs: 999 });

    // A newer generation while a retry is pending waits for that retry, and replaces the older report
    // (once read: the metadata source is read asynchronously).
    agent.update(snapshotOf(clusterState(2), onboarding, identity), STATE);
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(998);
    expect(reports(sent())).toHaveLength(2);
    clock.advance(1);
    await waitFor(() => agent.outboxDepth?.(), { ...fast, until: (d) => d === 0 });
    expect(reports(sent()).map((r) => r.generation)).toEqual([0, 0, 2]);
    await agent.close();
  });

  it('while the link is down: heartbeats are lost, the report waits, and both resume on reconnect', async () => {
    const { clock, agent, links, sent, onboarding, identity, events } = await setup();
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 1 });
    const link = links[0]!;
    link.connected = false;
    clock.advance(HEARTBEAT_MS);
    expect(heartbeats(sent())).toHaveLength(1);
    agent.update(snapshotOf(clusterState(1), onboarding, identity), STATE);
    // The request times out: retried on the backoff, the link is kept (NATS reconnects by itself).
    await waitFor(() => events('sync.metadata_retry'), { ...fast, until: (e) => e.length === 1 });
    clock.advance(499);
    await waitFor(() => events('sync.metadata_retry'), { ...fast, until: (e) => e.length === 2 });
    expect(events('sync.metadata_retry').map((e) => e.reason)).toEqual(['timeout', 'timeout']);
    expect(agent.outboxDepth?.()).toBe(1);
    link.connected = true;
    clock.advance(999);
    await waitFor(() => agent.outboxDepth?.(), { ...fast, until: (d) => d === 0 });
    expect(reports(sent()).map((r) => r.generation)).toEqual([0, 1]);
    clock.advance(HEARTBEAT_MS);
    expect(heartbeats(sent())).toHaveLength(2);
    expect(links).toHaveLength(1);
    await agent.close();
  });

  it('switches to a renewed certificate without reconnecting', async () => {
    const { clock, agent, links, sent, onboarding, authority, keys, events } = await setup();
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 1 });
    clock.advance(DAY);
    const renewed = authority.issue(keys, clock.now());
    agent.update(snapshotOf(clusterState(0), onboarding, renewed), IDENTITY);
    expect(events('sync.identity_updated')).toEqual([expect.objectContaining({ newKey: false })]);
    clock.advance(HEARTBEAT_MS);
    expect(links).toHaveLength(1);
    expect(sent().at(-1)).toMatchObject({ kind: 'heartbeat', natsUserJwt: renewed.natsUserJwt });
    // Same key: the hub already has the metadata, nothing is resent.
    expect(reports(sent())).toHaveLength(1);
    await agent.close();
  });

  it('stops without an identity and starts again, resending the metadata, with a new one', async () => {
    const { clock, agent, links, sent, onboarding, authority, events } = await setup();
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 1 });
    agent.update(snapshotOf(clusterState(0), onboarding, undefined), IDENTITY);
    expect(links[0]?.closed).toBe(true);
    expect(events('sync.stopped')).toEqual([expect.objectContaining({ reason: 'no valid identity' })]);
    clock.advance(5 * HEARTBEAT_MS);
    expect(heartbeats(sent())).toHaveLength(1);

    // Connected again (a new onboarding: new key and certificate).
    const keys2 = generateAgentKeyPair();
    const onboarding2 = onboardingSecret(keys2, 'token-2');
    const identity2 = authority.issue(keys2, clock.now());
    agent.update(snapshotOf(clusterState(0), onboarding2, identity2), {
      state: false,
      onboarding: true,
      identity: true,
      kube: false,
    });
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 2 });
    expect(links).toHaveLength(2);
    expect(links[1]?.credentials.natsUserJwt).toBe(identity2.natsUserJwt);
    // The new hub record knows nothing: the unchanged generation 0 is reported again.
    expect(reports(sent()).map((r) => r.generation)).toEqual([0, 0]);
    await agent.close();
  });

  it('halts on a definitive refusal and on a disconnect until a new certificate arrives', async () => {
    const { clock, agent, links, sent, hub, onboarding, identity, authority, keys, events } = await setup();
    hub.respond = () => refuse('IdentityRevoked');
    await waitFor(() => events('sync.refused'), { ...fast, until: (e) => e.length === 1 });
    expect(links[0]?.closed).toBe(true);
    clock.advance(3 * HEARTBEAT_MS);
    expect(heartbeats(sent())).toHaveLength(1);
    // The same certificate again (e.g. the file touched): still halted.
    agent.update(snapshotOf(clusterState(0), onboarding, identity), IDENTITY);
    expect(links).toHaveLength(1);

    hub.respond = () => ack();
    const renewed = authority.issue(keys, clock.now());
    agent.update(snapshotOf(clusterState(0), onboarding, renewed), IDENTITY);
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 2 });
    expect(links).toHaveLength(2);

    links[1]?.control({ v: PROTOCOL_VERSION, type: 'control', action: 'disconnect', reason: 'deleted' });
    expect(events('sync.disconnect')).toHaveLength(1);
    expect(links[1]?.closed).toBe(true);
    agent.update(snapshotOf(clusterState(1), onboarding, renewed), { ...IDENTITY, state: true });
    clock.advance(3 * HEARTBEAT_MS);
    expect(links).toHaveLength(2);
    expect(heartbeats(sent())).toHaveLength(2);
    await agent.close();
  });

  it('stops sending once its certificate has expired (simulated time)', async () => {
    const { clock, agent, links, sent, events } = await setup({ validityMs: 10 * HEARTBEAT_MS });
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 1 });
    clock.advance(10 * HEARTBEAT_MS - 1);
    expect(heartbeats(sent())).toHaveLength(10);
    expect(links[0]?.closed).toBe(false);
    clock.advance(1);
    expect(links[0]?.closed).toBe(true);
    expect(events('sync.identity_expired')).toHaveLength(1);
    const before = heartbeats(sent()).length;
    clock.advance(3 * HEARTBEAT_MS);
    expect(heartbeats(sent())).toHaveLength(before);
    await agent.close();
  });

  it('stops when clusteridentityoperator marks the identity Expired', async () => {
    const { agent, links, sent, events, onboarding, identity } = await setup();
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 1 });
    agent.update(snapshotOf(clusterState(0), onboarding, { ...identity, state: 'Expired' }), IDENTITY);
    expect(links[0]?.closed).toBe(true);
    expect(events('sync.identity_expired')).toHaveLength(1);
    expect(events('sync.stopped')).toEqual([expect.objectContaining({ reason: 'identity expired' })]);
    await agent.close();
  });

  it('waits for an identity before connecting', async () => {
    const { agent, links, onboarding, identity, sent } = await setup({ identity: false });
    expect(links).toHaveLength(0);
    agent.update(snapshotOf(clusterState(0), onboarding, { ...identity, state: 'Expired' }), IDENTITY);
    expect(links).toHaveLength(0);
    agent.update(snapshotOf(clusterState(0), onboarding, identity), IDENTITY);
    await waitFor(() => reports(sent()), { ...fast, until: (r) => r.length === 1 });
    expect(links).toHaveLength(1);
    await agent.close();
  });
});
