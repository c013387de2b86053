import { describe, expect, it } from 'vitest';
import { MessageSigner, generateAgentKeyPair, IdentityAuthority } from '../../platform/identity.js';
import { encodeMessage, PROTOCOL_VERSION, clusterKey, subjects, isArcError } from '../../contract/index.js';
import { parsePutBody } from '../../services/hub/connected-clusters/validation.js';
import { ProjectionStore } from '../../services/hub/persistence/projection-store.js';
import { createLogger } from '../../platform/log.js';
import { Hub } from '../../services/hub/hub.js';
import { createHubMetrics } from '../../services/hub/metrics.js';
import { DEFAULT_TIMINGS } from '../../platform/settings.js';
import { FakeClock } from '../../platform/clock.js';
import { REF, makeHub, onboard, signedHeartbeat } from './hub-helpers.js';

const MIN = 60_000;
const DAY = 86_400_000;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isArcError(err) ? err.code : 'not-an-ArcError';
  }
  return undefined;
}

describe('hub onboarding', () => {
  it('PUT creates Accepted/Connecting with a one-time token; register issues a 90-day certificate', () => {
    const { hub, clock } = makeHub();
    const { identity, put, key } = onboard(hub, REF, clock);
    expect(put.created).toBe(true);
    expect(put.record.provisioningState).toBe('Provisioning');
    expect(Date.parse(identity.notAfter) - clock.now()).toBe(90 * DAY);
    const record = hub.get(REF)!;
    expect(record.key).toBe(key);
    expect(record.connectivity.status).toBe('Connecting');
    expect(record.identity.certExpiresMs).toBe(clock.now() + 90 * DAY);
  });

  it('first heartbeat: Connected, provisioningState Succeeded, operation Succeeded', () => {
    const { hub, clock } = makeHub();
    const { signer, identity, key } = onboard(hub, REF, clock);
    clock.advance(5000);
    const hb = signedHeartbeat(REF, signer, clock.now());
    const { record } = hub.authenticate(key, identity.certificate, hb.signature, hb.subject, hb.payload);
    hub.heartbeat(record, hb.body);
    expect(record.connectivity.status).toBe('Connected');
    expect(record.connectivity.lastHeartbeatMs).toBe(clock.now());
    expect(record.provisioningState).toBe('Succeeded');
    expect(record.operation.status).toBe('Succeeded');
  });

  it('a bootstrap token works once; a retry by the same key after a lost reply still succeeds', () => {
    const { hub, clock } = makeHub();
    const { keys, put } = onboard(hub, REF, clock);
    const signer = new MessageSigner(keys.privateKeyPem);
    const subject = subjects.agentToHub(REF, 'clusteridentityoperator', 'register');
    const body = {
      v: PROTOCOL_VERSION,
      type: 'register' as const,
      agent: 'clusteridentityoperator' as const,
      bootstrapToken: put.bootstrapToken!,
      agentPublicKey: keys.publicKey,
      agentVersion: '1',
      sentAt: new Date().toISOString(),
    };
    const payload = encodeMessage(body);
    expect(
      codeOf(() => hub.register(clusterKey(REF), body, subject, payload, signer.sign(subject, payload))),
    ).toBe(undefined);
    // Another key holding the same (used) token is refused.
    const other = generateAgentKeyPair();
    const forged = { ...body, agentPublicKey: other.publicKey };
    const fp = encodeMessage(forged);
    expect(
      codeOf(() =>
        hub.register(
          clusterKey(REF),
          forged,
          subject,
          fp,
          new MessageSigner(other.privateKeyPem).sign(subject, fp),
        ),
      ),
    ).toBe('IdentityInvalid');
    const wrongToken = { ...body, bootstrapToken: 'x'.repeat(32) };
    const wp = encodeMessage(wrongToken);
    expect(
      codeOf(() => hub.register(clusterKey(REF), wrongToken, subject, wp, signer.sign(subject, wp))),
    ).toBe('InvalidBootstrapToken');
  });

  it('refuses missing, foreign, forged, revoked and expired identities', () => {
    const { hub, clock } = makeHub();
    const a = onboard(hub, REF, clock);
    const refB = { ...REF, name: 'c2' };
    const b = onboard(hub, refB, clock);
    const hb = signedHeartbeat(REF, a.signer, clock.now());
    expect(codeOf(() => hub.authenticate(a.key, undefined, hb.signature, hb.subject, hb.payload))).toBe(
      'IdentityMissing',
    );
    // B's certificate on A's subject.
    const hbB = signedHeartbeat(REF, b.signer, clock.now());
    expect(
      codeOf(() => hub.authenticate(a.key, b.identity.certificate, hbB.signature, hbB.subject, hbB.payload)),
    ).toBe('IdentityForeign');
    // A's certificate with B's signature: not the holder of A's key.
    expect(
      codeOf(() => hub.authenticate(a.key, a.identity.certificate, hbB.signature, hb.subject, hb.payload)),
    ).toBe('IdentityInvalid');
    // A certificate from another authority.
    const foreignAuthority = new IdentityAuthority(IdentityAuthority.generatePem());
    const fake = foreignAuthority.issue(a.key, a.keys.publicKey, clock.now(), DAY).certificate;
    expect(codeOf(() => hub.authenticate(a.key, fake, hb.signature, hb.subject, hb.payload))).toBe(
      'IdentityInvalid',
    );
    // Expired.
    clock.advance(91 * DAY);
    const late = signedHeartbeat(REF, a.signer, clock.now());
    expect(
      codeOf(() =>
        hub.authenticate(a.key, a.identity.certificate, late.signature, late.subject, late.payload),
      ),
    ).toBe('IdentityExpired');
  });

  it('DELETE revokes: the old identity is refused and the agents are told to disconnect', async () => {
    const { hub, clock, controls } = makeHub();
    const a = onboard(hub, REF, clock);
    expect(await hub.delete(REF)).toBe(true);
    expect(controls).toHaveLength(1);
    expect(controls[0]?.message.action).toBe('disconnect');
    const hb = signedHeartbeat(REF, a.signer, clock.now());
    expect(
      codeOf(() => hub.authenticate(a.key, a.identity.certificate, hb.signature, hb.subject, hb.payload)),
    ).toBe('IdentityRevoked');
    // connect again: a new record, the old certificate still refused.
    onboard(hub, REF, clock);
    expect(
      codeOf(() => hub.authenticate(a.key, a.identity.certificate, hb.signature, hb.subject, hb.payload)),
    ).toBe('IdentityRevoked');
  });

  it('renewal issues a new certificate and keeps the previous serial valid for the other agents', () => {
    const { hub, clock } = makeHub();
    const a = onboard(hub, REF, clock);
    clock.advance(46 * DAY);
    const record = hub.get(REF)!;
    const hb = signedHeartbeat(REF, a.signer, clock.now());
    const auth = hub.authenticate(a.key, a.identity.certificate, hb.signature, hb.subject, hb.payload);
    const renewed = hub.renew(record, auth.claims);
    expect(Date.parse(renewed.notAfter)).toBe(clock.now() + 90 * DAY);
    expect(record.identity.serials).toHaveLength(2);
    expect(() =>
      hub.authenticate(a.key, renewed.certificate, hb.signature, hb.subject, hb.payload),
    ).not.toThrow();
    expect(() =>
      hub.authenticate(a.key, a.identity.certificate, hb.signature, hb.subject, hb.payload),
    ).not.toThrow();
  });

  it('Offline after 15 minutes of silence, back on heartbeat; Expired sticky until delete + connect', async () => {
    const { hub, clock } = makeHub();
    const a = onboard(hub, REF, clock);
    const beat = () => {
      const hb = signedHeartbeat(REF, a.signer, clock.now());
      const { record } = hub.authenticate(
        a.key,
        a.identity.certificate,
        hb.signature,
        hb.subject,
        hb.payload,
      );
      hub.heartbeat(record, hb.body);
    };
    beat();
    clock.advance(15 * MIN - 1);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Connected');
    clock.advance(1);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Offline');
    beat();
    expect(hub.get(REF)!.connectivity.status).toBe('Connected');
    clock.advance(90 * DAY);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Expired');
    expect(hub.get(REF)!.transitions.map((t) => `${t.from}->${t.to}`)).toEqual([
      'Connecting->Connected',
      'Connected->Offline',
      'Offline->Connected',
      'Connected->Offline',
      'Offline->Expired',
    ]);
    // PUT again (replace) does not leave Expired.
    hub.put(
      REF,
      parsePutBody({ location: 'eastus', properties: { agentPublicKeyCertificate: a.keys.publicKey } }),
      'u',
    );
    expect(hub.get(REF)!.connectivity.status).toBe('Expired');
    await hub.delete(REF);
    const b = onboard(hub, REF, clock);
    const hb = signedHeartbeat(REF, b.signer, clock.now());
    const { record } = hub.authenticate(b.key, b.identity.certificate, hb.signature, hb.subject, hb.payload);
    hub.heartbeat(record, hb.body);
    expect(hub.get(REF)!.connectivity.status).toBe('Connected');
  });

  it('metadata: latest generation wins, older reports are acknowledged but ignored', () => {
    const { hub, clock } = makeHub();
    const a = onboard(hub, REF, clock);
    const record = hub.get(REF)!;
    const meta = {
      kubernetesVersion: '1.30.4',
      totalNodeCount: 3,
      totalCoreCount: 12,
      agentVersion: '1.21.10',
      distribution: 'aks',
      distributionVersion: '',
      infrastructure: 'azure',
    };
    const report = (generation: number, k8s: string) => ({
      v: PROTOCOL_VERSION,
      type: 'metadata' as const,
      agent: 'resource-sync-agent' as const,
      generation,
      changedAt: new Date(clock.now()).toISOString(),
      sentAt: new Date(clock.now()).toISOString(),
      metadata: { ...meta, kubernetesVersion: k8s },
    });
    expect(hub.metadata(record, report(2, '1.31.1')).generation).toBe(2);
    expect(hub.metadata(record, report(1, '1.29.0')).generation).toBe(2);
    expect(record.metadata?.kubernetesVersion).toBe('1.31.1');
    expect(record.connectivity.status).toBe('Connected');
    expect(a.key).toBe(record.key);
  });

  it('rejects a PUT that would move the location or swap the key of a connected cluster', () => {
    const { hub, clock } = makeHub();
    const a = onboard(hub, REF, clock);
    expect(
      codeOf(() =>
        hub.put(
          REF,
          parsePutBody({ location: 'westus', properties: { agentPublicKeyCertificate: a.keys.publicKey } }),
          'u',
        ),
      ),
    ).toBe('InvalidResourceLocation');
    const other = generateAgentKeyPair();
    expect(
      codeOf(() =>
        hub.put(
          REF,
          parsePutBody({ location: 'eastus', properties: { agentPublicKeyCertificate: other.publicKey } }),
          'u',
        ),
      ),
    ).toBe('Conflict');
  });
});

