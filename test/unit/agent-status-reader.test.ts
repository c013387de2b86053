// The status reader's caching (agent-status-reader.ts) on a temporary store and a controlled clock.
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { shardOf, type AgentStatus } from '../../contract/index.js';
import { clusterState } from '../helpers/fixtures.js';

const status = (agent: AgentStatus['agent'], version = '1'): AgentStatus => ({
  agent,
  version,
  pid: 1,
  startedAtMs: 0,
  lastSeenMs: 0,
  state: 'Running',
  errors: [],
});

describe('agent status reader', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function setup() {
    dir = await mkdtemp(join(tmpdir(), 'status-reader-'));
    let skewMs = 0;
    const store = new ClusterStore(dir, { now: () => Date.now() + skewMs });
    await store.writeState(clusterState('c1'));
    await store.writeAgentStatus('c1', status('resource-sync-agent'));
    const statusDir = join(store.dir('c1'), 'status');
    const file = join(statusDir, 'resource-sync-agent.json');
    /** Moves the directory's mtime back: as if the last change were long ago. */
    const settle = () => utimes(statusDir, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const versions = async () => (await store.readAgentStatuses('c1')).statuses.map((s) => s.version);
    return { store, file, settle, versions, skew: (ms: number) => (skewMs = ms) };
  }

  it('reuses a settled listing until the directory changes or it is due again', async () => {
    const { store, file, settle, versions, skew } = await setup();
    await settle();
    expect(await versions()).toEqual(['1']);
    // Rewritten in place (not how the store writes): the directory does not change...
    await writeFile(file, JSON.stringify(status('resource-sync-agent', '2')));
    expect(await versions()).toEqual(['1']); // ...so the listing is reused
    skew(31_000);
    expect(await versions()).toEqual(['2']); // revalidated after 30 s

    await settle();
    expect(await versions()).toEqual(['2']);
    await store.writeAgentStatus('c1', status('clusteridentityoperator')); // rename: the dir changes
    expect((await versions()).sort()).toEqual(['1', '2']);
    await store.removeAgentStatus('c1', 'clusteridentityoperator');
    expect(await versions()).toEqual(['2']);
  });

  it('does not reuse a listing of a directory changed just before it', async () => {
    const { file, versions } = await setup();
    expect(await versions()).toEqual(['1']); // the write above was a moment ago: not settled
    await writeFile(file, JSON.stringify(status('resource-sync-agent', '2')));
    expect(await versions()).toEqual(['2']);
  });

  it('does not reuse a listing with an invalid file', async () => {
    const { file, settle, store } = await setup();
    await writeFile(file, '{"agent":');
    await settle();
    expect((await store.readAgentStatuses('c1')).invalid).toEqual(['resource-sync-agent.json']);
    await writeFile(file, JSON.stringify(status('resource-sync-agent', '3')));
    expect(await store.readAgentStatuses('c1')).toEqual({
      statuses: [status('resource-sync-agent', '3')],
      invalid: [],
    });
  });

  it('reads the process beats once for every caller of the same moment', async () => {
    const { store } = await setup();
    await store.writeProcessBeat({ agent: 'config-agent', pid: 1, startedAtMs: 0, lastSeenMs: 5 });
    const all = await Promise.all(Array.from({ length: 100 }, () => store.readProcessBeats('c1')));
    expect(new Set(all).size).toBe(1);
    expect(all[0]?.get('config-agent')?.lastSeenMs).toBe(5);
    await store.writeProcessBeat({ agent: 'config-agent', pid: 1, startedAtMs: 0, lastSeenMs: 6 });
    const fresh = await store.readProcessBeats('c1', 0);
    expect(fresh).not.toBe(all[0]);
    expect(fresh.get('config-agent')?.lastSeenMs).toBe(6);
  });
});

describe('a sharded fleet’s process beats', () => {
  it('keeps one beat per agent and shard, and reads the beats of the shard a cluster belongs to', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcfleet-beats-'));
    const reader = new ClusterStore(dir, { shard: { index: undefined, count: 3 } });
    const [a, b] = ['arc-eastus-0001', 'arc-eastus-0002'];
    const shardA = shardOf(a, 3);
    const other = ['arc-eastus-0002', 'arc-eastus-0003', 'arc-eastus-0004', 'arc-eastus-0005'].find(
      (n) => shardOf(n, 3) !== shardA,
    )!;
    const writerA = new ClusterStore(dir, { shard: { index: shardA, count: 3 } });
    await writerA.writeProcessBeat({ agent: 'config-agent', pid: 7, startedAtMs: 0, lastSeenMs: 5 });
    expect((await reader.readProcessBeats(a, 0)).get('config-agent')?.pid).toBe(7);
    expect((await reader.readProcessBeats(other, 0)).get('config-agent')).toBeUndefined();
    // A sharded agent process lists only its own clusters.
    for (const n of [a, b, other]) await writerA.writeState(clusterState(n));
    expect((await writerA.list()).sort()).toEqual(
      [a, b, other].filter((n) => shardOf(n, 3) === shardA).sort(),
    );
    expect((await reader.list()).sort()).toEqual([a, b, other].sort());
    await rm(dir, { recursive: true, force: true });
  });
});
