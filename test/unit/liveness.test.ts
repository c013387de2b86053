import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LivenessProbe } from '../../fleet/liveness.js';
import {
  noteWriteFailed,
  noteWriteSucceeded,
  writeFailure,
  writeHealth,
} from '../../platform/write-health.js';
import { waitFor } from '../helpers/wait.js';

let server: Server | undefined;
afterEach(() => server?.close());

async function serve(status: () => number): Promise<string> {
  server = createServer((_req, res) => res.writeHead(status()).end('{"status":"x"}'));
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
}

describe('LivenessProbe', () => {
  it('declares a service dead after failureThreshold failures in a row, not after fewer', async () => {
    const answers = [200, 503, 503, 200, 503, 503, 503, 200];
    let i = 0;
    const url = await serve(() => answers[Math.min(i++, answers.length - 1)] ?? 200);
    let dead: string | undefined;
    const probe = new LivenessProbe(
      url,
      { intervalMs: 20, timeoutMs: 500, failureThreshold: 3 },
      (r) => (dead = r),
    );
    probe.start();
    await waitFor(() => dead, { timeoutMs: 5000, message: 'declared dead' });
    expect(i).toBe(7);
    expect(dead).toMatch(/failed its health probe 3 times \(GET .*: 503 /);
    probe.stop();
  });

  it('counts a refused connection as a failure', async () => {
    let dead: string | undefined;
    const probe = new LivenessProbe(
      'http://127.0.0.1:1/healthz',
      { intervalMs: 10, timeoutMs: 500, failureThreshold: 2 },
      (r) => (dead = r),
    );
    probe.start();
    await waitFor(() => dead, { timeoutMs: 5000, message: 'declared dead' });
    expect(dead).toContain('failed its health probe 2 times');
  });
});

describe('write health', () => {
  it('is unhealthy only once a storage error has lasted the grace period, and a write that succeeds clears it', () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    noteWriteFailed('/data/clusters/a/cluster.json', enospc, 1000);
    expect(writeFailure(10_000, 5000)).toBeUndefined();
    expect(writeFailure(10_000, 11_000)).toMatchObject({
      target: '/data/clusters/a/cluster.json',
      error: 'ENOSPC',
    });
    expect(writeHealth(0)).toMatchObject({ status: 503 });
    // Another file written: the disk has room again, also for the file no one rewrites.
    noteWriteSucceeded('/data/clusters/b/cluster.json');
    expect(writeFailure(0)).toBeUndefined();
    expect(writeHealth(0)).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it('ignores errors that say nothing of the storage (a directory removed under a racing write)', () => {
    noteWriteFailed('/data/clusters/gone/x.json', Object.assign(new Error('ENOENT'), { code: 'ENOENT' }), 0);
    expect(writeFailure(0)).toBeUndefined();
  });
});
