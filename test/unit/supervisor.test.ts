// The launcher's restart policy (CrashLoopBackOff-like): pure, times passed in.
import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../fleet/supervisor.js';

const opts = { baseMs: 500, maxMs: 4000, stableMs: 30_000, maxCrashes: 5, windowMs: 60_000 };

describe('RestartPolicy', () => {
  it('doubles the delay with each consecutive crash, up to the cap', () => {
    const p = new RestartPolicy(opts);
    const delays = [0, 1, 2, 3, 4].map((i) => p.onCrash(i * 13_000 + 1000, i * 13_000));
    expect(delays).toEqual([
      { action: 'restart', delayMs: 500, restart: 1 },
      { action: 'restart', delayMs: 1000, restart: 2 },
      { action: 'restart', delayMs: 2000, restart: 3 },
      { action: 'restart', delayMs: 4000, restart: 4 },
      { action: 'restart', delayMs: 4000, restart: 5 },
    ]);
  });

  it('starts again from the base delay after a stable run, and keeps counting restarts', () => {
    const p = new RestartPolicy(opts);
    expect(p.onCrash(1000, 0)).toMatchObject({ delayMs: 500 });
    expect(p.onCrash(3000, 1500)).toMatchObject({ delayMs: 1000 });
    expect(p.onCrash(100_000, 3500)).toEqual({ action: 'restart', delayMs: 500, restart: 3 });
  });

  it('gives up on a crash loop: more than maxCrashes within the window', () => {
    const p = new RestartPolicy(opts);
    for (let i = 0; i < 5; i++) expect(p.onCrash(i * 100 + 50, i * 100).action).toBe('restart');
    expect(p.onCrash(600, 550)).toEqual({ action: 'give-up', reason: '6 crashes within 60 s' });
  });

  it('forgets crashes older than the window', () => {
    const p = new RestartPolicy(opts);
    for (let i = 0; i < 5; i++) p.onCrash(i * 100 + 50, i * 100);
    expect(p.onCrash(70_000, 69_000).action).toBe('restart');
  });
});
