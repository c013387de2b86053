import { describe, expect, it } from 'vitest';
import { formatRules, parseTargets, reachFields } from '../../cli/commands/chaos.js';

describe('arcfleet chaos targets', () => {
  it('takes exactly one of names, --percent, --selector, --all', () => {
    expect(parseTargets(['a', 'b'], {})).toEqual({ clusters: ['a', 'b'] });
    expect(parseTargets([], { percent: 30 })).toEqual({ percent: 30, seed: 1 });
    expect(parseTargets([], { percent: 30, seed: 9 })).toEqual({ percent: 30, seed: 9 });
    expect(parseTargets([], { selector: 'location=eastus,distribution=k3s' })).toEqual({
      selector: { location: 'eastus', distribution: 'k3s' },
    });
    expect(parseTargets([], { all: true }, true)).toEqual({ all: true });
    expect(() => parseTargets([], {})).toThrow(/exactly one target/);
    expect(() => parseTargets(['a'], { percent: 5 })).toThrow(/exactly one target/);
    expect(() => parseTargets([], { all: true })).toThrow(/only for restore/);
    expect(() => parseTargets([], { selector: 'zone=1' })).toThrow(/expected location/);
  });

  it('prints the rules as a table', () => {
    expect(formatRules([])).toMatch(/every cluster is open/);
    const text = formatRules([
      { cluster: 'arc-1', mode: { kind: 'flap' }, effective: { kind: 'drop' }, connections: 2 },
      {
        cluster: 'arc-1',
        agent: 'clusteridentityoperator',
        mode: { kind: 'drop' },
        effective: { kind: 'drop' },
        connections: 1,
      },
    ]);
    expect(text.split('\n')[1]).toMatch(/^arc-1\s+\*\s+flap\s+drop\s+-\s+2$/);
    expect(text.split('\n')[2]).toMatch(/^arc-1\s+clusteridentityoperator\s+drop\s+drop\s+-\s+1$/);
  });

  it('names what a rule reaches: endpoint classes and agents, or nothing for the whole cluster', () => {
    expect(reachFields({})).toEqual({});
    expect(reachFields({ endpoint: ['identity', 'relay'], agent: ['metrics-agent'] })).toEqual({
      endpoints: ['identity', 'relay'],
      agents: ['metrics-agent'],
    });
  });
});
