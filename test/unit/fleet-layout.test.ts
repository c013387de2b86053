import { describe, expect, it } from 'vitest';
import { chooseLayout, defaultBrokerCount, defaultShardCount } from '../../fleet/layout.js';

describe('a fleet’s layout', () => {
  it('grows brokers and shards with the fleet, within one process’s open files', () => {
    expect([200, 2000, 2001, 6000, 10_000].map(defaultBrokerCount)).toEqual([1, 1, 3, 3, 5]);
    expect([200, 1300, 1301, 10_000].map(defaultShardCount)).toEqual([1, 1, 2, 8]);
    expect(chooseLayout({}, 10_000)).toEqual({ brokers: 5, shards: 8, hubs: 1 });
    expect(chooseLayout({ brokers: 3, shards: 2, hubs: 2 }, 10)).toEqual({ brokers: 3, shards: 2, hubs: 2 });
  });

  it('refuses a layout out of range, naming the option', () => {
    expect(() => chooseLayout({ shards: 0 }, 10)).toThrow(/shards must be a whole number from 1 to/);
    expect(() => chooseLayout({ brokers: 1.5 }, 10)).toThrow(/brokers/);
    expect(() => chooseLayout({ hubs: 99 }, 10)).toThrow(/hubs/);
  });
});
