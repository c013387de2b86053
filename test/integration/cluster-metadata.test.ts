/**
 * cluster-metadata-operator against the real emulated apiserver, driven with the real kubectl: it
 * writes the `clustermetadata` resource from the cluster's Nodes and versions, follows a Node added and
 * removed with kubectl, shows as its own Deployment, and catches up after it was stopped; and
 * resource-sync-agent syncs that resource to the hub (resource → sync → hub). Real processes
 * (nats-server, hub, kube-apiserver, the agents), via TestFleet.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestFleet } from '../helpers/fleet.js';
import { kubectlFleet, type KubectlResult } from '../helpers/kubectl.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

interface Metadata {
  metadata: { managedFields?: { manager: string }[] };
  status: {
    nodeCount?: number;
    coreCount?: number;
    arcAgentVersion?: string;
    kubernetesAPIServerVersion?: string;
    managedIdentityCertificateExpirationTime?: string;
    lastConnectivityTime?: string;
  };
}

let fleet: TestFleet;
let cluster: string;
let kubectl: (...args: string[]) => Promise<KubectlResult>;

async function metadata(): Promise<Metadata | undefined> {
  const r = await kubectl(
    'get',
    'connectedclusters.arc.azure.com',
    'clustermetadata',
    '-o',
    'json',
    '--show-managed-fields',
  );
  return r.code === 0 ? (JSON.parse(r.stdout) as Metadata) : undefined;
}

const waitMetadata = (what: string, ok: (m: Metadata) => boolean): Promise<Metadata | undefined> =>
  waitFor(metadata, { until: (m) => m !== undefined && ok(m), timeoutMs: 15_000, message: what });

function nodeManifest(name: string, cpu: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/os': 'linux' } },
    status: { capacity: { cpu, memory: '32Gi', pods: '110' } },
  });
}

beforeAll(async () => {
  ({ fleet, cluster, kubectl } = await kubectlFleet());
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

it('writes clustermetadata from the Nodes and versions; a Node added or removed with kubectl reaches the hub', async () => {
  const state = await fleet.store.readState(cluster);
  if (!state) throw new Error('no state');
  const nodes = state.nodePools.reduce((n, p) => n + p.count, 0);
  const cores = state.nodePools.reduce((n, p) => n + p.count * p.coresPerNode, 0);
  const first = await waitMetadata('clustermetadata written', (m) => m.status.nodeCount === nodes);
  expect(first?.status).toMatchObject({
    nodeCount: nodes,
    coreCount: cores,
    arcAgentVersion: state.agentVersion,
    kubernetesAPIServerVersion: state.kubernetesVersion.startsWith('v')
      ? state.kubernetesVersion
      : `v${state.kubernetesVersion}`,
  });
  expect(first?.status.managedIdentityCertificateExpirationTime).toMatch(/^\d{4}-/);
  // resource-sync-agent's last heartbeat, filled in on read.
  expect(first?.status.lastConnectivityTime).toMatch(/^\d{4}-/);
  expect(first?.metadata.managedFields?.map((f) => f.manager)).toContain('cluster-metadata-operator');

  const manifest = join(fleet.dataDir, 'edge-node.json');
  await writeFile(manifest, nodeManifest('edge-node-1', '8'));
  expect(await kubectl('create', '-f', manifest)).toMatchObject({
    code: 0,
    stdout: 'node/edge-node-1 created\n',
  });
  await waitMetadata('the added Node counted', (m) => m.status.nodeCount === nodes + 1);
  expect((await metadata())?.status.coreCount).toBe(cores + 8);
  // resource → resource-sync-agent → hub: the connected cluster's read-only counts follow.
  const synced = await waitFor(() => fleet.get(cluster), {
    until: (c) => c.properties.totalNodeCount === nodes + 1,
    timeoutMs: 15_000,
    message: 'the hub shows the added Node',
  });
  expect(synced.properties.totalCoreCount).toBe(cores + 8);

  // The pool's Nodes stay the node pools' (cluster.json): read-only, and their names taken.
  const pooled = (await kubectl('get', 'nodes', '-o', 'name')).stdout
    .split('\n')
    .find((n) => n.includes('aks-'));
  expect(pooled).toBeDefined();
  const refused = await kubectl('delete', pooled as string);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/read-only/);

  expect(await kubectl('delete', 'node', 'edge-node-1')).toMatchObject({ code: 0 });
  await waitMetadata(
    'the removed Node gone',
    (m) => m.status.nodeCount === nodes && m.status.coreCount === cores,
  );
  await waitFor(() => fleet.get(cluster), {
    until: (c) => c.properties.totalNodeCount === nodes && c.properties.totalCoreCount === cores,
    timeoutMs: 15_000,
    message: 'the hub shows the Node removed',
  });
});

it('is a Deployment of its own; stopped, it writes nothing, and started again it catches up', async () => {
  const ready = async (): Promise<number | undefined> => {
    const r = await kubectl(
      'get',
      'deployment',
      'cluster-metadata-operator',
      '-n',
      'azure-arc',
      '-o',
      'json',
    );
    return r.code === 0
      ? ((JSON.parse(r.stdout) as { status: { readyReplicas?: number } }).status.readyReplicas ?? 0)
      : undefined;
  };
  await waitFor(ready, { until: (n) => n === 1, timeoutMs: 10_000, message: 'operator Deployment ready' });
  const before = (await metadata())?.status.nodeCount ?? -1;

  await fleet.stopAgents(cluster, ['cluster-metadata-operator']);
  await waitFor(ready, {
    until: (n) => n === 0,
    timeoutMs: 10_000,
    message: 'operator Deployment not ready',
  });
  const manifest = join(fleet.dataDir, 'edge-node-2.json');
  await writeFile(manifest, nodeManifest('edge-node-2', '2'));
  expect(await kubectl('create', '-f', manifest)).toMatchObject({ code: 0 });
  await holdsFor(metadata, (m) => m?.status.nodeCount === before, 1500, {
    message: 'clustermetadata unchanged while its operator is stopped',
  });

  await fleet.startAgents(cluster);
  await waitMetadata('caught up after the restart', (m) => m.status.nodeCount === before + 1);
});
