import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../platform/clock.js';
import {
  RenewalScheduler,
  scheduleAt,
  type RenewOutcome,
} from '../../services/clusteridentityoperator/renewal.js';

const DAY = 86_400_000;
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(outcomes: Array<RenewOutcome | ((clock: FakeClock) => RenewOutcome)>, random = 0.5) {
  const clock = new FakeClock();
  const attempts: number[] = [];
  const expired: string[] = [];
  const fatal: string[] = [];
  const scheduler = new RenewalScheduler({
    clock,
    renewAfterMs: 46 * DAY,
    jitterMs: DAY,
    retryDelayMs: () => 3_600_000, // one hour between retries
    random: () => random,
    attempt: () => {
      attempts.push(clock.now());
      const next = outcomes.shift() ?? { kind: 'retry', reason: 'timeout' };
      return Promise.resolve(typeof next === 'function' ? next(clock) : next);
    },
    onExpired: (reason) => expired.push(reason),
    onFatal: (reason) => fatal.push(reason),
  });
  return { clock, attempts, expired, fatal, scheduler };
}

describe('RenewalScheduler', () => {
  it('renews inside the window: notBefore + renewAfter + jitter', async () => {
    const { clock, attempts, scheduler } = setup([
      (c) => ({ kind: 'renewed', notBeforeMs: c.now(), notAfterMs: c.now() + 90 * DAY }),
    ]);
    const nb = clock.now();
    scheduler.start(nb, nb + 90 * DAY);
    expect(scheduler.state).toBe('waiting');
    expect(scheduler.nextAttemptAtMs).toBe(nb + 46.5 * DAY);
    clock.advance(46.5 * DAY - 1);
    await settle();
    expect(attempts).toHaveLength(0);
    clock.advance(1);
    await settle();
    expect(attempts).toEqual([nb + 46.5 * DAY]);
    // Rescheduled from the new certificate.
    expect(scheduler.state).toBe('waiting');
    expect(scheduler.nextAttemptAtMs).toBe(nb + 46.5 * DAY + 46.5 * DAY);
  });

  it('spreads renewals over the jitter window', () => {
    const at = [0, 0.25, 0.999].map((r) => {
      const { clock, scheduler } = setup([], r);
      scheduler.start(clock.now(), clock.now() + 90 * DAY);
      return (scheduler.nextAttemptAtMs ?? 0) - clock.now();
    });
    expect(at[0]).toBe(46 * DAY);
    expect(at[1]).toBe(46.25 * DAY);
    expect(at[2]).toBeLessThan(47 * DAY);
  });

  it('retries with backoff until a renewal succeeds', async () => {
    const { clock, attempts, scheduler, expired } = setup([
      { kind: 'retry', reason: 'timeout' },
      { kind: 'retry', reason: 'ServiceUnavailable' },
      (c) => ({ kind: 'renewed', notBeforeMs: c.now(), notAfterMs: c.now() + 90 * DAY }),
    ]);
    const nb = clock.now();
    scheduler.start(nb, nb + 90 * DAY);
    for (let i = 0; i < 4; i++) {
      clock.advance(i === 0 ? 46.5 * DAY : 3_600_000);
      await settle();
    }
    expect(attempts).toEqual([nb + 46.5 * DAY, nb + 46.5 * DAY + 3_600_000, nb + 46.5 * DAY + 7_200_000]);
    expect(scheduler.state).toBe('waiting');
    expect(expired).toEqual([]);
  });

  it('stops at expiry when no retry succeeds, and never tries again', async () => {
    const { clock, attempts, scheduler, expired } = setup([]);
    const nb = clock.now();
    scheduler.start(nb, nb + 90 * DAY);
    for (let t = 0; t < 100 * DAY; t += 3_600_000) {
      clock.advance(3_600_000);
      await settle();
    }
    expect(expired).toHaveLength(1);
    expect(scheduler.state).toBe('expired');
    expect(attempts.length).toBeGreaterThan(10);
    expect(Math.max(...attempts)).toBeLessThan(nb + 90 * DAY);
    const count = attempts.length;
    clock.advance(30 * DAY);
    await settle();
    expect(attempts).toHaveLength(count);
  });

  it('an expired answer from the hub ends it at once', async () => {
    const { clock, scheduler, expired } = setup([{ kind: 'expired', reason: 'ClusterExpired' }]);
    scheduler.start(clock.now(), clock.now() + 90 * DAY);
    clock.advance(47 * DAY);
    await settle();
    expect(expired).toEqual(['ClusterExpired']);
    expect(scheduler.state).toBe('expired');
  });

  it('a certificate already past notAfter expires immediately', () => {
    const { clock, scheduler, expired, attempts } = setup([]);
    scheduler.start(clock.now() - 91 * DAY, clock.now() - DAY);
    expect(scheduler.state).toBe('expired');
    expect(expired).toHaveLength(1);
    expect(attempts).toHaveLength(0);
  });

  it('a fatal refusal stops without expiring', async () => {
    const { clock, scheduler, fatal, expired, attempts } = setup([
      { kind: 'fatal', reason: 'IdentityRevoked' },
    ]);
    scheduler.start(clock.now(), clock.now() + 90 * DAY);
    clock.advance(47 * DAY);
    await settle();
    expect(fatal).toEqual(['IdentityRevoked']);
    expect(scheduler.state).toBe('stopped');
    clock.advance(50 * DAY);
    await settle();
    expect(expired).toEqual([]);
    expect(attempts).toHaveLength(1);
  });

  it('stop() cancels everything', async () => {
    const { clock, scheduler, attempts, expired } = setup([]);
    scheduler.start(clock.now(), clock.now() + 90 * DAY);
    scheduler.stop();
    clock.advance(100 * DAY);
    await settle();
    expect(attempts).toHaveLength(0);
    expect(expired).toHaveLength(0);
    expect(scheduler.state).toBe('stopped');
  });
});

describe('scheduleAt', () => {
  it('fires at the target even beyond one Node timer (chained)', () => {
    const clock = new FakeClock();
    const start = clock.now();
    const fired: number[] = [];
    scheduleAt(clock, start + 46 * DAY, () => fired.push(clock.now()));
    clock.advance(30 * DAY);
    expect(fired).toEqual([]);
    clock.advance(16 * DAY);
    expect(fired).toEqual([start + 46 * DAY]);
  });

  it('can be cancelled', () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    const cancel = scheduleAt(clock, clock.now() + 1000, () => fired.push(1));
    cancel();
    clock.advance(2000);
    expect(fired).toEqual([]);
  });
});
