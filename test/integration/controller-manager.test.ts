/**
 * controller-manager against the real emulated apiserver, read with the real kubectl: the azure-arc
 * Deployments and Pods of every agent the cluster runs, Ready while the agent's process runs; a killed
 * agent process shows not Ready in CrashLoopBackOff with its restart counted, and Ready again (the
 * count kept) once it is back; an agent stopped for the cluster goes Pending; a Pod deleted with
 * kubectl is created again; and controller-manager stopped for the cluster says so on its own Pod.
 * Real processes (nats-server, hub, kube-apiserver, the agents), via TestFleet.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AGENT_NAMES, agentDeployed } from '../../contract/index.js';
import type { TestFleet } from '../helpers/fleet.js';
import { kubectlFleet, type KubectlResult } from '../helpers/kubectl.js';
import { waitFor } from '../helpers/wait.js';

interface Item {
  kind: string;
  metadata: { name: string; uid: string; labels: Record<string, string> };
  status: {
    readyReplicas?: number;
    phase?: string;
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount: number;
      state: Record<string, { reason?: string }>;
    }[];
  };
}

let fleet: TestFleet;
let cluster: string;
let kubectl: (...args: string[]) => Promise<KubectlResult>;

async function workloads(): Promise<Item[]> {
  const r = await kubectl('get', 'deployments,pods', '-n', 'azure-arc', '-o', 'json');
  if (r.code !== 0) throw new Error(`kubectl get failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { items: Item[] }).items;
}

const component = (i: Item): string => i.metadata.labels['app.kubernetes.io/component'] ?? '';
const deploymentReady = (items: Item[], agent: string): number | undefined =>
  items.find((i) => i.kind === 'Deployment' && i.metadata.name === agent)?.status.readyReplicas;
const podOf = (items: Item[], agent: string): Item | undefined =>
  items.find((i) => i.kind === 'Pod' && component(i) === agent);
const containerOf = (items: Item[], agent: string) =>
  podOf(items, agent)?.status.containerStatuses?.find((c) => c.name === agent);

const waitWorkloads = (what: string, ok: (items: Item[]) => boolean): Promise<Item[]> =>
  waitFor(workloads, { until: ok, timeoutMs: 30_000, message: what });

beforeAll(async () => {
  ({ fleet, cluster, kubectl } = await kubectlFleet());
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

it('lists a Deployment and a Pod for every agent, Ready where the agent runs', async () => {
  const state = await fleet.store.readState(cluster);
  if (!state) throw new Error('no state');
  const expected = AGENT_NAMES.filter((a) => agentDeployed(state, a)).sort();
  const running = ['clusteridentityoperator', 'resource-sync-agent', 'metrics-agent'];
  running.push('cluster-metadata-operator', 'controller-manager');
  const items = await waitWorkloads(
    'every running agent Ready, every Pod written',
    (l) =>
      running.every((a) => deploymentReady(l, a) === 1) &&
      l.filter((i) => i.kind === 'Pod').length === expected.length,
  );
  expect(
    items
      .filter((i) => i.kind === 'Deployment')
      .map((i) => i.metadata.name)
      .sort(),
  ).toEqual(expected);
  expect(
    items
      .filter((i) => i.kind === 'Pod')
      .map(component)
      .sort(),
  ).toEqual(expected);
  // Agents this fleet does not run never started: their Pods wait to be created.
  expect(deploymentReady(items, 'config-agent')).toBe(0);
  expect(podOf(items, 'config-agent')?.status.phase).toBe('Pending');
  expect(containerOf(items, 'metrics-agent')).toMatchObject({ ready: true, restartCount: 0 });
});

it('shows a killed agent not Ready with its restart counted, and Ready again once it is back', async () => {
  const agent = fleet.agent('metrics-agent');
  await agent.kill();
  const down = await waitWorkloads(
    'metrics-agent in CrashLoopBackOff',
    (l) => deploymentReady(l, 'metrics-agent') === 0,
  );
  expect(containerOf(down, 'metrics-agent')).toMatchObject({
    ready: false,
    restartCount: 1,
    state: { waiting: { reason: 'CrashLoopBackOff' } },
  });
  // Only that agent: the others stay Ready.
  expect(deploymentReady(down, 'resource-sync-agent')).toBe(1);
  agent.spawn();
  const back = await waitWorkloads(
    'metrics-agent Ready again',
    (l) => deploymentReady(l, 'metrics-agent') === 1,
  );
  expect(containerOf(back, 'metrics-agent')).toMatchObject({ ready: true, restartCount: 1 });
  expect(containerOf(back, 'metrics-agent')?.state['running']).toBeDefined();
});

it('shows an agent stopped for the cluster as Pending, and a deleted Pod comes back', async () => {
  await fleet.stopAgents(cluster, ['resource-sync-agent']);
  await waitWorkloads(
    'resource-sync-agent Pending',
    (l) => podOf(l, 'resource-sync-agent')?.status.phase === 'Pending',
  );
  await fleet.startAgents(cluster);
  await waitWorkloads('resource-sync-agent Ready', (l) => deploymentReady(l, 'resource-sync-agent') === 1);

  const before = podOf(await workloads(), 'clusteridentityoperator') as Item;
  expect(await kubectl('delete', 'pod', before.metadata.name, '-n', 'azure-arc')).toMatchObject({ code: 0 });
  const after = await waitWorkloads('the deleted Pod created again', (l) => {
    const pod = podOf(l, 'clusteridentityoperator');
    return pod !== undefined && pod.metadata.uid !== before.metadata.uid;
  });
  expect(podOf(after, 'clusteridentityoperator')?.metadata.name).toBe(before.metadata.name);
});

it('stopped for the cluster, controller-manager says so on its own Deployment', async () => {
  await fleet.stopAgents(cluster, ['controller-manager']);
  await waitWorkloads('controller-manager not Ready', (l) => deploymentReady(l, 'controller-manager') === 0);
  await fleet.startAgents(cluster);
  await waitWorkloads(
    'controller-manager Ready again',
    (l) => deploymentReady(l, 'controller-manager') === 1,
  );
});
