// clusteridentityoperator per cluster on a FakeClock, with a fake link at the openLink seam and a
// real (temporary) cluster store: what it sends, and what it writes for the other agents.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { PROTOCOL_VERSION, type IdentitySecret, type MessageKind } from '../../contract/index.js';
import { FakeClock } from '../../platform/clock.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { waitFor } from '../../platform/wait.js';
import { identityOperatorFactory } from '../../services/clusteridentityoperator/identity-operator.js';
import {
  DAY,
  FakeAuthority,
  REF,
  captureLogger,
  clusterState,
  fail,
  fakeContext,
  onboardingSecret,
  refuse,
  snapshotOf,
  type Sent,
} from './agent-fakes.js';

const RENEW_AFTER_MS = 46 * DAY;
const JITTER_MS = DAY;
/** With random() = 0.5: renewal at notBefore + 46.5 days. */
const RENEW_AT_MS = RENEW_AFTER_MS + JITTER_MS / 2;
// Polls often; the deadline only bounds a failure: each step writes the identity secret durably
// (fsync), which a busy machine's disk can hold up for seconds (seen once at 3 s, the full unit suite
// running beside 1,000-cluster fleets).
const fast = { intervalMs: 2, timeoutMs: 15_000 };
const ofKind = (sent: Sent[], kind: MessageKind): Sent[] => sent.filter((s) => s.kind === kind);

