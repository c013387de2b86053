/**
 * The hub's Flux log stream on a real nats-server with JetStream: entries kept per configuration
 * within the bound, a resent batch stored once, errors-only and tail reads, a cluster's logs purged.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FluxLogEntry } from '../../contract/index.js';
import { findNatsServer } from '../../fleet/nats-server.js';
import { FluxLogStream } from '../../services/hub/flux-logs/log-stream.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

let dir: string;
let server: ChildProcess;
let nc: NatsConnection;
let stream: FluxLogStream;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-flux-stream-'));
  const port = await freePort();
  server = spawn(findNatsServer(), ['-js', '-sd', dir, '-a', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  });
  nc = await waitFor(() => connect({ servers: `nats://127.0.0.1:${port}` }), {
    timeoutMs: 10_000,
    message: 'nats-server up',
  });
  stream = await FluxLogStream.open(nc, { replicas: 1, keptPerConfiguration: 5 });
}, 30_000);

afterAll(async () => {
  await nc?.close();
  server?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const KEY = 'sub.rg.cluster-a';
const entry = (seq: number, configuration = 'apps', level: FluxLogEntry['level'] = 'info'): FluxLogEntry => ({
  seq,
  ts: new Date(Date.UTC(2026, 11, 1, 0, 0, seq)).toISOString(),
  level,
  controller: 'kustomize-controller',
  configuration,
  kind: 'Kustomization',
  namespace: 'apps',
  name: `${configuration}-apps`,
  msg: `line ${seq}`,
  ...(level === 'error' ? { error: `failure ${seq}` } : {}),
});

describe('the Flux log stream', () => {
  it('keeps the newest entries of each configuration, stores a resent batch once, and reads by filter', async () => {
    expect(await stream.append(KEY, [entry(1), entry(2, 'infra'), entry(3)])).toBe(3);
    // The same batch again (an ack lost on the way): JetStream recognises every entry.
    expect(await stream.append(KEY, [entry(1), entry(2, 'infra'), entry(3)])).toBe(3);
    expect((await stream.read(KEY, { tail: 100 })).map((e) => e.seq)).toEqual([1, 2, 3]);

    await stream.append(
      KEY,
      [4, 5, 6, 7, 8].map((s) => entry(s, 'apps', s === 6 ? 'error' : 'info')),
    );
    // Five kept per configuration: apps lost 1 and 3; infra keeps its one.
    expect((await stream.read(KEY, { configuration: 'apps', tail: 100 })).map((e) => e.seq)).toEqual([
      4, 5, 6, 7, 8,
    ]);
    expect((await stream.read(KEY, { configuration: 'infra', tail: 100 })).map((e) => e.seq)).toEqual([2]);
    expect((await stream.read(KEY, { tail: 2 })).map((e) => e.seq)).toEqual([7, 8]);
    expect(await stream.read(KEY, { errorsOnly: true, tail: 100 })).toEqual([entry(6, 'apps', 'error')]);
    expect(await stream.read('sub.rg.cluster-b', { tail: 100 })).toEqual([]);
  });

  it('forgets one cluster’s logs and keeps the others’', async () => {
    await stream.append('sub.rg.cluster-c', [entry(1)]);
    await stream.purge(KEY);
    expect(await stream.read(KEY, { tail: 100 })).toEqual([]);
    expect((await stream.read('sub.rg.cluster-c', { tail: 100 })).map((e) => e.seq)).toEqual([1]);
  });
});
