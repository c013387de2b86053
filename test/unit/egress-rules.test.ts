import { describe, expect, it } from 'vitest';
import { ReconnectBackoff } from '../../platform/backoff.js';
import { FakeClock } from '../../platform/clock.js';
import { createLogger } from '../../platform/log.js';
import { Gateway } from '../../services/egress-gateway/gateway.js';
import { RuleTable, effectiveAt, type Effective } from '../../services/egress-gateway/rules.js';
import { agentsOf, parseSelector, selectTargets } from '../../contract/index.js';
import { sniffConnect } from '../../services/egress-gateway/sniff.js';

const LABELS = Array.from({ length: 100 }, (_, i) => ({
  name: `c-${String(i).padStart(3, '0')}`,
  location: i % 2 === 0 ? 'eastus' : 'westeurope',
  distribution: i % 3 === 0 ? 'k3s' : 'aks',
  infrastructure: 'generic',
}));

describe('rule table', () => {
  it('rules per agent: they win over the cluster rule, restore alone, and report their changes', () => {
    const t = new RuleTable();
    const agents = agentsOf(['identity']);
    expect(agents).toEqual(['clusteridentityoperator']);
    t.set('a', { kind: 'drop' }, 0, undefined, 'clusteridentityoperator');
    expect(t.effective('a', 1, 'clusteridentityoperator').kind).toBe('drop');
    expect(t.effective('a', 1, 'resource-sync-agent').kind).toBe('open');
    expect(t.effective('a', 1).kind).toBe('open');
    expect(t.changes(1)).toEqual([
      { cluster: 'a', agent: 'clusteridentityoperator', effective: { kind: 'drop' } },
    ]);
    // Everything cut but the relay: an agent's open rule overrides the cluster's cut.
    t.set('a', { kind: 'reject' }, 2);
    t.set('a', { kind: 'open' }, 2, undefined, 'clusterconnect-agent');
    expect(t.effective('a', 3, 'clusterconnect-agent').kind).toBe('open');
    expect(t.effective('a', 3, 'metrics-agent').kind).toBe('reject');
    expect(t.effective('a', 3, 'clusteridentityoperator').kind).toBe('drop');
    expect(t.list().map((r) => r.agent ?? '*')).toEqual([
      '*',
      'clusterconnect-agent',
      'clusteridentityoperator',
    ]);
    expect(t.restore('a', ['clusteridentityoperator'])).toBe(true);
    expect(t.effective('a', 4, 'clusteridentityoperator').kind).toBe('reject');
    expect(t.changes(4)).toEqual(
      expect.arrayContaining([
        { cluster: 'a', effective: { kind: 'reject' } },
        { cluster: 'a', agent: 'clusteridentityoperator', effective: { kind: 'open' } },
      ]),
    );
    expect(t.restore('a')).toBe(true);
    expect(t.list()).toEqual([]);
  });

  it('applies, expires and restores rules; names are case-insensitive', () => {
    const t = new RuleTable();
    t.set('Alpha', { kind: 'drop' }, 1000, 5000);
    expect(t.effective('alpha', 1000).kind).toBe('drop');
    expect(t.changes(1000)).toEqual([{ cluster: 'Alpha', effective: { kind: 'drop' } }]);
    expect(t.changes(2000)).toEqual([]);
    expect(t.effective('alpha', 6000).kind).toBe('open');
    expect(t.changes(6000)).toEqual([{ cluster: 'Alpha', effective: { kind: 'open' } }]);
    expect(t.list()).toEqual([]);
    t.set('beta', { kind: 'reject' }, 0);
    expect(t.changes(0)).toHaveLength(1);
    expect(t.restore('BETA')).toBe(true);
    expect(t.changes(1)).toEqual([{ cluster: 'beta', effective: { kind: 'open' } }]);
  });

  it('follows a flap schedule', () => {
    const rule = {
      cluster: 'x',
      mode: { kind: 'flap', cutMs: 1000, openMs: 3000, cutMode: 'drop' } as const,
      since: 10_000,
    };
    const kinds = [10_000, 10_999, 11_000, 13_999, 14_000, 15_000].map((t) => effectiveAt(rule, t).kind);
    expect(kinds).toEqual(['drop', 'drop', 'open', 'open', 'drop', 'open']);
  });

  it('reports each flap transition once through the gateway tick (FakeClock)', () => {
    const clock = new FakeClock(0);
    const applied: [string, Effective['kind']][] = [];
    const g = new Gateway({
      clock,
      logger: createLogger('t', 'silent'),
      clusters: async () => [],
      tickMs: 100,
    });
    g.attach({ apply: (c, m) => (applied.push([c, m(undefined).kind]), 1), connectionCount: () => 0 });
    g.start();
    g.setMode(['x'], { kind: 'flap', cutMs: 1000, openMs: 500, cutMode: 'reject' }, 3000);
    clock.advance(3500);
    g.stop();
    expect(applied).toEqual([
      ['x', 'reject'],
      ['x', 'open'],
      ['x', 'reject'],
      ['x', 'open'],
    ]);
  });
});