describe('clusteridentityoperator', () => {
  async function setup(
    opts: {
      identity?: (
        a: FakeAuthority,
        keys: ReturnType<typeof generateAgentKeyPair>,
        nowMs: number,
      ) => IdentitySecret;
    } = {},
  ) {
    const dir = await mkdtemp(join(tmpdir(), 'identity-operator-'));
    // Per setup, not per test: a test may set up twice.
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const store = new ClusterStore(dir);
    const state = clusterState(0);
    await store.writeState(state);
    const clock = new FakeClock();
    const authority = new FakeAuthority();
    const keys = generateAgentKeyPair();
    const onboarding = onboardingSecret(keys);
    await store.writeOnboarding(REF.name, onboarding);
    const existing = opts.identity?.(authority, keys, clock.now());
    if (existing) await store.writeIdentity(REF.name, existing);
    const { logger, lines } = captureLogger();
    const fake = fakeContext('clusteridentityoperator', store, logger);
    // The hub: register and renew get a fresh certificate for the agent's key.
    fake.hub.respond = () => ({ ok: true, reply: authority.reply(keys, clock.now()) });
    const create = identityOperatorFactory({
      clock,
      timings: { certRenewAfterMs: RENEW_AFTER_MS, certRenewJitterMs: JITTER_MS },
      retryBaseMs: 1,
      retryCapMs: 1, // register retries wait 1 real ms
      random: () => 0.5,
    });
    const start = () => create(fake.ctx, snapshotOf(state, onboarding, existing));
    const events = (event: string) => lines.filter((l) => l.event === event);
    const identity = () => store.readIdentity(REF.name);
    /** The certificate is stored and the link presents it (renewal is scheduled in the same step). */
    const registered = async () => {
      const stored = await waitFor(identity, { ...fast, message: 'the identity secret' });
      await waitFor(() => fake.links[0]?.credentials.natsUserJwt, {
        ...fast,
        until: (c) => c === stored?.natsUserJwt,
        message: "the link to present the stored certificate's broker JWT",
      });
      return stored;
    };
    return {
      registered,
      store,
      clock,
      authority,
      keys,
      onboarding,
      start,
      events,
      identity,
      existing,
      ...fake,
    };
  }

  it('registers with the bootstrap token, stores the certificate and signs with it from then on', async () => {
    const { start, links, sent, keys, onboarding, identity, clock } = await setup();
    const agent = start();
    const stored = await waitFor(identity, { ...fast, message: 'the identity secret' });
    expect(links).toHaveLength(1);
    const register = ofKind(sent(), 'register');
    expect(register).toHaveLength(1);
    // The first call goes over the onboarding connection: the bootstrap token is the proof.
    expect(register[0]?.natsUserJwt).toBeUndefined();
    expect(register[0]?.message).toMatchObject({
      type: 'register',
      agent: 'clusteridentityoperator',
      bootstrapToken: onboarding.bootstrapToken,
      agentPublicKey: keys.publicKey,
      agentVersion: '1.21.10',
      sentAt: new Date(clock.now()).toISOString(),
    });
    expect(stored).toMatchObject({
      state: 'Valid',
      issuedAt: new Date(clock.now()).toISOString(),
      'azure-identity-certificate-expiration-time': new Date(clock.now() + 90 * DAY).toISOString(),
    });
    expect(stored?.issuerPublicKey).toEqual(expect.any(String));
    // The same link now presents the cluster's broker JWT (the other agents read it from the secret);
    // the switch follows the write.
    await waitFor(() => links[0]?.credentials.natsUserJwt, {
      ...fast,
      until: (c) => c === stored?.natsUserJwt,
    });
    expect(links[0]?.credentials).toEqual({
      privateKeyPem: keys.privateKeyPem,
      natsUserJwt: stored?.natsUserJwt,
    });
    await agent.close();
    expect(links[0]?.closed).toBe(true);
  });

  it('renews in the renewal window over the same link and shares the new certificate', async () => {
    const { start, links, sent, identity, clock, events, registered } = await setup();
    const agent = start();
    const first = await registered();
    const issuedAt = clock.now();
    clock.advance(RENEW_AT_MS - 1);
    expect(ofKind(sent(), 'renew')).toHaveLength(0);
    clock.advance(1);
    const renewed = await waitFor(identity, {
      ...fast,
      until: (id) => id?.certificate !== first?.certificate,
      message: 'the renewed identity secret',
    });
    const renew = ofKind(sent(), 'renew');
    expect(renew).toHaveLength(1);
    expect(renew[0]?.natsUserJwt).toBe(first?.natsUserJwt);
    expect(renewed).toMatchObject({
      state: 'Valid',
      issuedAt: new Date(issuedAt + RENEW_AT_MS).toISOString(),
    });
    await waitFor(() => links[0]?.credentials.natsUserJwt, {
      ...fast,
      until: (c) => c === renewed?.natsUserJwt,
    });
    expect(links).toHaveLength(1);
    expect(events('identity.renewed')).toHaveLength(1);
    // The next renewal is counted from the new certificate.
    clock.advance(RENEW_AT_MS - 1);
    expect(ofKind(sent(), 'renew')).toHaveLength(1);
    clock.advance(1);
    await waitFor(() => ofKind(sent(), 'renew'), { ...fast, until: (r) => r.length === 2 });
    await agent.close();
  });

  it('retries a failed register with backoff and gives up on a definitive refusal', async () => {
    const { start, hub, sent, identity, events, authority, keys, clock } = await setup();
    const answers = [fail('timeout'), refuse('ServiceUnavailable')];
    hub.respond = () => answers.shift() ?? { ok: true, reply: authority.reply(keys, clock.now()) };
    const agent = start();
    await waitFor(identity, { ...fast, message: 'the identity secret' });
    expect(ofKind(sent(), 'register')).toHaveLength(3);
    expect(events('identity.register_retry').map((e) => e.reason)).toEqual(['timeout', 'ServiceUnavailable']);
    await agent.close();

    const refused = await setup();
    refused.hub.respond = () => refuse('InvalidBootstrapToken', 'token already used');
    const again = refused.start();
    await waitFor(() => refused.events('identity.register_refused'), {
      ...fast,
      until: (e) => e.length === 1,
    });
    expect(ofKind(refused.sent(), 'register')).toHaveLength(1);
    expect(await refused.identity()).toBeUndefined();
    await again.close();
  });

  it('retries a failed renewal on the clock and marks the secret Expired when the hub says so', async () => {
    const { start, hub, sent, identity, clock, events, registered } = await setup();
    const agent = start();
    await registered();
    hub.respond = () => fail('timeout');
    clock.advance(RENEW_AT_MS);
    await waitFor(() => events('identity.renew_retry'), { ...fast, until: (e) => e.length === 1 });
    // backoffDelay(0) with random 0.5 and base 1 ms: the next attempt 1 simulated ms later.
    expect(events('identity.renew_retry')[0]).toMatchObject({ reason: 'timeout', delaySimMs: 1 });
    hub.respond = () => refuse('IdentityExpired');
    clock.advance(1);
    const expired = await waitFor(identity, { ...fast, until: (id) => id?.state === 'Expired' });
    expect(ofKind(sent(), 'renew')).toHaveLength(2);
    expect(expired?.state).toBe('Expired');
    expect(events('identity.expired')).toHaveLength(1);
    // No more attempts after that.
    clock.advance(30 * DAY);
    expect(ofKind(sent(), 'renew')).toHaveLength(2);
    await agent.close();
  });

  it('adopts a stored certificate on restart instead of registering again', async () => {
    const { start, links, sent, clock, identity, existing } = await setup({
      identity: (a, keys, now) => a.issue(keys, now),
    });
    const agent = start();
    // Connects presenting the stored certificate's broker JWT, and sends nothing until the renewal window.
    await waitFor(() => links.length, { ...fast, until: (n) => n === 1 });
    expect(links[0]?.credentials.natsUserJwt).toBe(existing?.natsUserJwt);
    clock.advance(RENEW_AT_MS);
    await waitFor(identity, { ...fast, until: (id) => id?.certificate !== existing?.certificate });
    expect(sent().map((s) => s.kind)).toEqual(['renew']);
    await agent.close();
  });

  it('forgets its secrets on a disconnect and does not register the same onboarding again', async () => {
    const { start, links, sent, store, identity, onboarding, events, registered } = await setup();
    const agent = start();
    await registered();
    links[0]?.control({ v: PROTOCOL_VERSION, type: 'control', action: 'disconnect', reason: 'deleted' });
    expect(links[0]?.closed).toBe(true);
    await waitFor(
      async () => (await identity()) === undefined && (await store.readOnboarding(REF.name)) === undefined,
      {
        ...fast,
        message: 'both secrets deleted',
      },
    );
    expect(events('identity.disconnect')).toHaveLength(1);
    // The host tells it the onboarding secret went, then (a stale copy) came back: nothing is sent.
    const state = clusterState(0);
    agent.update(snapshotOf(state, undefined, undefined), {
      state: false,
      onboarding: true,
      identity: true,
      kube: false,
    });
    agent.update(snapshotOf(state, onboarding, undefined), {
      state: false,
      onboarding: true,
      identity: false,
      kube: false,
    });
    expect(links).toHaveLength(1);
    expect(ofKind(sent(), 'register')).toHaveLength(1);
    await agent.close();
  });
});