describe('projection store', () => {
  it('heartbeats do not cost a KV write each; transitions and metadata are written on the next flush', async () => {
    const { hub, clock, store, persistence } = makeHub();
    const a = onboard(hub, REF, clock);
    await store.flush();
    const afterOnboard = persistence.puts;
    const hb = () => {
      const m = signedHeartbeat(REF, a.signer, clock.now());
      const { record } = hub.authenticate(a.key, a.identity.certificate, m.signature, m.subject, m.payload);
      hub.heartbeat(record, m.body);
    };
    hb(); // transition Connecting -> Connected: important
    await store.flush();
    expect(persistence.puts).toBe(afterOnboard + 1);
    for (let i = 0; i < 50; i++) {
      clock.advance(60_000);
      hb();
      await store.flush();
    }
    // heartbeat-only changes are held back by heartbeatPersistIntervalMs (30 s real): at most one write.
    expect(persistence.puts - afterOnboard - 1).toBeLessThanOrEqual(1);
  });

  it('a new hub over the same persistence and authority key keeps every projection and identity', async () => {
    const first = makeHub();
    const a = onboard(first.hub, REF, first.clock);
    await first.store.close();
    const clock = new FakeClock(first.clock.now() + 5000);
    const logger = createLogger('test', 'silent');
    const store = new ProjectionStore({
      persistence: first.persistence,
      logger,
      persistIntervalMs: 100,
      heartbeatPersistIntervalMs: 30_000,
    });
    expect(await store.load()).toBe(1);
    const holder: { hub?: Hub } = {};
    const hub2 = new Hub({
      store,
      clock,
      timings: DEFAULT_TIMINGS,
      authority: new IdentityAuthority(first.authorityPem),
      metrics: createHubMetrics(() => holder.hub!.counts()),
      logger,
      publishControl: () => undefined,
    });
    const hb = signedHeartbeat(REF, a.signer, clock.now());
    expect(() =>
      hub2.authenticate(a.key, a.identity.certificate, hb.signature, hb.subject, hb.payload),
    ).not.toThrow();
    expect(hub2.operation(hub2.get(REF)!.operation.id)?.key).toBe(a.key);
  });
});