describe('target selection', () => {
  it('selects by label and by seeded percentage, deterministically', () => {
    expect(selectTargets(LABELS, { selector: { location: 'EASTUS', distribution: 'k3s' } })).toHaveLength(17);
    const a = selectTargets(LABELS, { percent: 30, seed: 4 });
    expect(a).toHaveLength(30);
    expect(selectTargets(LABELS, { percent: 30, seed: 4 })).toEqual(a);
    expect(selectTargets(LABELS, { percent: 30, seed: 5 })).not.toEqual(a);
    expect(selectTargets(LABELS, { clusters: ['b', 'a', 'b'] })).toEqual(['a', 'b']);
  });

  it('parses selectors and rejects unknown keys', () => {
    expect(parseSelector('location=eastus,infrastructure=azure_stack_hci')).toEqual({
      location: 'eastus',
      infrastructure: 'azure_stack_hci',
    });
    expect(parseSelector('zone=1')).toMatch(/not one of/);
    expect(parseSelector('location')).toMatch(/key=value/);
  });
});

describe('CONNECT sniffing', () => {
  const line = (json: string): Buffer => Buffer.from(`CONNECT ${json}\r\nPING\r\n`);
  it('reads the cluster from the connection name', () => {
    expect(sniffConnect(line('{"name":"resource-sync-agent/arc-1","verbose":false}'))).toMatchObject({
      kind: 'ok',
      agent: 'resource-sync-agent',
      cluster: 'arc-1',
    });
    expect(sniffConnect(Buffer.from('CONN')).kind).toBe('more');
  });
  it.each([
    ['not CONNECT', Buffer.from('PUB x 1\r\n')],
    ['bad JSON', line('{nope')],
    ['no name', line('{"verbose":false}')],
    ['name without cluster', line('{"name":"agent"}')],
    ['bad cluster', line('{"name":"a/../etc"}')],
    ['too long', Buffer.alloc(20_000, 'C')],
  ])('rejects %s', (_what, buf) => {
    expect(sniffConnect(buf).kind).toBe('invalid');
  });
});

describe('reconnect backoff', () => {
  it('draws from a doubling, capped bound and keeps a draw until it elapses', () => {
    let now = 0;
    const b = new ReconnectBackoff({ baseMs: 100, maxMs: 1000, random: () => 0.5, now: () => now });
    expect(b.waitMs()).toBe(50);
    expect(b.waitMs()).toBe(50);
    now = 50;
    expect(b.waitMs()).toBe(100);
    now = 150;
    expect(b.waitMs()).toBe(200);
    for (let i = 0; i < 10; i++) {
      now += 1000;
      b.waitMs();
    }
    expect(b.bound()).toBe(1000);
    b.reset();
    expect(b.bound()).toBe(100);
  });
});
