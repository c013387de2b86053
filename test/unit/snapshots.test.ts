/**
 * Node-pool snapshots (fleet/snapshots.ts): what a snapshot captures, the rules for pools and clusters
 * made from it (same region, same VM family, a Kubernetes version the control plane can run), and the
 * fleet's snapshot files.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArcError, clusterStateSchema } from '../../contract/index.js';
import {
  SnapshotStore,
  addPoolFromSnapshot,
  clusterFromSnapshot,
  takeSnapshot,
  upgradePoolToSnapshot,
  vmFamilyOf,
} from '../../fleet/snapshots.js';
import { clusterState, nodePool } from '../helpers/fixtures.js';

const AT = { nowIso: '2026-06-01T00:00:00.000Z', by: 'sre' };
const source = clusterState('golden', {
  kubernetesVersion: '1.30.4',
  nodePools: [nodePool({ name: 'system', nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202410.15.0' })],
});
const snap = takeSnapshot(source, 'system', 'golden-2410', AT);

function refused(fn: () => unknown): ArcError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ArcError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('node-pool snapshots', () => {
  it('capture the pool in the shape of Microsoft.ContainerService/snapshots', () => {
    expect(snap).toEqual({
      id: '/subscriptions/5b7e0c2a-1d3f-4e8a-9b6c-2f4a8d1e3c70/resourceGroups/rg/providers/Microsoft.ContainerService/snapshots/golden-2410',
      name: 'golden-2410',
      type: 'Microsoft.ContainerService/snapshots',
      location: 'westeurope',
      systemData: { createdAt: AT.nowIso, createdBy: 'sre' },
      properties: {
        creationData: {
          sourceResourceId:
            '/subscriptions/5b7e0c2a-1d3f-4e8a-9b6c-2f4a8d1e3c70/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/golden/agentPools/system',
        },
        snapshotType: 'NodePool',
        kubernetesVersion: '1.30.4',
        nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202410.15.0',
        osType: 'Linux',
        osSku: 'Ubuntu',
        vmSize: 'Standard_D4s_v5',
        enableFIPS: false,
      },
    });
    expect(refused(() => takeSnapshot(source, 'nope', 'x', AT))).toMatchObject({ status: 404 });
  });

  it('name VM families across providers', () => {
    expect(vmFamilyOf('Standard_D4s_v5')).toBe('Ds_v5');
    expect(vmFamilyOf('Standard_D16s_v5')).toBe('Ds_v5');
    expect(vmFamilyOf('Standard_E16s_v5')).toBe('Es_v5');
    expect(vmFamilyOf('m6i.2xlarge')).toBe('m6i');
    expect(vmFamilyOf('n2-standard-8')).toBe('n2-standard');
    expect(vmFamilyOf('vm-8vcpu-32gb')).toBe(vmFamilyOf('vm-4vcpu-16gb'));
  });

  it('upgrading a pool sets exactly the image; an older Kubernetes version becomes the pool’s own', () => {
    const target = clusterState('c1', {
      kubernetesVersion: '1.31.2',
      nodePools: [nodePool({ name: 'system', vmSize: 'Standard_D8s_v5', coresPerNode: 8, count: 5 })],
    });
    const next = upgradePoolToSnapshot(target, 'system', snap);
    expect(next.nodePools[0]).toEqual({
      name: 'system',
      vmSize: 'Standard_D8s_v5',
      osType: 'Linux',
      osSku: 'Ubuntu',
      nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202410.15.0',
      count: 5,
      coresPerNode: 8,
      kubernetesVersion: '1.30.4',
    });
    expect(clusterStateSchema.safeParse(next).success).toBe(true);
    // The control plane is not touched: the hub's kubernetesVersion stays the cluster's.
    expect(next.kubernetesVersion).toBe('1.31.2');
    // Same version as the control plane: no pool version of its own.
    const same = upgradePoolToSnapshot({ ...target, kubernetesVersion: '1.30.4' }, 'system', snap);
    expect(same.nodePools[0]).not.toHaveProperty('kubernetesVersion');
  });

  it('refuses another region, another VM family or OS, and a version the control plane cannot run', () => {
    const base = clusterState('c1', {
      kubernetesVersion: '1.31.2',
      nodePools: [nodePool({ name: 'system' })],
    });
    expect(
      refused(() => upgradePoolToSnapshot({ ...base, location: 'eastus' }, 'system', snap)).message,
    ).toMatch(/in westeurope; cluster c1 is in eastus/);
    expect(
      refused(() =>
        upgradePoolToSnapshot(
          { ...base, nodePools: [nodePool({ name: 'system', vmSize: 'Standard_E16s_v5' })] },
          'system',
          snap,
        ),
      ).message,
    ).toMatch(/family Es_v5.*family Ds_v5/);
    expect(
      refused(() =>
        upgradePoolToSnapshot(
          { ...base, nodePools: [nodePool({ name: 'system', osType: 'Windows', osSku: 'Windows2022' })] },
          'system',
          snap,
        ),
      ).message,
    ).toMatch(/is Windows; snapshot golden-2410 is Linux/);
    // Newer than the control plane, or more than three minors older.
    expect(
      refused(() => upgradePoolToSnapshot({ ...base, kubernetesVersion: '1.29.9' }, 'system', snap)).target,
    ).toBe('--snapshot');
    expect(() =>
      upgradePoolToSnapshot({ ...base, kubernetesVersion: '1.33.1' }, 'system', snap),
    ).not.toThrow();
    expect(() => upgradePoolToSnapshot({ ...base, kubernetesVersion: '1.34.0' }, 'system', snap)).toThrow(
      /up to 3 minor versions older/,
    );
  });

  it('adds pools from a snapshot (same family, own size allowed) and creates clusters from one', () => {
    const base = clusterState('c1', {
      kubernetesVersion: '1.30.4',
      nodePools: [nodePool({ name: 'system' })],
    });
    const added = addPoolFromSnapshot(base, snap, { name: 'gold', count: 2, vmSize: 'Standard_D16s_v5' });
    expect(added.nodePools.at(-1)).toEqual({
      name: 'gold',
      vmSize: 'Standard_D16s_v5',
      osType: 'Linux',
      osSku: 'Ubuntu',
      nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202410.15.0',
      count: 2,
      coresPerNode: 16,
    });
    expect(refused(() => addPoolFromSnapshot(base, snap, { name: 'system', count: 1 }))).toMatchObject({
      status: 409,
    });
    expect(
      refused(() => addPoolFromSnapshot(base, snap, { name: 'x', count: 1, vmSize: 'Standard_F8s_v2' })),
    ).toMatchObject({ status: 400, target: '--vm-size' });

    const created = clusterFromSnapshot(
      snap,
      { name: 'from-golden', subscriptionId: 's2', resourceGroup: 'rg2', count: 4, nowIso: AT.nowIso },
      source,
    );
    expect(clusterStateSchema.parse(created)).toMatchObject({
      name: 'from-golden',
      location: 'westeurope',
      kubernetesVersion: '1.30.4',
      distribution: 'aks',
      nodePools: [
        { name: 'nodepool1', count: 4, coresPerNode: 4, nodeImageVersion: snap.properties.nodeImageVersion },
      ],
      tags: { 'arcfleet-snapshot': 'golden-2410' },
    });
  });

  it('are kept as files of the fleet', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'arcfleet-snap-'));
    try {
      const store = new SnapshotStore(dir);
      expect(await store.list()).toEqual([]);
      await store.save(snap);
      expect(await store.get('GOLDEN-2410')).toEqual(snap);
      expect((await stat(join(dir, 'snapshots', 'golden-2410.json'))).isFile()).toBe(true);
      expect((await store.list()).map((s) => s.name)).toEqual(['golden-2410']);
      expect(await store.delete('golden-2410')).toBe(true);
      expect(await store.delete('golden-2410')).toBe(false);
      await expect(store.get('golden-2410')).rejects.toMatchObject({ status: 404, target: '--snapshot' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
