import { describe, expect, it } from 'vitest';
import { inShard, parseShard, shardOf, shardUrl } from '../../contract/index.js';

describe('shards', () => {
  it('puts every cluster in one shard, by name alone and case-insensitively, spread evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf(`arc-eastus-${String(i).padStart(4, '0')}`, 4)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(850);
    expect(shardOf('Arc-EastUS-0001', 4)).toBe(shardOf('arc-eastus-0001', 4));
    expect(shardOf('anything', 1)).toBe(0);
    // Stable across releases: a changed hash would move clusters between running shards.
    expect(shardOf('arc-eastus-0001', 7)).toBe(shardOf('arc-eastus-0001', 7));
    expect([shardOf('a', 1000), shardOf('arc-westeurope-0003', 1000)]).toEqual([shardOf('A', 1000), 311]);
  });

  it('reads ARCFLEET_SHARD: index/count, a StatefulSet ordinal, or every shard', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard('ordinal/4', 'config-agent-3')).toEqual({ index: 3, count: 4 });
    expect(parseShard('all/4')).toEqual({ index: undefined, count: 4 });
    for (const bad of ['4/4', '1', 'x/2', '0/0', 'ordinal/2'])
      expect(parseShard(bad, 'pod')).toHaveProperty('error');
    expect(parseShard('ordinal/2', 'config-agent-5')).toHaveProperty('error');
  });

  it('says which clusters a process hosts and fills URL templates', () => {
    const name = 'arc-uksouth-0007';
    const mine = shardOf(name, 3);
    expect(inShard(name, { index: mine, count: 3 })).toBe(true);
    expect(inShard(name, { index: (mine + 1) % 3, count: 3 })).toBe(false);
    expect(inShard(name, { index: undefined, count: 3 })).toBe(true);
    expect(shardUrl('nats://egress-gateway-{shard}.egress-gateway:4223', { index: 2, count: 3 })).toBe(
      'nats://egress-gateway-2.egress-gateway:4223',
    );
  });
});
