// Chaos scenario files: duration expressions over the fleet's timings, validation errors that name
// the step and field, and the one-line step descriptions of the report. Pure.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describeStep,
  evalDuration,
  formatSim,
  gatewayTargets,
  parseScenario,
} from '../../cli/scenario/scenario.js';
import { REPO_ROOT } from '../helpers/paths.js';

const timings = { offlineThresholdMs: 15 * 60_000, heartbeatIntervalMs: 60_000 };

describe('scenario durations', () => {
  it('adds plain durations and multiples of the fleet timings', () => {
    expect(evalDuration('90s', timings)).toBe(90_000);
    expect(evalDuration('threshold', timings)).toBe(900_000);
    expect(evalDuration('threshold + 2 heartbeat', timings)).toBe(1_020_000);
    expect(evalDuration('0.5 threshold + 30s', timings)).toBe(480_000);
    expect(evalDuration('2*heartbeat', timings)).toBe(120_000);
    expect(() => evalDuration('soon', timings)).toThrow(/not a duration/);
  });

  it('formats simulated time for people', () => {
    expect([450, 42_000, 192_000, 180_000, 7_500_000, 7_200_000].map(formatSim)).toEqual([
      '450ms',
      '42s',
      '3m 12s',
      '3m',
      '2h 5m',
      '2h',
    ]);
  });
});

describe('parseScenario', () => {
  it('fills the fleet defaults and keeps the steps in order', () => {
    const s = parseScenario('name: x\nsteps:\n  - cut: { cluster: a }\n  - restore: all\n  - wait: 1m\n');
    expect(s.fleet).toEqual({ clusters: 10, seed: 1, timeScale: 60, env: {} });
    expect(s.steps).toEqual([{ cut: { cluster: 'a', mode: 'drop' } }, { restore: 'all' }, { wait: '1m' }]);
  });

  it.each([
    ['name: x\nsteps: []\n', 'steps: Too small'],
    [
      'name: x\nsteps:\n  - wait: 1m\n  - expect: { cluster: a, connectivityStatus: Up }\n',
      'steps[1].expect.connectivityStatus',
    ],
    [
      'name: x\nsteps:\n  - cut: { cluster: a, percent: 5 }\n',
      'steps[0].cut: give exactly one of cluster, clusters, selector, percent',
    ],
    ['name: x\nsteps:\n  - cut: { selector: { region: eu } }\n', 'steps[0].cut.selector'],
    [
      'name: x\nsteps:\n  - expect: { counts: { Connected: 3 }, within: 1m, holdsFor: 1m }\n',
      'give within or holdsFor, not both',
    ],
    ['name: x\nsteps:\n  - change: { cluster: a, nodePool: p }\n', 'nodePool and count go together'],
    ['name: x\nsteps:\n  - kill: kubelet\n', 'steps[0].kill'],
    ['name: x\nsteps:\n  - explode: now\n', 'steps[0]'],
    ['name: x\nsteps: [\n', 'not valid YAML'],
  ])('rejects %j naming %s', (text, message) => {
    expect(() => parseScenario(text, 'f.yaml')).toThrow(message);
  });

  it('describes steps on one line, with their name first', () => {
    const s = parseScenario(
      [
        'name: x',
        'steps:',
        '  - cut: { selector: { distribution: aks }, mode: reject }',
        '  - name: never Offline',
        '    expect: { counts: { Connected: all }, holdsFor: 2 threshold }',
      ].join('\n'),
    );
    expect(s.steps.map(describeStep)).toEqual([
      'cut selector={distribution: aks} mode=reject',
      'never Offline: expect counts={Connected: all} holdsFor=2 threshold',
    ]);
  });

  it('turns step targets into the gateway target body', () => {
    expect(gatewayTargets({ cluster: 'a' })).toEqual({ clusters: ['a'] });
    expect(gatewayTargets({ percent: 30 })).toEqual({ percent: 30, seed: 1 });
    expect(gatewayTargets({ selector: { location: 'eastus' } })).toEqual({
      selector: { location: 'eastus' },
    });
  });

  it('takes endpoint classes and agents on chaos steps, and cluster-connect expectations', () => {
    const s = parseScenario(`
name: reach
steps:
  - cut: { cluster: a, endpoints: [identity, relay], agents: [metrics-agent] }
  - restore: { cluster: a, endpoints: [identity] }
  - expect: { clusterConnect: a, status: 504, reason: ClusterConnectTimeout, within: 1m }
`);
    expect(s.steps[0]).toMatchObject({
      cut: { endpoints: ['identity', 'relay'], agents: ['metrics-agent'] },
    });
    expect(s.steps[2]).toMatchObject({ expect: { clusterConnect: 'a', status: 504 } });
    expect(() => parseScenario('name: x\nsteps:\n  - cut: { cluster: a, endpoints: [images] }\n')).toThrow(
      /steps\[0\]\.cut\.endpoints\[0\]: Invalid option/,
    );
    expect(() => parseScenario('name: x\nsteps:\n  - expect: { clusterConnect: a }\n')).toThrow(
      /steps\[0\]\.expect\.status/,
    );
  });

  it('takes the rollout steps: publish, update and the agent version expectations', () => {
    const s = parseScenario(`
name: rollout
steps:
  - update: { clusters: [a, b], autoUpgrade: false }
  - publish: { bump: minor }
  - publish: { version: 1.30.0 }
  - expect: { agentVersions: { latest: 80, 1.21.10: 2 }, within: 70m }
  - expect: { clusters: [a, b], agentVersion: '<latest', holdsFor: 10m }
  - expect: { cluster: c, agentVersion: 1.30.0 }
`);
    expect(s.steps[0]).toMatchObject({ update: { clusters: ['a', 'b'], autoUpgrade: false } });
    expect(s.steps[3]).toMatchObject({ expect: { agentVersions: { latest: 80, '1.21.10': 2 } } });
    expect(s.steps[4]).toMatchObject({ expect: { agentVersion: '<latest', holdsFor: '10m' } });
    const bad = (step: string) => () => parseScenario(`name: x\nsteps:\n  - ${step}\n`);
    expect(bad('publish: { version: 1.30.0, bump: patch }')).toThrow(/give version or bump, not both/);
    expect(bad('publish: { version: latest }')).toThrow(
      /steps\[0\]\.publish\.version: expected e\.g\. 1\.22\.0/,
    );
    expect(bad('update: { autoUpgrade: false }')).toThrow(/steps\[0\]\.update/);
    expect(bad("expect: { cluster: a, agentVersion: 'newest' }")).toThrow(/steps\[0\]\.expect\.agentVersion/);
    expect(bad('expect: { agentVersions: { soon: 3 } }')).toThrow(/expect\.agentVersions\.soon: Invalid key/);
  });

  it('accepts every shipped scenario', async () => {
    const dir = join(REPO_ROOT, 'deploy', 'scenarios');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files)
      expect(parseScenario(await readFile(join(dir, f), 'utf8'), f).steps.length).toBeGreaterThan(1);
  });
});
