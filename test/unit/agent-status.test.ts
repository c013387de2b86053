// Agent status files (the emulated pod status): written and refreshed by AgentHost for each running
// instance, removed when the agent stops for the cluster. A temporary cluster store, no network.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AgentHost } from '../../agent-runtime/agent-host.js';
import type { AgentStatus, ClusterState } from '../../contract/index.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { createLogger } from '../../platform/log.js';
import { clusterState, nodePool } from '../helpers/fixtures.js';

function state(name: string): ClusterState {
  return clusterState(name, { nodePools: [nodePool({ nodeImageVersion: 'x' })] });
}

const statusOf = async (store: ClusterStore, name: string): Promise<AgentStatus | undefined> =>
  (await store.readAgentStatuses(name)).statuses.find((s) => s.agent === 'resource-sync-agent');

describe('agent status files', () => {
  let dir: string | undefined;
  let host: AgentHost | undefined;
  afterEach(async () => {
    await host?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('written on start and kept fresh by the process beat, removed when stopped for the cluster and on close', async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-status-'));
    const store = new ClusterStore(dir);
    await store.writeState(state('c1'));
    await store.writeState(state('c2'));
    host = new AgentHost({
      agentName: 'resource-sync-agent',
      store,
      pollIntervalMs: 60_000,
      statusIntervalMs: 20,
      logger: createLogger('test', 'silent'),
      natsUrl: 'nats://127.0.0.1:1',
      maxMessageBytes: 65536,
      factory: () => ({ update: () => undefined, close: () => Promise.resolve() }),
    });
    host.start();
    const first = await vi.waitFor(
      async () => {
        const s = await statusOf(store, 'c1');
        expect(s).toBeDefined();
        return s as AgentStatus;
      },
      { timeout: 5000 },
    );
    expect(first).toMatchObject({ version: '1.21.10', pid: process.pid, state: 'Running', errors: [] });
    // Freshness comes from the process's beat (one file per process), refreshed every interval.
    const beat = async () => (await store.readProcessBeats('any', 0)).get('resource-sync-agent');
    await vi.waitFor(async () => expect(await beat()).toBeDefined(), { timeout: 5000 });
    const firstBeat = await beat();
    expect(firstBeat).toMatchObject({ pid: process.pid, startedAtMs: first.startedAtMs });
    await vi.waitFor(
      async () => expect((await beat())?.lastSeenMs).toBeGreaterThan(firstBeat?.lastSeenMs ?? Infinity),
      { timeout: 5000 },
    );
    expect(await statusOf(store, 'c2')).toBeDefined();

    await store.updateState('c1', '2026-01-01T00:00:01.000Z', (s) => ({
      ...s,
      stoppedAgents: ['resource-sync-agent'],
    }));
    await host.pollOnce();
    // Removed once the instance has closed (a write in flight is awaited first).
    expect(await statusOf(store, 'c1')).toBeUndefined();
    expect(await statusOf(store, 'c2')).toBeDefined();

    await host.close();
    expect(await statusOf(store, 'c2')).toBeUndefined();
  });

  it('the store skips a cluster that is gone and lists unreadable status files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-status-'));
    const store = new ClusterStore(dir);
    const status: AgentStatus = {
      agent: 'resource-sync-agent',
      version: '1',
      pid: 1,
      startedAtMs: 0,
      lastSeenMs: 0,
      state: 'Running',
      errors: [],
    };
    await store.writeAgentStatus('gone', status);
    expect(await store.list()).toEqual([]);

    await store.writeState(state('c1'));
    await store.writeAgentStatus('c1', status);
    await writeFile(join(store.dir('c1'), 'status', 'config-agent.json'), '{"agent":"config-agent"');
    const read = await store.readAgentStatuses('c1');
    expect(read.statuses).toEqual([status]);
    expect(read.invalid).toEqual(['config-agent.json']);
    expect(await store.readAgentStatuses('nope')).toEqual({ statuses: [], invalid: [] });
  });

  it('agent memos round-trip, are not written for a cluster that is gone, and an invalid one throws', async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-status-'));
    const store = new ClusterStore(dir);
    await store.writeAgentMemo('gone', 'resource-sync-agent', { firstSyncCertificate: 'abc' });
    expect(await store.list()).toEqual([]);
    expect(await store.readAgentMemo('gone', 'resource-sync-agent')).toBeUndefined();

    await store.writeState(state('c1'));
    expect(await store.readAgentMemo('c1', 'resource-sync-agent')).toBeUndefined();
    await store.writeAgentMemo('c1', 'resource-sync-agent', { firstSyncCertificate: 'abc' });
    expect(await store.readAgentMemo('c1', 'resource-sync-agent')).toEqual({ firstSyncCertificate: 'abc' });
    expect(await store.readAgentMemo('c1', 'metrics-agent')).toBeUndefined();

    await writeFile(
      join(store.dir('c1'), 'agents', 'resource-sync-agent.json'),
      '{"firstSyncCertificate":7}',
    );
    await expect(store.readAgentMemo('c1', 'resource-sync-agent')).rejects.toThrow();
  });

  it('deletes the onboarding secret only while it holds the given token', async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-status-'));
    const store = new ClusterStore(dir);
    await store.writeState(state('c1'));
    const secret = (token: string) => ({
      resourceId: 'r',
      privateKeyPem: 'k',
      publicKey: 'p',
      bootstrapToken: token,
      hubUrl: 'http://hub',
    });
    await store.writeOnboarding('c1', secret('old'));
    expect(await store.deleteOnboardingIf('c1', 'old')).toBe(true);
    expect(await store.readOnboarding('c1')).toBeUndefined();
    expect(await store.deleteOnboardingIf('c1', 'old')).toBe(false);

    // A new onboarding (arcfleet connect) is left alone, and nothing else is left behind.
    await store.writeOnboarding('c1', secret('new'));
    expect(await store.deleteOnboardingIf('c1', 'old')).toBe(false);
    expect((await store.readOnboarding('c1'))?.bootstrapToken).toBe('new');
    expect((await readdir(join(store.dir('c1'), 'secrets'))).sort()).toEqual(['azure-arc-onboarding.json']);
  });
});
