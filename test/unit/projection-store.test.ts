// ProjectionStore.whenPersisted: what the hub waits for before answering an agent (a metadata ack, a
// certificate). The store is not started: flushes are explicit, the persistence is in memory.
import { describe, expect, it } from 'vitest';
import type { ClusterRecord } from '../../services/hub/connected-clusters/projection.js';
import { ProjectionStore } from '../../services/hub/persistence/projection-store.js';
import { createLogger } from '../../platform/log.js';
import { MemoryPersistence } from './hub-helpers.js';

class FlakyPersistence extends MemoryPersistence {
  failNext = 0;
  override async put(record: ClusterRecord): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('broker restarting');
    }
    await super.put(record);
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

  it('rejects the waiters when the store closes with the write failing', async () => {
    const { persistence, store, record } = setup();
    store.set(record);
    const waiting = store.whenPersisted('k1');
    persistence.failNext = 1;
    await store.close();
    await expect(waiting).rejects.toThrow('the projection store closed');
  });
});
