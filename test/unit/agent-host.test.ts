import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentHost } from '../../agent-runtime/agent-host.js';
import type { AgentInstance, ClusterChanges, ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import { agentWanted, diffVersions, type FileVersions } from '../../agent-runtime/cluster-versions.js';
import type { ClusterState } from '../../contract/index.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { createLogger } from '../../platform/log.js';
import { clusterState, nodePool } from '../helpers/fixtures.js';

const v = (state?: string, onboarding?: string, identity?: string): FileVersions => ({
  state,
  onboarding,
  identity,
  kube: undefined,
});

describe('diffVersions', () => {
  it('finds added, removed and changed clusters and files', () => {
    const known = new Map([
      ['a', v('1', '1', undefined)],
      ['b', v('1', undefined, undefined)],
      ['gone', v('1', '1', '1')],
    ]);
    const seen = new Map([
      ['a', v('1', '2', '1')],
      ['b', v('1', undefined, undefined)],
      ['new', v('1', '1', undefined)],
    ]);
    const d = diffVersions(known, seen);
    expect(d.added).toEqual(['new']);
    expect(d.removed).toEqual(['gone']);
    expect(Object.fromEntries(d.changed)).toEqual({
      a: ['onboarding', 'identity'],
      new: ['state', 'onboarding'],
    });
  });

  it('reports a deleted file as a change', () => {
    const d = diffVersions(new Map([['a', v('1', '1', '1')]]), new Map([['a', v('1', undefined, '1')]]));
    expect(d.changed.get('a')).toEqual(['onboarding']);
  });
});

describe('agentWanted', () => {
  it('is false without state or when stopped', () => {
    expect(agentWanted(undefined, 'resource-sync-agent')).toBe(false);
    const s = { stoppedAgents: ['resource-sync-agent'] } as unknown as ClusterState;
    expect(agentWanted(s, 'resource-sync-agent')).toBe(false);
    expect(agentWanted(s, 'clusteridentityoperator')).toBe(true);
  });
});

// AgentHost against a real (temporary) cluster store and a fake agent factory: no network.
class FakeInstance implements AgentInstance {
  readonly updates: Array<{ snapshot: ClusterSnapshot; changes: ClusterChanges }> = [];
  closed = 0;
  constructor(readonly initial: ClusterSnapshot) {}
  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.updates.push({ snapshot, changes });
  }
  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

function state(name: string, generation = 0): ClusterState {
  return clusterState(name, { generation, nodePools: [nodePool({ nodeImageVersion: 'x' })] });
}

describe('AgentHost', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function setup(factory?: (s: ClusterSnapshot) => AgentInstance) {
    dir = await mkdtemp(join(tmpdir(), 'agent-host-'));
    const store = new ClusterStore(dir);
    const instances = new Map<string, FakeInstance[]>();
    const host = new AgentHost({
      agentName: 'resource-sync-agent',
      store,
      pollIntervalMs: 60_000,
      logger: createLogger('test', 'silent'),
      natsUrl: 'nats://127.0.0.1:1',
      maxMessageBytes: 65536,
      factory: (_ctx, snapshot) => {
        if (factory) return factory(snapshot);
        const i = new FakeInstance(snapshot);
        instances.set(snapshot.name, [...(instances.get(snapshot.name) ?? []), i]);
        return i;
      },
    });
    return { store, host, instances };
  }

  it('creates, updates and stops one instance per cluster', async () => {
    const { store, host, instances } = await setup();
    await store.writeState(state('c1'));
    await store.writeState(state('c2'));
    await host.pollOnce();
    expect(host.running).toBe(2);
    const c1 = instances.get('c1')?.[0];
    expect(c1?.initial.state.generation).toBe(0);
    expect(c1?.initial.onboarding).toBeUndefined();

    // Nothing changed: no update.
    await host.pollOnce();
    expect(c1?.updates).toHaveLength(0);

    await store.writeOnboarding('c1', {
      resourceId: 'r',
      privateKeyPem: 'k',
      publicKey: 'p',
      bootstrapToken: 't',
      hubUrl: 'http://x',
    });
    await store.updateState('c1', '2026-01-01T00:00:01.000Z', (s) => s);
    await host.pollOnce();
    expect(c1?.updates).toHaveLength(1);
    expect(c1?.updates[0]?.changes).toEqual({ state: true, onboarding: true, identity: false, kube: false });
    expect(c1?.updates[0]?.snapshot.onboarding?.bootstrapToken).toBe('t');
    expect(c1?.updates[0]?.snapshot.state.generation).toBe(1);

    // Stopped agent: closed; started again: a fresh instance.
    await store.updateState('c1', '2026-01-01T00:00:02.000Z', (s) => ({
      ...s,
      stoppedAgents: ['resource-sync-agent'],
    }));
    await host.pollOnce();
    expect(c1?.closed).toBe(1);
    expect(host.running).toBe(1);
    await store.updateState('c1', '2026-01-01T00:00:03.000Z', (s) => ({ ...s, stoppedAgents: [] }));
    await host.pollOnce();
    expect(instances.get('c1')).toHaveLength(2);
    expect(instances.get('c1')?.[1]?.initial.state.generation).toBe(3);

    // Removed cluster: closed.
    await store.remove('c2');
    await host.pollOnce();
    expect(instances.get('c2')?.[0]?.closed).toBe(1);
    expect(host.running).toBe(1);
    // Every change above came through the store's change journal: one full scan, the first poll's.
    expect(host.fullScans).toBe(1);

    await host.close();
    expect(instances.get('c1')?.[1]?.closed).toBe(1);
    expect(host.running).toBe(0);
  });

  it('rolls an instance onto a new agent version: the old one closes, a new one starts at once', async () => {
    const { store, host, instances } = await setup();
    await store.writeState(state('c1'));
    await host.pollOnce();
    await store.updateState('c1', '2026-01-01T00:00:01.000Z', (s) => ({ ...s, agentVersion: '1.22.0' }));
    await host.pollOnce();
    const [old, fresh] = instances.get('c1') ?? [];
    expect(old?.closed).toBe(1);
    expect(old?.updates).toHaveLength(0);
    expect(fresh?.initial.state.agentVersion).toBe('1.22.0');
    expect(host.running).toBe(1);
    // Any other change is an update of the running instance, not a roll.
    await store.updateState('c1', '2026-01-01T00:00:02.000Z', (s) => ({ ...s, kubernetesVersion: '1.31.0' }));
    await host.pollOnce();
    expect(instances.get('c1')).toHaveLength(2);
    expect(fresh?.updates).toHaveLength(1);
    await host.close();
  });

  it('survives a broken cluster file and a throwing factory', async () => {
    let calls = 0;
    const { store, host } = await setup((s) => {
      calls++;
      if (s.name === 'bad') throw new Error('boom');
      return new FakeInstance(s);
    });
    await store.writeState(state('good'));
    await store.writeState(state('bad'));
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(store.dir('broken'), { recursive: true });
    await writeFile(join(store.dir('broken'), 'cluster.json'), '{not json');
    await host.pollOnce();
    expect(host.running).toBe(1);
    expect(calls).toBe(2);
    await host.close();
  });
});
