/**
 * Node-pool snapshots through the real CLI (`node dist/cli/main.js`) against a running fleet: take one,
 * upgrade another cluster's pool to it, add a pool from it, create a cluster from it; the emulated
 * apiserver's nodes and the hub's connectedClusters metadata follow. Time scale 60.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterState } from '../../contract/index.js';
import { clusterState, nodePool } from '../helpers/fixtures.js';
import { TestFleet } from '../helpers/fleet.js';
import { DIST_DIR } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const CLI = join(DIST_DIR, 'cli', 'main.js');
const GOLDEN_IMAGE = 'AKSUbuntu-2204gen2containerd-202410.15.0';
let fleet: TestFleet;

function arcfleet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--data-dir', fleet.dataDir],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

async function nodes(
  cluster: string,
): Promise<
  Array<{ metadata: { labels: Record<string, string> }; status: { nodeInfo: { kubeletVersion: string } } }>
> {
  const res = await fetch(`${fleet.handle.kubeApiserverUrl}/clusters/${cluster}/api/v1/nodes`);
  return ((await res.json()) as { items: never[] }).items;
}

beforeAll(async () => {
  const states: ClusterState[] = [
    clusterState('golden', {
      kubernetesVersion: '1.30.4',
      nodePools: [nodePool({ name: 'system', count: 2, nodeImageVersion: GOLDEN_IMAGE })],
    }),
    clusterState('target', {
      kubernetesVersion: '1.31.2',
      nodePools: [
        nodePool({
          name: 'system',
          count: 3,
          vmSize: 'Standard_D8s_v5',
          coresPerNode: 8,
          nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202407.03.0',
        }),
      ],
    }),
    clusterState('elsewhere', { location: 'eastus', nodePools: [nodePool({ name: 'system' })] }),
  ];
  fleet = await TestFleet.start({ clusters: states, kubeApiserver: true });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
});

afterAll(async () => {
  await fleet?.stop();
});

it('takes a snapshot, upgrades a pool to it, adds a pool and creates a cluster from it; the hub follows', async () => {
  const taken = await arcfleet(
    'snapshot',
    'create',
    'golden-2410',
    '--cluster',
    'golden',
    '--pool',
    'system',
  );
  expect(taken.stderr).toBe('');
  expect(taken.stdout).toContain(`Kubernetes 1.30.4, ${GOLDEN_IMAGE}`);
  const listed = JSON.parse((await arcfleet('snapshot', 'list', '-o', 'json')).stdout) as {
    value: { name: string; type: string }[];
  };
  expect(listed.value).toMatchObject([{ name: 'golden-2410', type: 'Microsoft.ContainerService/snapshots' }]);

  // Upgrade: exactly the snapshot's image; the pool's kubelets at its (older) version, the control plane not.
  const upgraded = await arcfleet(
    'cluster',
    'upgrade-pool',
    'target',
    '--pool',
    'system',
    '--snapshot',
    'golden-2410',
  );
  expect(upgraded.stdout).toContain(`→ ${GOLDEN_IMAGE}`);
  await waitFor(() => nodes('target'), {
    until: (ns) =>
      ns.length === 3 &&
      ns.every(
        (n) =>
          n.metadata.labels['kubernetes.azure.com/node-image-version'] === GOLDEN_IMAGE &&
          n.status.nodeInfo.kubeletVersion === 'v1.30.4',
      ),
    timeoutMs: 10_000,
    message: "target's nodes on the snapshot's image",
  });

  // A pool from it: the hub's node and core counts follow (3 × 8 + 2 × 4 cores).
  const added = await arcfleet(
    'cluster',
    'add-pool',
    'target',
    '--pool',
    'gold',
    '--snapshot',
    'golden-2410',
    '--count',
    '2',
  );
  expect(added.stdout).toContain('cluster total 5 nodes');
  const after = await waitFor(() => fleet.get('target'), {
    until: (c) => c.properties.totalNodeCount === 5,
    timeoutMs: 15_000,
    message: 'hub shows 5 nodes for target',
  });
  expect(after.properties).toMatchObject({ totalCoreCount: 32, kubernetesVersion: '1.31.2' });

  // A cluster from it, connected: the hub shows it with the snapshot's version and region.
  const created = await arcfleet(
    'cluster',
    'create',
    'from-golden',
    '--snapshot',
    'golden-2410',
    '--count',
    '4',
  );
  expect(created.stderr).toBe('');
  expect(created.stdout).toMatch(/created from snapshot golden-2410 in westeurope .*PUT 201/);
  const made = await fleet.store.readState('from-golden');
  expect(made).toMatchObject({ subscriptionId: fleet.subscriptionId, location: 'westeurope' });
  const ref = {
    subscriptionId: made?.subscriptionId ?? '',
    resourceGroup: made?.resourceGroup ?? '',
    name: 'from-golden',
  };
  const fresh = await waitFor(() => fleet.arm.cluster(ref), {
    until: (c) => c.properties.connectivityStatus === 'Connected' && c.properties.totalNodeCount === 4,
    timeoutMs: 30_000,
    message: 'from-golden Connected with 4 nodes',
  });
  expect(fresh).toMatchObject({
    location: 'westeurope',
    properties: { kubernetesVersion: '1.30.4', totalCoreCount: 16 },
  });
});

it('refuses a snapshot from another region, a pool name taken, and an unknown snapshot, naming why', async () => {
  const before = (await fleet.store.readState('elsewhere'))?.generation;
  const region = await arcfleet(
    'cluster',
    'upgrade-pool',
    'elsewhere',
    '--pool',
    'system',
    '--snapshot',
    'golden-2410',
  );
  expect(region.code).toBe(1);
  expect(region.stderr).toMatch(
    /InvalidParameter: snapshot golden-2410 is in westeurope; cluster elsewhere is in eastus/,
  );
  const taken = await arcfleet(
    'cluster',
    'add-pool',
    'target',
    '--pool',
    'system',
    '--snapshot',
    'golden-2410',
  );
  expect(taken.code).toBe(1);
  expect(taken.stderr).toContain('already has a node pool "system"');
  const unknown = await arcfleet(
    'cluster',
    'upgrade-pool',
    'target',
    '--pool',
    'system',
    '--snapshot',
    'nope',
  );
  expect(unknown.stderr).toContain('no node-pool snapshot "nope"');
  // Nothing changed by the refusals.
  expect((await fleet.store.readState('elsewhere'))?.generation).toBe(before);
});
