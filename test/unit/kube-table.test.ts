import { describe, expect, it } from 'vitest';
import { humanAge, toTable, wantsTable } from '../../services/kube-apiserver/table.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('server-side printing (kubectl get)', () => {
  it('answers a Table only when kubectl asks for one', () => {
    expect(
      wantsTable([
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      ]),
    ).toBe(true);
    expect(wantsTable(['application/json'])).toBe(false);
    expect(wantsTable([])).toBe(false);
  });

  it('prints ages like kubectl', () => {
    expect(humanAge(45_000)).toBe('45s');
    expect(humanAge(302_000)).toBe('5m2s');
    expect(humanAge(3 * 3_600_000 + 4 * 60_000)).toBe('3h4m');
    expect(humanAge(53 * 3_600_000)).toBe('2d5h');
    expect(humanAge(400 * 86_400_000)).toBe('400d');
  });

  it('gives pods READY, STATUS and RESTARTS, a waiting reason winning over the phase', () => {
    const pod = (name: string, ready: boolean, waiting?: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, creationTimestamp: new Date(T0).toISOString() },
      status: {
        phase: ready ? 'Running' : 'Pending',
        containerStatuses: [
          { ready, restartCount: 2, ...(waiting ? { state: { waiting: { reason: waiting } } } : {}) },
          { ready: true, restartCount: 1 },
        ],
      },
    });
    const table = toTable('Pod', [pod('a', true), pod('b', false, 'CrashLoopBackOff')], '7', T0 + 90_000);
    expect((table['columnDefinitions'] as { name: string }[]).map((c) => c.name)).toEqual([
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
    ]);
    expect((table['rows'] as { cells: unknown[] }[]).map((r) => r.cells)).toEqual([
      ['a', '2/2', 'Running', 3, '90s'],
      ['b', '1/2', 'CrashLoopBackOff', 3, '90s'],
    ]);
  });

  it('gives deployments READY of the desired replicas, other kinds NAME and AGE', () => {
    const dep: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'metrics-agent', creationTimestamp: new Date(T0).toISOString() },
      spec: { replicas: 1 },
      status: { readyReplicas: 0, updatedReplicas: 1, availableReplicas: 0 },
    };
    expect((toTable('Deployment', [dep], '1', T0)['rows'] as { cells: unknown[] }[])[0]?.cells).toEqual([
      'metrics-agent',
      '0/1',
      1,
      0,
      '0s',
    ]);
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };
    expect((toTable('ConfigMap', [cm], '1', T0)['rows'] as { cells: unknown[] }[])[0]?.cells).toEqual([
      'x',
      '<unknown>',
    ]);
  });
});
