import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Upstreams, connectUpstream, parseUpstreams } from '../../services/egress-gateway/upstreams.js';

describe('the egress gateway’s broker nodes', () => {
  const nodes = parseUpstreams('nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://10.0.0.3')!;

  it('parses one node or a comma-separated NATS cluster, and refuses anything else', () => {
    expect(nodes).toEqual([
      { host: '127.0.0.1', port: 4222 },
      { host: '127.0.0.1', port: 4223 },
      { host: '10.0.0.3', port: 4222 },
    ]);
    expect(parseUpstreams('nats://nats:4222')).toEqual([{ host: 'nats', port: 4222 }]);
    expect(parseUpstreams('nats://a:1,http://b:2')).toBeUndefined();
    expect(parseUpstreams('nats://a:1,')).toBeUndefined();
  });

  it('dials round-robin, skips a node that refused until its pause is over', () => {
    let now = 0;
    const u = new Upstreams(nodes, { downForMs: 5000, now: () => now });
    expect([u.next(), u.next(), u.next(), u.next()].map((n) => n.port)).toEqual([4222, 4223, 4222, 4222]);
    const dead = nodes[1]!;
    u.failed(dead);
    const picked = Array.from({ length: 6 }, () => u.next());
    expect(picked).not.toContain(dead);
    now = 5001;
    expect(Array.from({ length: 3 }, () => u.next())).toContain(dead);
  });

  it('still dials when every node is marked down (one of them may be back)', () => {
    const u = new Upstreams(nodes, { now: () => 0 });
    for (const n of nodes) u.failed(n);
    expect(nodes).toContain(u.next());
  });
});

/**
 * A node that never answers, for real: a listener whose process is blocked (never accepts), with its
 * small accept queue already full, so the kernel drops further SYNs and a dial just hangs, as it does
 * towards a dead container's address.
 */
describe('dialling a broker node that does not answer', () => {
  let stuck: ChildProcess;
  let stuckPort: number;
  let live: Server;
  let livePort: number;
  const fillers: Socket[] = [];

  beforeAll(async () => {
    stuck = spawn(process.execPath, [
      '-e',
      `const s = require('node:net').createServer();
       s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         console.log(s.address().port);
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never accept
       });`,
    ]);
    const [line] = (await once(stuck.stdout!, 'data')) as [Buffer];
    stuckPort = Number(line.toString().trim());
    // Fill the accept queue (backlog 1 holds two): later SYNs are dropped.
    for (let i = 0; i < 2; i++) {
      const s = connect({ port: stuckPort, host: '127.0.0.1' });
      s.on('error', () => undefined);
      await once(s, 'connect');
      fillers.push(s);
    }
    live = createServer((s) => s.end());
    live.listen(0, '127.0.0.1');
    await once(live, 'listening');
    livePort = (live.address() as { port: number }).port;
  });

  afterAll(() => {
    for (const s of fillers) s.destroy();
    stuck?.kill('SIGKILL');
    live?.close();
  });

  it('gives up on it after the dial timeout, marks it down, and connects to the next node', async () => {
    const nodes = [
      { host: '127.0.0.1', port: stuckPort },
      { host: '127.0.0.1', port: livePort },
    ];
    const u = new Upstreams(nodes);
    const started = Date.now();
    const socket = await connectUpstream(u, { timeoutMs: 300 });
    expect(socket.remotePort).toBe(livePort);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    socket.destroy();
    // The next agent's connection goes straight to the live node.
    expect(u.next().port).toBe(livePort);
    expect(u.next().port).toBe(livePort);
  });

  it('rejects naming the node when none answers, each tried once', async () => {
    const u = new Upstreams([{ host: '127.0.0.1', port: stuckPort }]);
    await expect(connectUpstream(u, { timeoutMs: 200 })).rejects.toThrow(
      `127.0.0.1:${stuckPort} did not answer within 200 ms`,
    );
  });
});
