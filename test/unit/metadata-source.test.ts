/**
 * Where resource-sync-agent reads the metadata it syncs: the `clustermetadata` resource that
 * cluster-metadata-operator writes (or, in a fleet without an apiserver, the cluster state), and the
 * reader that reads one at a time and retries a failed read on the simulated clock.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { FakeClock } from '../../platform/clock.js';
import {
  MetadataReader,
  fromClusterMetadata,
  fromClusterState,
  metadataOfResource,
  type MetadataEntry,
} from '../../services/resource-sync-agent/metadata-source.js';
import { clusterState, snapshotOf } from './agent-fakes.js';

const NONE = { state: false, onboarding: false, identity: false, kube: false };

const resource = (rv: string, status: Record<string, unknown>): KubeObject => ({
  apiVersion: 'arc.azure.com/v1beta1',
  kind: 'ConnectedCluster',
  metadata: { name: 'clustermetadata', resourceVersion: rv },
  status,
});

const STATUS = {
  nodeCount: 6,
  coreCount: 24,
  arcAgentVersion: '1.22.0',
  kubernetesAPIServerVersion: 'v1.30.6',
  lastConnectivityTime: '2026-01-01T00:00:00.000Z',
};

describe('the metadata from the clustermetadata resource', () => {
  it('maps the status to the report; the install-time fields come from the state', () => {
    const state = clusterState(3);
    expect(metadataOfResource(resource('7', STATUS), state)).toEqual({
      kubernetesVersion: '1.30.6',
      totalNodeCount: 6,
      totalCoreCount: 24,
      agentVersion: '1.22.0',
      distribution: state.distribution,
      distributionVersion: state.distributionVersion,
      infrastructure: state.infrastructure,
    });
    // Not what the operator writes: no metadata rather than a wrong one.
    expect(metadataOfResource(resource('7', { ...STATUS, nodeCount: -1 }), state)).toBeUndefined();
    expect(metadataOfResource(resource('7', { ...STATUS, coreCount: '24' }), state)).toBeUndefined();
    expect(metadataOfResource(resource('7', {}), state)).toBeUndefined();
  });

  it('is versioned by resourceVersion plus state generation, read on a change of either', async () => {
    const clock = new FakeClock();
    let stored: KubeObject | undefined;
    const source = fromClusterMetadata(() => Promise.resolve(stored), clock);
    expect(await source.read(snapshotOf(clusterState(3), undefined, undefined))).toBeUndefined();
    stored = resource('7', STATUS);
    const a = await source.read(snapshotOf(clusterState(3), undefined, undefined));
    expect(a?.generation).toBe(10);
    expect(a?.changedAt).toBe(new Date(clock.now()).toISOString());
    // A change of either counter makes a newer report.
    stored = resource('8', STATUS);
    expect((await source.read(snapshotOf(clusterState(3), undefined, undefined)))?.generation).toBe(11);
    expect((await source.read(snapshotOf(clusterState(4), undefined, undefined)))?.generation).toBe(12);
    stored = resource('not-a-number', STATUS);
    await expect(source.read(snapshotOf(clusterState(4), undefined, undefined))).rejects.toThrow(
      /resourceVersion/,
    );
    expect([source.affectedBy({ ...NONE, kube: true }), source.affectedBy({ ...NONE, state: true })]).toEqual(
      [true, true],
    );
    expect(source.affectedBy({ ...NONE, identity: true })).toBe(false);
    // Without an apiserver: the state alone, and only its changes.
    const plain = fromClusterState(clock);
    expect((await plain.read(snapshotOf(clusterState(5), undefined, undefined)))?.generation).toBe(5);
    expect(plain.affectedBy({ ...NONE, kube: true })).toBe(false);
  });
});

describe('MetadataReader', () => {
  it('reads one at a time, the latest snapshot last, and retries a failed read with backoff', async () => {
    const clock = new FakeClock();
    const entries: MetadataEntry[] = [];
    const errors: number[] = [];
    let calls = 0;
    let failing = 1;
    let open: (() => void) | undefined;
    const reader = new MetadataReader(
      {
        affectedBy: () => true,
        read: async ({ state }) => {
          calls++;
          if (calls === 1) await new Promise<void>((resolve) => (open = resolve));
          if (calls === 3 && failing-- > 0) throw new Error('ECONNREFUSED');
          return { generation: state.generation, changedAt: 'x', metadata: {} as MetadataEntry['metadata'] };
        },
      },
      { clock, random: () => 0.5 },
      (e) => entries.push(e),
      (_err, attempt) => errors.push(attempt),
    );
    reader.refresh(snapshotOf(clusterState(1), undefined, undefined));
    reader.refresh(snapshotOf(clusterState(2), undefined, undefined));
    reader.refresh(snapshotOf(clusterState(3), undefined, undefined));
    open?.();
    await reader.settled();
    // Three refreshes during one read: that read, then one more with the latest state.
    expect(entries.map((e) => e.generation)).toEqual([1, 3]);
    expect(calls).toBe(2);

    reader.refresh(snapshotOf(clusterState(4), undefined, undefined));
    await reader.settled();
    expect(errors).toEqual([1]);
    clock.advance(14_000);
    await reader.settled();
    expect(calls).toBe(3);
    clock.advance(1_000);
    await reader.settled();
    expect(entries.map((e) => e.generation)).toEqual([1, 3, 4]);
    reader.close();
    reader.refresh(snapshotOf(clusterState(5), undefined, undefined));
    await reader.settled();
    expect(calls).toBe(4);
  });
});
