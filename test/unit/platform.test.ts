// The platform layer's primitives: one backoff, one gate, one atomic writer.
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECRET_FILE_MODE, writeFileAtomically, writeJsonAtomically } from '../../platform/atomic-file.js';
import { backoffBound, backoffDelay } from '../../platform/backoff.js';
import { ConnectionGate, concurrencyLimit } from '../../platform/limit.js';

describe('backoffBound', () => {
  it('doubles from the base and stops at the cap', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 50].map((n) => backoffBound(n, opts))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});

describe('backoffDelay', () => {
  it('is full jitter under an exponential, capped ceiling', () => {
    const max = (attempt: number): number =>
      backoffDelay(attempt, { baseMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect(max(0)).toBe(99);
    expect(max(2)).toBe(399);
    expect(max(10)).toBe(999);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 1000, random: () => 0 })).toBe(1);
  });
});

describe('ConnectionGate', () => {
  it('limits attempts in flight', async () => {
    const gate = new ConnectionGate({ concurrency: 3, spacingMs: 0 });
    let inFlight = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        gate.run(async () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setTimeout(r, 2));
          inFlight--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(gate.inFlight).toBe(0);
    expect(gate.queued).toBe(0);
  });

  it('spaces starts', async () => {
    const gate = new ConnectionGate({ concurrency: 100, spacingMs: 5 });
    const starts: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, () => gate.run(() => Promise.resolve(starts.push(Date.now())))),
    );
    expect((starts[4] ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(18);
  });
});

describe('concurrencyLimit', () => {
  it('runs at most the limit at once, the rest in order as slots free', async () => {
    const run = concurrencyLimit(2);
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        run(async () => {
          started.push(i);
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          return i * 10;
        }),
      ),
    );
    expect(results).toEqual([0, 10, 20, 30, 40]);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('writeFileAtomically', () => {
  it('keeps the last of many concurrent writes of one path, and writes secrets 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcfleet-atomic-'));
    try {
      const file = join(dir, 'sub', 'state.json');
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 30 }, (_, i) => writeJsonAtomically(file, { round, i })));
        expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ round, i: 29 });
      }
      const secret = join(dir, 'secret.json');
      await writeJsonAtomically(secret, { token: 'x' }, { mode: SECRET_FILE_MODE });
      expect((await stat(secret)).mode & 0o777).toBe(0o600);
      expect((await readdir(join(dir, 'sub'))).sort()).toEqual(['state.json']); // no temp files left
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('tightens an existing file to 0600, and leaves no temp file when the rename fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcfleet-atomic-'));
    try {
      const file = join(dir, 'creds');
      await writeFileAtomically(file, 'open');
      expect((await stat(file)).mode & 0o077).not.toBe(0);
      await writeFileAtomically(file, 'closed', { mode: SECRET_FILE_MODE });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readFile(file, 'utf8')).toBe('closed');
      // A directory in the way: the write rejects and cleans up after itself.
      await mkdir(join(dir, 'taken'));
      await expect(writeFileAtomically(join(dir, 'taken'), 'x')).rejects.toThrow();
      expect((await readdir(dir)).sort()).toEqual(['creds', 'taken']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
