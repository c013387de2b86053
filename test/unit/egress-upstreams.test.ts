import { describe, expect, it } from 'vitest';
import { Upstreams, parseUpstreams } from '../../services/egress-gateway/upstreams.js';

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
