import { describe, expect, it } from 'vitest';
import { generateAgentKeyPair, IdentityAuthority } from '../../platform/identity.js';
import { clusterKey, isArcError } from '../../contract/index.js';
import { parsePutBody } from '../../services/hub/connected-clusters/validation.js';
import { ProjectionStore } from '../../services/hub/persistence/projection-store.js';
import { createLogger } from '../../platform/log.js';
import { AgentProtocol } from '../../services/hub/agent-bus/agent-protocol.js';
import { ConnectedClusters } from '../../services/hub/connected-clusters/connected-clusters.js';
import { createHubMetrics } from '../../services/hub/metrics.js';
import { DEFAULT_TIMINGS } from '../../platform/settings.js';
import { FakeClock } from '../../platform/clock.js';
import { REF, beat, makeHub, metadataReport, onboard, registerBody } from './hub-helpers.js';

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
    const h = makeHub();
    const { hub, clock } = h;
    const { identity, put, key } = onboard(h, REF, clock);
    expect(put.created).toBe(true);
    expect(put.record.provisioningState).toBe('Provisioning');
    expect(Date.parse(identity.notAfter) - clock.now()).toBe(90 * DAY);
    const record = hub.get(REF)!;
    expect(record.key).toBe(key);
    expect(record.connectivity.status).toBe('Connecting');
    expect(record.identity.certExpiresMs).toBe(clock.now() + 90 * DAY);
  });

  it('first heartbeat: Connected; the operation completes on its own time, not with the agents', () => {
    const h = makeHub();
    const { hub, clock } = h;
    const { key } = onboard(h, REF, clock);
    clock.advance(5000);
    beat(h, key, clock.now());
    const record = hub.get(REF)!;
    expect(record.connectivity.status).toBe('Connected');
    expect(record.connectivity.lastHeartbeatMs).toBe(clock.now());
    expect(record.provisioningState).toBe('Provisioning');
    expect(record.operation.status).toBe('InProgress');
    clock.advance(5000);
    hub.tick();
    expect(record.provisioningState).toBe('Succeeded');
    expect(record.operation.status).toBe('Succeeded');
  });

  it('a bootstrap token works once; a retry by the same key after a lost reply still succeeds', () => {
    const h = makeHub();
    const { agents, clock } = h;
    const { keys, put } = onboard(h, REF, clock);
    const body = registerBody(keys, put.bootstrapToken!);
    expect(codeOf(() => agents.register(clusterKey(REF), body))).toBe(undefined);
    // Another key holding the same (used) token is refused.
    const other = generateAgentKeyPair();
    expect(codeOf(() => agents.register(clusterKey(REF), { ...body, agentPublicKey: other.publicKey }))).toBe(
      'IdentityInvalid',
    );
    expect(codeOf(() => agents.register(clusterKey(REF), { ...body, bootstrapToken: 'x'.repeat(32) }))).toBe(
      'InvalidBootstrapToken',
    );
  });

  it('refuses messages on the subject of a cluster with no record (IdentityRevoked) or Expired', () => {
    const h = makeHub();
    const { agents, clock } = h;
    const a = onboard(h, REF, clock);
    expect(codeOf(() => agents.recordOf(clusterKey({ ...REF, name: 'nobody' })))).toBe('IdentityRevoked');
    clock.advance(91 * DAY);
    h.hub.tick();
    expect(codeOf(() => beat(h, a.key, clock.now()))).toBe('ClusterExpired');
    expect(codeOf(() => agents.renew(agents.recordOf(a.key)))).toBe('ClusterExpired');
  });

  it('DELETE revokes: the record is gone and the agents are told to disconnect', async () => {
    const h = makeHub();
    const { hub, agents, clock, controls } = h;
    const a = onboard(h, REF, clock);
    expect(hub.beginDelete(REF)?.provisioningState).toBe('Deleting');
    expect(controls).toHaveLength(0);
    expect(await hub.delete(REF)).toBe(true);
    expect(controls).toHaveLength(1);
    expect(controls[0]?.message.action).toBe('disconnect');
    expect(codeOf(() => agents.recordOf(a.key))).toBe('IdentityRevoked');
    // connect again: a new record with the new key (the old key's broker user is revoked).
    const b = onboard(h, REF, clock);
    expect(agents.recordOf(a.key).desired.agentPublicKeyCertificate).toBe(b.keys.publicKey);
  });

  it('no cluster goes Offline while the hub’s own broker link is down; deadlines count from its return', () => {
    const h = makeHub();
    const { hub, clock } = h;
    const a = onboard(h, REF, clock);
    beat(h, a.key, clock.now());
    clock.advance(10 * MIN);
    hub.brokerLink(false);
    clock.advance(30 * MIN);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Connected');
    hub.brokerLink(true);
    clock.advance(15 * MIN - 1);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Connected');
    clock.advance(1);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Offline');
  });

  it('renewal issues a new certificate for the resource key and keeps the previous serial', () => {
    const h = makeHub();
    const { agents, clock } = h;
    const a = onboard(h, REF, clock);
    clock.advance(46 * DAY);
    const record = agents.recordOf(a.key);
    const renewed = agents.renew(record);
    expect(Date.parse(renewed.notAfter)).toBe(clock.now() + 90 * DAY);
    expect(record.identity.serials).toHaveLength(2);
    expect(renewed.certificate).not.toBe(a.identity.certificate);
  });

  it('Offline after 15 minutes of silence, back on heartbeat; Expired sticky until delete + connect', async () => {
    const h = makeHub();
    const { hub, clock } = h;
    const a = onboard(h, REF, clock);
    const beatA = () => beat(h, a.key, clock.now());
    beatA();
    clock.advance(15 * MIN - 1);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Connected');
    clock.advance(1);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Offline');
    beatA();
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
    const b = onboard(h, REF, clock);
    beat(h, b.key, clock.now());
    expect(hub.get(REF)!.connectivity.status).toBe('Connected');
  });

  it('metadata: latest generation wins, older reports are acknowledged but ignored', () => {
    const h = makeHub();
    const { hub, agents, clock } = h;
    const a = onboard(h, REF, clock);
    const record = hub.get(REF)!;
    const report = (generation: number, k8s: string) =>
      metadataReport(clock.now(), generation, { kubernetesVersion: k8s });
    expect(agents.metadata(record, report(2, '1.31.1')).generation).toBe(2);
    expect(agents.metadata(record, report(1, '1.29.0')).generation).toBe(2);
    expect(record.metadata?.kubernetesVersion).toBe('1.31.1');
    expect(record.connectivity.status).toBe('Connected');
    expect(a.key).toBe(record.key);
  });

  it('rejects a PUT that would move the location or swap the key of a connected cluster', () => {
    const h = makeHub();
    const { hub, clock } = h;
    const a = onboard(h, REF, clock);
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
    const h = makeHub();
    const { clock, store, persistence } = h;
    const a = onboard(h, REF, clock);
    await store.flush();
    const afterOnboard = persistence.puts;
    const hb = () => beat(h, a.key, clock.now());
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
    const a = onboard(first, REF, first.clock);
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
    const holder: { hub?: ConnectedClusters } = {};
    const deps = {
      store,
      clock,
      timings: DEFAULT_TIMINGS,
      metrics: createHubMetrics(() => holder.hub!.counts()),
      logger,
    };
    const hub2 = new ConnectedClusters({ ...deps, publishControl: () => undefined });
    holder.hub = hub2;
    const authority = new IdentityAuthority(first.authorityPem);
    const agents2 = new AgentProtocol({ ...deps, clusters: hub2, authority });
    expect(() => beat({ hub: hub2, agents: agents2 }, a.key, clock.now())).not.toThrow();
    // The same authority key: the certificates the agents hold still verify.
    expect(authority.verifyCertificate(a.identity.certificate).sub).toBe(a.key);
    expect(hub2.operation(hub2.get(REF)!.operation.id)?.key).toBe(a.key);
  });
});
