/**
 * Agent releases and auto-upgrade on a fake clock: the release rules (order, cadence, N-2 support,
 * the upgrade target, the hourly check's spread), the hub's releases (published, answered, judged)
 * and config-agent's upgrader against a fake link and a real cluster store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  catalogueReleases,
  compareAgentVersions,
  outOfSupport,
  releasesAt,
  supportWindow,
  upgradeCheckDelayMs,
  upgradeTarget,
  type AgentRelease,
  type ArcError,
  type UpgradeCheck,
} from '../../contract/index.js';
import { FakeClock } from '../../platform/clock.js';
import { createLogger } from '../../platform/log.js';
import { BUILTIN_AGENT_RELEASES } from '../../platform/agent-release-catalog.js';
import { DEFAULT_AGENT_VERSION } from '../../fleet/generator.js';
import { AgentReleases } from '../../services/hub/releases/agent-releases.js';
import { ExtensionReleases } from '../../services/hub/releases/extension-releases.js';
import { BUILTIN_EXTENSION_CATALOG, targetVersion } from '../../platform/extension-catalog.js';
import type { ReleaseRecord } from '../../services/hub/releases/release-records.js';
import { ProjectionStore } from '../../services/hub/persistence/projection-store.js';
import { parsePutBody } from '../../services/hub/connected-clusters/validation.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { AgentUpgrader } from '../../services/config-agent/agent-upgrader.js';
import { withUpgradeFailure } from '../../services/metrics-agent/health.js';
import { MemoryPersistence, REF, makeHub, onboard } from './hub-helpers.js';
import { fakeContext, fail } from './agent-fakes.js';
import { clusterState } from '../helpers/fixtures.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START = Date.UTC(2026, 5, 1);
const rel = (version: string, day: number): AgentRelease => ({ version, releasedAtMs: START + day * DAY });

describe('release rules', () => {
  it('orders versions numerically, not as text', () => {
    expect(compareAgentVersions('1.21.10', '1.21.9')).toBeGreaterThan(0);
    expect(compareAgentVersions('1.9.0', '1.10.0')).toBeLessThan(0);
    expect(compareAgentVersions('2.0.0', '1.99.99')).toBeGreaterThan(0);
    expect(compareAgentVersions('1.2.3', '1.2.3')).toBe(0);
  });

  it('the cadence ships a patch ten days after the last release and a minor thirty days after the minor began', () => {
    const cadence = { minorEveryDays: 30, patchEveryDays: 10 };
    const given = [rel('1.20.0', -40), rel('1.21.0', -5)];
    const at = (day: number) => releasesAt(given, cadence, START + day * DAY).map((r) => r.version);
    expect(at(0)).toEqual(['1.21.0', '1.20.0']);
    expect(at(5)).toEqual(['1.21.1', '1.21.0', '1.20.0']);
    expect(at(15)).toEqual(['1.21.2', '1.21.1', '1.21.0', '1.20.0']);
    // Day 25 = 30 days after 1.21.0: the next minor, not a third patch.
    expect(at(25)[0]).toBe('1.22.0');
    expect(at(35)[0]).toBe('1.22.1');
    // Without a cadence the list stays as given; a future release is not offered yet.
    expect(releasesAt([...given, rel('1.22.0', 3)], undefined, START).map((r) => r.version)).toEqual([
      '1.21.0',
      '1.20.0',
    ]);
  });

  it('supports the latest minor and the two before it (N-2)', () => {
    const releases = releasesAt(
      [rel('1.18.3', -90), rel('1.19.0', -60), rel('1.20.2', -30), rel('1.21.10', -1)],
      undefined,
      START,
    );
    const support = supportWindow(releases)!;
    expect(support).toEqual({ latest: '1.21.10', oldestSupportedMinor: '1.19' });
    expect(outOfSupport('1.19.0', support)).toBe(false);
    expect(outOfSupport('1.18.3', support)).toBe(true);
    expect(outOfSupport('1.21.10', support)).toBe(false);
  });

  it('upgrades to the latest with auto-upgrade, to the desired version without it, never down by itself', () => {
    const releases = releasesAt([rel('1.20.2', -30), rel('1.21.10', -1)], undefined, START);
    expect(upgradeTarget({ current: '1.20.2', autoUpgrade: true, releases })).toBe('1.21.10');
    expect(upgradeTarget({ current: '1.21.10', autoUpgrade: true, releases })).toBeUndefined();
    expect(upgradeTarget({ current: '1.22.0', autoUpgrade: true, releases })).toBeUndefined();
    // Pinned: stays, whatever is released.
    expect(upgradeTarget({ current: '1.20.2', autoUpgrade: false, releases })).toBeUndefined();
    expect(
      upgradeTarget({ current: '1.21.10', autoUpgrade: false, desiredVersion: '1.20.2', releases }),
    ).toBe('1.20.2');
    expect(
      upgradeTarget({ current: '1.20.2', autoUpgrade: false, desiredVersion: '9.9.9', releases }),
    ).toBeUndefined();
  });

  it('spreads a fleet\u2019s hourly checks over the hour, the same phase for a cluster every time', () => {
    const buckets = new Array<number>(6).fill(0);
    for (let i = 0; i < 6000; i++) {
      const d = upgradeCheckDelayMs(`arc-eastus-${i}`, START, HOUR);
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThanOrEqual(HOUR);
      buckets[Math.floor(((d - 1) / HOUR) * 6)]!++;
    }
    // Every ten minutes of the hour holds about a sixth of the fleet: never all at once.
    for (const n of buckets) expect(n).toBeGreaterThan(800);
    const first = upgradeCheckDelayMs('arc-eastus-7', START, HOUR);
    expect(upgradeCheckDelayMs('arc-eastus-7', START + first, HOUR)).toBe(HOUR);
  });

  it('the built-in catalogue offers what a generated fleet runs, all in support', () => {
    const releases = releasesAt(catalogueReleases(BUILTIN_AGENT_RELEASES, START), undefined, START);
    expect(releases[0]?.version).toBe(DEFAULT_AGENT_VERSION);
    const support = supportWindow(releases)!;
    for (const v of [DEFAULT_AGENT_VERSION, '1.20.2', '1.19.6']) {
      expect(releases.some((r) => r.version === v)).toBe(true);
      expect(outOfSupport(v, support)).toBe(false);
    }
  });
});

function hubWithReleases(cadence = false) {
  const clock = new FakeClock(START);
  const store = new ProjectionStore<ReleaseRecord>({
    persistence: new MemoryPersistence<ReleaseRecord>(),
    logger: createLogger('test', 'silent'),
    persistIntervalMs: 100,
    heartbeatPersistIntervalMs: 30_000,
  });
  const releases = new AgentReleases({
    store,
    clock,
    catalogue: BUILTIN_AGENT_RELEASES,
    cadence,
    startMs: START,
    logger: createLogger('test', 'silent'),
  });
  return { ...makeHub({ clock, releases }), releases, clock };
}

const check = (agentVersion: string): UpgradeCheck => ({
  v: PROTOCOL_VERSION,
  type: 'upgrade-check',
  agent: 'config-agent',
  sentAt: new Date(START).toISOString(),
  agentVersion,
});

describe('the hub\u2019s agent releases', () => {
  it('publishes the next minor, refuses a version twice, and plans upgrades by the profile', () => {
    const h = hubWithReleases();
    const { key } = onboard(h);
    const record = h.hub.byKey(key)!;
    expect(h.releases.plan(record, check('1.21.10')).targetVersion).toBeNull();
    const view = h.releases.publish({}, 'test');
    expect(view).toMatchObject({ version: '1.22.0', source: 'published', supported: true });
    expect(() => h.releases.publish({ version: '1.22.0' }, 'test')).toThrow(/already released/);
    expect(() => h.releases.publish({ version: 'latest' }, 'test')).toThrow(/not an agent version/);
    expect(h.releases.plan(record, check('1.21.10'))).toMatchObject({
      autoUpgrade: true,
      targetVersion: '1.22.0',
      latestVersion: '1.22.0',
    });
    // Pinned: no target; then a desired version is the target.
    record.desired.extra['arcAgentProfile'] = { agentAutoUpgrade: 'Disabled' };
    expect(h.releases.plan(record, check('1.21.10'))).toMatchObject({
      autoUpgrade: false,
      targetVersion: null,
    });
    record.desired.extra['arcAgentProfile'] = { agentAutoUpgrade: 'Disabled', desiredAgentVersion: '1.20.2' };
    expect(h.releases.plan(record, check('1.21.10')).targetVersion).toBe('1.20.2');
  });

  it('the cadence ships releases as simulated time passes, the same on every replica', () => {
    const h = hubWithReleases(true);
    expect(h.releases.support()?.latest).toBe('1.21.10');
    h.clock.advance(9 * DAY);
    expect(h.releases.support()?.latest).toBe('1.21.11');
    h.clock.advance(12 * DAY);
    expect(h.releases.support()?.latest).toBe('1.22.0');
    expect(h.releases.views().find((v) => v.version === '1.22.0')?.source).toBe('cadence');
  });

  it('shows agents more than N-2 minors behind in agentErrors, and checks desiredAgentVersion on PUT', () => {
    const h = hubWithReleases();
    const { key, keys } = onboard(h);
    const record = h.hub.byKey(key)!;
    record.metadata = {
      kubernetesVersion: '1.30.4',
      totalNodeCount: 3,
      totalCoreCount: 12,
      agentVersion: '1.18.3',
      distribution: 'aks',
      distributionVersion: '',
      infrastructure: 'azure',
      generation: 1,
      changedAtMs: START,
    };
    const profile = (r: typeof record) =>
      h.hub.render(r).properties.arcAgentProfile as Record<string, unknown>;
    const errors = profile(record)['agentErrors'] as Array<{ message: string; severity: string }>;
    expect(errors[0]?.message).toMatch(/^Agent version 1\.18\.3 is out of support/);
    expect(errors[0]?.severity).toBe('Warning');
    record.metadata.agentVersion = '1.19.6';
    expect(profile(record)['agentErrors']).toBeUndefined();

    const body = (profile: Record<string, unknown>) =>
      parsePutBody({
        location: 'eastus',
        properties: { agentPublicKeyCertificate: keys.publicKey, arcAgentProfile: profile },
      });
    const put = (p: Record<string, unknown>) => putError(h, body(p));
    expect(put({ agentAutoUpgrade: 'Sometimes' })).toMatch(
      /agentAutoUpgrade': 'Sometimes' is not one of Enabled, Disabled/,
    );
    expect(put({ agentAutoUpgrade: 'Disabled', desiredAgentVersion: '9.9.9' })).toMatch(
      /9\.9\.9 is not released/,
    );
    h.controls.length = 0;
    expect(put({ agentAutoUpgrade: 'Disabled', desiredAgentVersion: '1.20.2', agentState: 'Failed' })).toBe(
      'ok',
    );
    // The agents are told at once; read-only fields sent back are dropped.
    expect(h.controls.map((c) => c.message.action)).toEqual(['upgrade-check']);
    expect(h.hub.byKey(key)!.desired.extra['arcAgentProfile']).toEqual({
      agentAutoUpgrade: 'Disabled',
      desiredAgentVersion: '1.20.2',
    });
  });
});

function putError(h: ReturnType<typeof hubWithReleases>, desired: ReturnType<typeof parsePutBody>): string {
  try {
    h.hub.put(REF, desired, 'u');
    return 'ok';
  } catch (err) {
    return (err as ArcError).message;
  }
}

describe('config-agent\u2019s upgrader', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  async function setup(state = clusterState(REF.name, { agentVersion: '1.21.10' })) {
    const dir = await mkdtemp(join(tmpdir(), 'arcfleet-upgrader-'));
    dirs.push(dir);
    const store = new ClusterStore(dir);
    await store.writeState(state);
    const clock = new FakeClock(START);
    const f = fakeContext('config-agent', store, createLogger('test', 'silent'));
    let plan = { autoUpgrade: true, targetVersion: null as string | null };
    f.hub.respond = () => ({
      ok: true,
      reply: { v: PROTOCOL_VERSION, type: 'upgrade-plan', latestVersion: '1.22.0', ...plan },
    });
    const upgrader = new AgentUpgrader(
      f.ctx,
      { clock, intervalMs: HOUR, retryMs: 5 * 60_000 },
      {
        name: REF.name,
        state,
        onboarding: undefined,
        identity: undefined,
      },
    );
    const link = await f.ctx.openLink(REF, { certificate: '', privateKeyPem: '' } as never);
    return { store, clock, f, upgrader, link, setPlan: (p: typeof plan) => (plan = p) };
  }

  const settle = () => new Promise((r) => setTimeout(r, 20));

  it('checks once an hour at the cluster\u2019s phase and upgrades when told', async () => {
    const s = await setup();
    s.upgrader.up(s.link);
    const first = upgradeCheckDelayMs(REF.name, START, HOUR);
    s.clock.advance(first - 1);
    await settle();
    expect(s.f.sent()).toHaveLength(0);
    s.clock.advance(1);
    await settle();
    expect(s.f.sent().map((m) => m.kind)).toEqual(['upgrade-check']);
    expect((await s.store.readState(REF.name))?.agentVersion).toBe('1.21.10');
    s.setPlan({ autoUpgrade: true, targetVersion: '1.22.0' });
    s.clock.advance(HOUR);
    await settle();
    expect(s.f.sent()).toHaveLength(2);
    const state = await s.store.readState(REF.name);
    expect(state?.agentVersion).toBe('1.22.0');
    expect(state?.agentUpgrade).toMatchObject({ from: '1.21.10', to: '1.22.0', outcome: 'Succeeded' });
  });

  it('keeps AZURE_ARC_AUTOUPDATE\u2019s value with the profile and checks at once when told', async () => {
    const s = await setup();
    s.upgrader.up(s.link);
    s.setPlan({ autoUpgrade: false, targetVersion: null });
    s.upgrader.checkNow();
    await settle();
    expect((await s.store.readState(REF.name))?.autoUpdate).toBe(false);
  });

  it('a check that gets no answer is tried again five minutes later, not an hour', async () => {
    const s = await setup();
    s.upgrader.up(s.link);
    s.f.hub.respond = () => fail('timeout');
    s.upgrader.checkNow();
    await settle();
    expect(s.f.sent()).toHaveLength(1);
    s.clock.advance(5 * 60_000);
    await settle();
    expect(s.f.sent()).toHaveLength(2);
  });

  it('a failing upgrade is rolled back, recorded once, reported as config-agent\u2019s error', async () => {
    const s = await setup(
      clusterState(REF.name, {
        agentVersion: '1.21.10',
        faults: { agentUpgrade: 'Error: UPGRADE FAILED: timed out waiting for the condition' },
      }),
    );
    s.upgrader.up(s.link);
    s.setPlan({ autoUpgrade: true, targetVersion: '1.22.0' });
    s.upgrader.checkNow();
    await settle();
    const state = (await s.store.readState(REF.name))!;
    expect(state.agentVersion).toBe('1.21.10');
    expect(state.agentUpgrade).toMatchObject({ from: '1.21.10', to: '1.22.0', outcome: 'Failed' });
    expect(state.agentUpgrade?.message).toBe(
      'Helm upgrade of the azure-arc release to 1.22.0 failed and was rolled back to 1.21.10: Error: UPGRADE FAILED: timed out waiting for the condition',
    );
    const health = withUpgradeFailure({ agentState: 'Succeeded', components: [] }, state);
    expect(health.components).toMatchObject([{ type: 'config-agent', errors: [{ severity: 'Error' }] }]);
    // The next hourly failure of the same upgrade writes nothing new.
    s.upgrader.setSnapshot({ name: REF.name, state, onboarding: undefined, identity: undefined });
    s.upgrader.checkNow();
    await settle();
    expect((await s.store.readState(REF.name))?.generation).toBe(state.generation);
    // A later success clears the error.
    const ok = {
      ...state,
      agentVersion: '1.22.0',
      agentUpgrade: { ...state.agentUpgrade!, outcome: 'Succeeded' as const },
    };
    expect(withUpgradeFailure({ agentState: 'Succeeded', components: [] }, ok).components).toEqual([]);
  });
});

describe('extension releases', () => {
  function releases() {
    const store = new ProjectionStore<ReleaseRecord>({
      persistence: new MemoryPersistence<ReleaseRecord>(),
      logger: createLogger('test', 'silent'),
      persistIntervalMs: 100,
      heartbeatPersistIntervalMs: 30_000,
    });
    return new ExtensionReleases({
      store,
      clock: new FakeClock(START),
      builtin: BUILTIN_EXTENSION_CATALOG,
      logger: createLogger('test', 'silent'),
    });
  }
  const sample = (r: ExtensionReleases) =>
    r.catalog().find((e) => e.extensionType === 'microsoft.contoso.sample')!;

  it('adds a published version to its train; auto-upgrading extensions move to it, pinned ones do not', () => {
    const r = releases();
    const before = sample(r);
    expect(
      targetVersion(
        before,
        { releaseTrain: 'Stable', autoUpgradeMinorVersion: true, version: null },
        '0.2.0',
      ),
    ).toBe('0.2.0');
    expect(r.publish({ extensionType: 'Microsoft.Contoso.Sample' }, 't')).toMatchObject({
      extensionType: 'microsoft.contoso.sample',
      releaseTrain: 'Stable',
      version: '0.3.0',
    });
    const after = sample(r);
    expect(after.releaseTrains['Stable']).toEqual(['0.1.0', '0.2.0', '0.3.0']);
    expect(after.releaseTrains['Preview']).toEqual(['0.3.0']);
    expect(
      targetVersion(after, { releaseTrain: 'stable', autoUpgradeMinorVersion: true, version: null }, '0.2.0'),
    ).toBe('0.3.0');
    expect(
      targetVersion(
        after,
        { releaseTrain: 'Stable', autoUpgradeMinorVersion: false, version: '0.1.0' },
        '0.1.0',
      ),
    ).toBe('0.1.0');
    // The built-in catalog itself is left as it was.
    expect(before.releaseTrains['Stable']).toEqual(['0.1.0', '0.2.0']);
    expect(r.publish({ extensionType: 'microsoft.contoso.sample', bump: 'patch' }, 't').version).toBe(
      '0.3.1',
    );
    expect(
      r.publish(
        { extensionType: 'microsoft.contoso.sample', releaseTrain: 'LongTerm', version: '0.2.5' },
        't',
      ).releaseTrain,
    ).toBe('LongTerm');
  });

  it('refuses an unknown type, a version already on the train, and one that is not semantic', () => {
    const r = releases();
    expect(() => r.publish({ extensionType: 'microsoft.nothing' }, 't')).toThrow(
      /extension type 'microsoft.nothing' does not exist/,
    );
    expect(() => r.publish({ extensionType: 'microsoft.contoso.sample', version: '0.2.0' }, 't')).toThrow(
      /already released on Stable/,
    );
    expect(() => r.publish({ extensionType: 'microsoft.contoso.sample', version: 'v-next' }, 't')).toThrow(
      /not a semantic version/,
    );
  });
});
