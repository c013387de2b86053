// ProjectionStore.whenPersisted: what the hub waits for before answering an agent (a metadata ack, a
// certificate). The store is not started: flushes are explicit, the persistence is in memory.
import { describe, expect, it } from 'vitest';
import type { ClusterRecord } from '../../services/hub/connected-clusters/projection.js';
import { ProjectionStore } from '../../services/hub/persistence/projection-store.js';
import { createLogger } from '../../platform/log.js';
import { MemoryPersistence } from './hub-helpers.js';

class FlakyPersistence extends MemoryPersistence {
  failNext = 0;
  override async write(key: string, json: string, revision: number | undefined): Promise<number> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('broker restarting');
    }
    return super.write(key, json, revision);
  }
}

function setup() {
  const persistence = new FlakyPersistence();
  const store = new ProjectionStore({
    persistence,
    logger: createLogger('test', 'silent'),
    persistIntervalMs: 100,
    heartbeatPersistIntervalMs: 30_000,
  });
  const record = { key: 'k1', version: 1 } as unknown as ClusterRecord;
  return { persistence, store, record };
}

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

describe('ProjectionStore.whenPersisted', () => {
  it('waits for the write of a changed record, not before', async () => {
    const { persistence, store, record } = setup();
    store.set(record);
    const waiting = store.whenPersisted('k1');
    expect(await settled(waiting)).toBe(false);
    await store.flush();
    await waiting;
    expect(persistence.data.has('k1')).toBe(true);
  });

  it('resolves at once for a record with nothing unwritten', async () => {
    const { store, record } = setup();
    store.set(record);
    await store.flush();
    expect(await settled(store.whenPersisted('k1'))).toBe(true);
  });

  it('keeps waiting through a failed write until the retry succeeds', async () => {
    const { persistence, store, record } = setup();
    store.set(record);
    const waiting = store.whenPersisted('k1');
    persistence.failNext = 1;
    await store.flush();
    expect(await settled(waiting)).toBe(false);
    expect(persistence.data.has('k1')).toBe(false);
    await store.flush();
    await waiting;
    expect(persistence.data.has('k1')).toBe(true);
  });

  it('a change made while a write is in flight waits for the next write', async () => {
    const { persistence, store, record } = setup();
    store.set(record);
    const first = store.flush();
    (record as unknown as { version: number }).version = 2;
    store.markImportant('k1');
    const waiting = store.whenPersisted('k1');
    await first;
    expect(await settled(waiting)).toBe(false);
    await store.flush();
    await waiting;
    expect(JSON.parse(persistence.data.get('k1') ?? '{}')).toMatchObject({ version: 2 });
  });

  it('settle waits for a write in flight: if that write fails, until its retry succeeds', async () => {
    const { persistence, store, record } = setup();
    store.set(record);
    // The write in flight fails (the broker is away); the next flush tick's retry succeeds.
    persistence.failNext = 1;
    // The flush has taken the key (it is no longer "unwritten") but its write has not landed.
    const inFlight = store.flush();
    const settling = store.settle();
    await inFlight;
    expect(await settled(settling)).toBe(false);
    expect(persistence.data.has('k1')).toBe(false);
    await store.flush();
    await settling;
    expect(persistence.data.has('k1')).toBe(true);
  });

  it('concurrent settles each wait for their own keys, though the first one’s flush took them all', async () => {
    const { persistence, store } = setup();
    const a = { key: 'a', version: 1 } as unknown as ClusterRecord;
    const b = { key: 'b', version: 1 } as unknown as ClusterRecord;
    store.set(a);
    store.set(b);
    // The broker is away: both writes of the flush the first settle starts fail.
    persistence.failNext = 2;
    const first = store.settle();
    const second = store.settle();
    expect(await settled(second)).toBe(false);
    expect(await settled(first)).toBe(false);
    await store.flush();
    await Promise.all([first, second]);
    expect([...persistence.data.keys()].sort()).toEqual(['a', 'b']);
  });

  it('settle of given keys waits for those only: a key that cannot be written holds no other answer', async () => {
    const persistence = new (class extends MemoryPersistence {
      override async write(key: string, json: string, revision: number | undefined): Promise<number> {
        if (key === 'huge') throw new Error('MAX_PAYLOAD_EXCEEDED');
        return super.write(key, json, revision);
      }
    })();
    const store = new ProjectionStore({
      persistence,
      logger: createLogger('test', 'silent'),
      persistIntervalMs: 100,
      heartbeatPersistIntervalMs: 30_000,
    });
    store.set({ key: 'huge' } as unknown as ClusterRecord);
    store.set({ key: 'mine' } as unknown as ClusterRecord);
    await store.settle(['mine']);
    expect(persistence.data.has('mine')).toBe(true);
    // Every key: still waiting for the one the store refuses.
    expect(await settled(store.settle())).toBe(false);
  });

  it('rejects the waiters when the store closes with the write failing', async () => {
    const { persistence, store, record } = setup();
    store.set(record);
    const waiting = store.whenPersisted('k1');
    persistence.failNext = 1;
    await store.close();
    await expect(waiting).rejects.toThrow('the projection store closed');
  });
});

