/**
 * The per-cluster work queue of the cluster-side controllers (agent-runtime/sync-loop.ts) on a fake
 * clock: a burst of requests shares one sync after the settle delay, requests during a sync cause
 * exactly one more, a failure is retried with backoff and a request ends the retry's wait.
 */
import { describe, expect, it } from 'vitest';
import { SyncLoop } from '../../agent-runtime/sync-loop.js';
import { FakeClock } from '../../platform/clock.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function loopWith(work: () => Promise<void>, settleMs = 0) {
  const clock = new FakeClock();
  const errors: number[] = [];
  const loop = new SyncLoop(work, {
    clock,
    settleMs,
    retryBaseMs: 1000,
    retryCapMs: 1000,
    random: () => 0.5,
    onError: (_err, attempt) => errors.push(attempt),
  });
  return { clock, loop, errors };
}

describe('SyncLoop', () => {
  it('runs a burst of requests once, after the settle delay', async () => {
    let runs = 0;
    const { clock, loop } = loopWith(async () => void runs++, 3000);
    loop.request();
    loop.request();
    clock.advance(2999);
    await flush();
    expect(runs).toBe(0);
    loop.request();
    clock.advance(1);
    await flush();
    expect(runs).toBe(1);
    expect(loop.busy).toBe(false);
  });

  it('starts at once without a settle delay; requests during a sync cause exactly one more', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const { loop } = loopWith(() => {
      runs++;
      return new Promise<void>((resolve) => (release = resolve));
    });
    loop.request();
    expect(runs).toBe(1);
    loop.request();
    loop.request();
    release();
    await flush();
    expect(runs).toBe(2);
    release();
    await loop.settled();
    expect(runs).toBe(2);
  });

  it('retries a failure with backoff, and a request ends the wait', async () => {
    let runs = 0;
    const { clock, loop, errors } = loopWith(async () => {
      runs++;
      if (runs < 3) throw new Error('apiserver down');
    });
    loop.request();
    await flush();
    expect(errors).toEqual([1]);
    clock.advance(499); // half the bound, by the fixed random
    await flush();
    expect(runs).toBe(1);
    clock.advance(1);
    await flush();
    expect(runs).toBe(2);
    expect(errors).toEqual([1, 2]);
    loop.request(); // a change: no need to wait out the backoff
    await flush();
    expect(runs).toBe(3);
    expect(loop.failures).toBe(2);
    expect(loop.busy).toBe(false);
  });

  it('runs nothing once closed', async () => {
    let runs = 0;
    const { clock, loop } = loopWith(async () => void runs++, 1000);
    loop.request();
    await loop.close();
    clock.advance(5000);
    loop.request();
    await flush();
    expect(runs).toBe(0);
  });
});