describe('ProjectionStore with replicas (compare-and-set, rebase)', () => {
  type Doc = { key: string; a: number; b: number; tags: Record<string, string> };
  const opts = {
    logger: createLogger('test', 'silent'),
    persistIntervalMs: 100,
    heartbeatPersistIntervalMs: 0,
  };
  async function twoReplicas() {
    const persistence = new MemoryPersistence<Doc>();
    await persistence.write('k1', JSON.stringify({ key: 'k1', a: 0, b: 0, tags: {} }), undefined);
    let conflicts = 0;
    const make = () =>
      new ProjectionStore<Doc>({ ...opts, persistence, replicated: true, onConflict: () => conflicts++ });
    const [x, y] = [make(), make()];
    await x.load();
    await y.load();
    return { persistence, x, y, conflicts: () => conflicts };
  }

  it('keeps both replicas’ changes to one record when their writes race', async () => {
    const { persistence, x, y, conflicts } = await twoReplicas();
    const rx = x.get('k1')!;
    rx.a = 1;
    rx.tags.from = 'x';
    x.set(rx);
    const ry = y.get('k1')!;
    ry.b = 2;
    ry.tags.env = 'y';
    y.set(ry);
    await x.flush();
    await y.flush();
    expect(conflicts()).toBe(1);
    expect(JSON.parse(persistence.data.get('k1')!)).toEqual({
      key: 'k1',
      a: 1,
      b: 2,
      tags: { from: 'x', env: 'y' },
    });
    // The record object the caller holds is the merged one.
    expect(ry).toMatchObject({ a: 1, b: 2 });
  });

  it('a deletion by another replica wins over a later change', async () => {
    const { persistence, x, y } = await twoReplicas();
    await x.delete('k1');
    const ry = y.get('k1')!;
    ry.a = 5;
    y.set(ry);
    const persisted = y.whenPersisted('k1');
    await y.flush();
    await persisted;
    expect(persistence.data.has('k1')).toBe(false);
    expect(y.get('k1')).toBeUndefined();
  });

  it('applies the watch’s entries in order and keeps unwritten local changes on top', async () => {
    const { persistence, x, y } = await twoReplicas();
    const changes: string[] = [];
    y.onRemoteChange((key, before, after) => changes.push(`${key}:${before?.a}->${after?.a}`));
    x.get('k1')!.a = 7;
    x.markImportant('k1');
    await x.flush();
    y.get('k1')!.b = 3;
    y.markImportant('k1');
    const stored = (await persistence.read('k1'))!;
    y.applyRemote({ key: 'k1', revision: stored.revision, record: stored.record });
    expect(y.get('k1')).toMatchObject({ a: 7, b: 3 });
    expect(changes).toEqual(['k1:0->7']);
    expect(await y.caughtUp(stored.revision, 10)).toBe(true);
    expect(await y.caughtUp(stored.revision + 1, 10)).toBe(false);
    await y.flush();
    expect(JSON.parse(persistence.data.get('k1')!)).toMatchObject({ a: 7, b: 3 });
    y.applyRemote({ key: 'k1', revision: stored.revision + 5, record: undefined });
    expect(y.get('k1')).toBeUndefined();
  });
});
