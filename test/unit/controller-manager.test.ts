/**
 * controller-manager on a fake clock: what the Arc agents' Pods and Deployments say for each way an
 * agent fares (pure), how a container's restarts are counted, and when the controller writes them
 * (after the settle delay, only what differs, again after a liveness change, a deleted Pod created
 * again). The apiserver is an in-memory stand-in here; test/integration/controller-manager.test.ts
 * runs the real one with kubectl and kills real agent processes.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import type { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { AGENT_NAMES, type AgentStatus, type ClusterState, type ProcessBeat } from '../../contract/index.js';
import { FakeClock } from '../../platform/clock.js';
import {
  agentPodState,
  historyOf,
  nextHistory,
  type PodInput,
} from '../../services/controller-manager/agent-pods.js';
import { agentDeployment, agentPod } from '../../services/controller-manager/arc-workloads.js';
import { ProcessWatch } from '../../services/controller-manager/process-watch.js';
import {
  AGENT,
  STATUS_LOOK_INTERVALS,
  WorkloadController,
  type AgentObserver,
  type WorkloadApi,
} from '../../services/controller-manager/workload-controller.js';
import { clusterState, nodePool } from '../helpers/fixtures.js';
import { captureLogger, fakeContext } from './agent-fakes.js';

type PodView = KubeObject & {
  status: {
    phase: string;
    containerStatuses: {
      name: string;
      ready: boolean;
      restartCount: number;
      state: Record<string, { reason?: string; startedAt?: string }>;
      lastState?: { terminated?: { startedAt: string } };
    }[];
  };
};
type DeploymentView = KubeObject & { status: { readyReplicas: number; observedGeneration: number } };

const state = (over: Partial<ClusterState> = {}): ClusterState =>
  clusterState('c1', { nodePools: [nodePool({ name: 'sys', count: 2 })], ...over });

const status = (agent: AgentStatus['agent'], lastSeenMs: number, extra: Partial<AgentStatus> = {}) =>
  ({
    agent,
    version: '1.21.10',
    pid: 42,
    startedAtMs: 1_000,
    lastSeenMs,
    state: 'Running',
    errors: [],
    ...extra,
  }) as AgentStatus;

const input = (over: Partial<PodInput> = {}): PodInput => ({
  state: state(),
  statuses: [],
  beats: new Map(),
  nowMs: 100_000,
  staleAfterMs: 6_000,
  ...over,
});

/** The Pod and Deployment the controller would write for one agent, given no stored history. */
function workload(agent: AgentStatus['agent'], at: PodInput) {
  const { state: podState, status: s } = agentPodState(agent, at);
  const w = {
    state: at.state,
    agent,
    podState,
    status: s,
    history: nextHistory(historyOf(undefined, agent), podState, s, s?.lastSeenMs),
    generation: 1,
  };
  return { pod: agentPod(w) as PodView, deployment: agentDeployment(w) as DeploymentView };
}

describe('the Arc agents’ pods and deployments', () => {
  it('Running while the agent is fresh; CrashLoopBackOff when its process died; Pending when stopped', () => {
    const fresh = input({ statuses: [status('metrics-agent', 99_000)] });
    expect(workload('metrics-agent', fresh).pod.status.phase).toBe('Running');
    expect(workload('metrics-agent', fresh).pod.status.containerStatuses.every((c) => c.ready)).toBe(true);
    expect(workload('metrics-agent', fresh).deployment.status.readyReplicas).toBe(1);
    // A beat of the same process keeps an old status fresh.
    const beats = new Map<string, ProcessBeat>([
      ['metrics-agent', { agent: 'metrics-agent', pid: 42, startedAtMs: 1_000, lastSeenMs: 98_000 }],
    ]);
    const beating = input({ statuses: [status('metrics-agent', 10_000)], beats });
    expect(workload('metrics-agent', beating).deployment.status.readyReplicas).toBe(1);
    const dead = input({ statuses: [status('metrics-agent', 10_000)] });
    expect(workload('metrics-agent', dead).deployment.status.readyReplicas).toBe(0);
    expect(workload('metrics-agent', dead).pod.status.containerStatuses[0]?.state['waiting']?.reason).toBe(
      'CrashLoopBackOff',
    );
    const stopped = input({
      state: state({ stoppedAgents: ['metrics-agent'] }),
      statuses: [status('metrics-agent', 99_000)],
    });
    expect(workload('metrics-agent', stopped).pod.status.phase).toBe('Pending');
    expect(workload('metrics-agent', stopped).deployment.status.readyReplicas).toBe(0);
    // Never started: Pending too; reporting errors: Running but not Ready.
    expect(workload('config-agent', fresh).pod.status.phase).toBe('Pending');
    const failing = input({
      statuses: [
        status('metrics-agent', 99_000, {
          state: 'Error',
          errors: [{ message: 'boom', severity: 'Error', time: '2026-01-01T00:00:00Z' }],
        }),
      ],
    });
    expect(workload('metrics-agent', failing).pod.status.phase).toBe('Running');
    expect(workload('metrics-agent', failing).deployment.status.readyReplicas).toBe(0);
    // The deployment's selector selects its pod.
    const { pod, deployment } = workload('metrics-agent', fresh);
    const selector = (deployment['spec'] as { selector: { matchLabels: Record<string, string> } }).selector;
    for (const [k, v] of Object.entries(selector.matchLabels)) expect(pod.metadata.labels?.[k]).toBe(v);
  });

  it('counts a restart once: when the process stops beating, and not again when it comes back', () => {
    const agent = 'config-agent';
    const running = nextHistory(historyOf(undefined, agent), 'Running', status(agent, 9_000), 9_000);
    expect(running).toMatchObject({ restartCount: 0, startedAt: '1970-01-01T00:00:01Z', down: false });
    const asPod = (h: typeof running, podState: 'Running' | 'Dead') =>
      agentPod({ state: state(), agent, podState, status: status(agent, 9_000), history: h, generation: 1 });
    const dead = nextHistory(
      historyOf(asPod(running, 'Running'), agent),
      'Dead',
      status(agent, 9_000),
      9_000,
    );
    expect(dead).toMatchObject({ restartCount: 1, down: true });
    expect(dead.lastState).toMatchObject({ terminated: { startedAt: '1970-01-01T00:00:01Z' } });
    // Read back from the stored Pod, as after a controller restart: still counted once.
    const again = nextHistory(historyOf(asPod(dead, 'Dead'), agent), 'Dead', status(agent, 9_000), 9_000);
    expect(again.restartCount).toBe(1);
    const back = nextHistory(
      historyOf(asPod(dead, 'Dead'), agent),
      'Running',
      status(agent, 70_000, { startedAtMs: 60_000 }),
      70_000,
    );
    expect(back).toMatchObject({ restartCount: 1, startedAt: '1970-01-01T00:01:00Z', down: false });
    // Replaced between two looks (never seen down): counted as well.
    const swapped = nextHistory(
      historyOf(asPod(running, 'Running'), agent),
      'Running',
      status(agent, 70_000, { startedAtMs: 60_000 }),
      70_000,
    );
    expect(swapped.restartCount).toBe(1);
  });

  it('no clusterconnect-agent without the cluster connect feature', async () => {
    const { api, objects } = memoryApi();
    const { controller, clock } = controllerOn(
      api,
      state({ features: { clusterConnect: false, azureRbac: false } }),
    );
    clock.advance(30_000);
    await controller.settled();
    expect([...objects.keys()]).not.toContain('Deployment/clusterconnect-agent');
    expect([...objects.keys()]).toContain('Deployment/controller-manager');
    await controller.close();
  });
});

/** An apiserver stand-in: resourceVersions, conflicts on a stale one, generation bumped by a spec change. */
function memoryApi() {
  const objects = new Map<string, KubeObject>();
  let rv = 0;
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
  const stamp = (o: KubeObject, generation: number): KubeObject => ({
    ...structuredClone(o),
    metadata: { ...structuredClone(o.metadata), resourceVersion: String(++rv), generation },
  });
  const api: WorkloadApi & { requests: number } = {
    requests: 0,
    list: async () => {
      api.requests++;
      return [...objects.values()].map((o) => structuredClone(o));
    },
    create: async (o) => {
      api.requests++;
      if (objects.has(key(o))) throw new Error('409 AlreadyExists');
      const stored = stamp(o, 1);
      objects.set(key(o), stored);
      return structuredClone(stored);
    },
    replace: async (o) => {
      api.requests++;
      const current = objects.get(key(o));
      if (!current || current.metadata.resourceVersion !== o.metadata.resourceVersion)
        throw new Error('409 Conflict');
      const specChanged = JSON.stringify(current['spec']) !== JSON.stringify(o['spec']);
      const generation = (current.metadata.generation as number) + (specChanged ? 1 : 0);
      const stored = stamp(o, generation);
      objects.set(key(o), stored);
      return structuredClone(stored);
    },
    remove: async (o) => {
      api.requests++;
      objects.delete(key(o));
    },
  };
  return { api, objects };
}

interface Observation {
  readonly statuses: readonly AgentStatus[];
  readonly beats: ReadonlyMap<string, ProcessBeat>;
}

function controllerOn(api: WorkloadApi, clusterState: ClusterState, obs?: { current: Observation }) {
  const clock = new FakeClock();
  const { logger } = captureLogger();
  let nowMs = 100_000;
  const observation = obs ?? { current: { statuses: [], beats: new Map() } };
  const controller = new WorkloadController(
    fakeContext(AGENT, {} as ClusterStore, logger).ctx,
    api,
    {
      statuses: async () => observation.current.statuses,
      beats: async () => observation.current.beats,
    } satisfies AgentObserver,
    {
      clock,
      checkEveryMs: 2_000,
      staleAfterMs: 6_000,
      nowMs: () => nowMs,
      random: () => 0.5,
      processes: new ProcessWatch({ clock, everyMs: 2_000, staleAfterMs: 6_000, nowMs: () => nowMs }),
    },
    { name: 'c1', state: clusterState, onboarding: undefined, identity: undefined },
  );
  return { controller, clock, observation, setNow: (ms: number) => (nowMs = ms) };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

describe('WorkloadController', () => {
  const everyAgent = (lastSeenMs: number) =>
    (['clusteridentityoperator', 'metrics-agent', 'config-agent'] as const).map((a) => status(a, lastSeenMs));

  it('writes the objects after the settle delay, then nothing while the agents are steady', async () => {
    const { api, objects } = memoryApi();
    const obs = { current: { statuses: everyAgent(99_000), beats: new Map() } };
    const { controller, clock } = controllerOn(api, state(), obs);
    expect(objects.size).toBe(0);
    clock.advance(30_000);
    await controller.settled();
    // A Deployment and a Pod for every agent of AGENT_NAMES (cluster connect on, Azure RBAC's guard off).
    expect(objects.size).toBe(2 * (AGENT_NAMES.length - 1));
    const pod = [...objects.values()].find(
      (o) => o.kind === 'Pod' && o.metadata.labels?.['app.kubernetes.io/component'] === 'metrics-agent',
    ) as PodView;
    expect(pod.status.phase).toBe('Running');
    const writes = controller.writes;
    const requests = api.requests;
    clock.advance(10_000); // five looks at the agents: nothing changed
    await flush();
    await controller.settled();
    expect(controller.writes).toBe(writes);
    expect(api.requests).toBe(requests);
    await controller.close();
  });

  /** Each agent's process beat: pid 42, started at `startedAtMs`, last seen at `lastSeenMs`. */
  const beatsOf = (startedAtMs: number, lastSeenMs: number): ReadonlyMap<string, ProcessBeat> =>
    new Map(
      everyAgent(0).map((s) => [s.agent, { agent: s.agent, pid: 42, startedAtMs, lastSeenMs }] as const),
    );
  /** `times` intervals of the process watch (2 s each), each followed by its reads. */
  const ticks = async (clock: FakeClock, times: number) => {
    for (let i = 0; i < times; i++) {
      clock.advance(2_000);
      await flush();
    }
  };
  /** A look, then the settle delay and the sync it caused. */
  const look = async (clock: FakeClock, controller: WorkloadController) => {
    await ticks(clock, 1);
    clock.advance(30_000);
    await controller.settled();
  };

  it('follows a killed agent process: not Ready with its restart counted, Ready again when it comes back', async () => {
    const { api, objects } = memoryApi();
    // Old status files kept fresh by their processes' beats, as in a running fleet.
    const obs = { current: { statuses: everyAgent(10_000), beats: beatsOf(1_000, 99_000) } };
    const { controller, clock, setNow } = controllerOn(api, state(), obs);
    clock.advance(30_000);
    await controller.settled();
    const metricsPod = () =>
      [...objects.values()].find(
        (o) => o.kind === 'Pod' && o.metadata.labels?.['app.kubernetes.io/component'] === 'metrics-agent',
      ) as PodView;
    const ready = () => (objects.get('Deployment/metrics-agent') as DeploymentView).status.readyReplicas;
    expect(ready()).toBe(1);
    setNow(110_000); // the processes stopped beating 11 s ago: a beat-only look sees it
    await look(clock, controller);
    expect(ready()).toBe(0);
    expect(metricsPod().status.containerStatuses[0]).toMatchObject({
      restartCount: 1,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
    });
    obs.current = {
      statuses: everyAgent(109_000).map((s) => ({ ...s, startedAtMs: 105_000 })),
      beats: beatsOf(105_000, 109_000),
    };
    await look(clock, controller);
    expect(ready()).toBe(1);
    expect(metricsPod().status.containerStatuses[0]).toMatchObject({ restartCount: 1, ready: true });
    await controller.close();
  });

  it('sees an agent reporting errors on the look that reads the status files', async () => {
    const { api, objects } = memoryApi();
    const obs = { current: { statuses: everyAgent(10_000), beats: beatsOf(1_000, 99_000) } };
    const { controller, clock } = controllerOn(api, state(), obs);
    clock.advance(30_000);
    await controller.settled();
    const ready = () => (objects.get('Deployment/config-agent') as DeploymentView).status.readyReplicas;
    const error = { message: 'boom', severity: 'Error' as const, time: '2026-01-01T00:00:00Z' };
    obs.current = {
      ...obs.current,
      statuses: obs.current.statuses.map((s) =>
        s.agent === 'config-agent' ? { ...s, state: 'Error' as const, errors: [error] } : s,
      ),
    };
    const writes = controller.writes;
    // Set up at 0 and synced at 30 s: its own look at the status files comes every 10 s.
    await ticks(clock, STATUS_LOOK_INTERVALS - 1);
    clock.advance(1_999);
    await flush();
    expect(controller.writes).toBe(writes); // the beats say nothing changed; no status look yet
    clock.advance(1);
    await flush();
    clock.advance(30_000);
    await controller.settled();
    expect(ready()).toBe(0);
    await controller.close();
  });

  it('creates a deleted Pod again after the apiserver says its objects changed', async () => {
    const { api, objects } = memoryApi();
    const obs = { current: { statuses: everyAgent(99_000), beats: new Map() } };
    const { controller, clock } = controllerOn(api, state(), obs);
    clock.advance(30_000);
    await controller.settled();
    const podKey = [...objects.keys()].find((k) => k.startsWith('Pod/config-agent-')) as string;
    objects.delete(podKey);
    controller.update(
      { name: 'c1', state: state(), onboarding: undefined, identity: undefined },
      { state: false, onboarding: false, identity: false, kube: true },
    );
    clock.advance(30_000);
    await controller.settled();
    expect(objects.has(podKey)).toBe(true);
    await controller.close();
  });

  it('marks its own Pod stopped when it is stopped for the cluster, not when its process shuts down', async () => {
    for (const reason of ['stopped', 'shutdown'] as const) {
      const { api, objects } = memoryApi();
      const obs = {
        current: {
          statuses: [...everyAgent(99_000), status('controller-manager', 99_000)],
          beats: new Map(),
        },
      };
      const { controller, clock } = controllerOn(api, state(), obs);
      clock.advance(30_000);
      await controller.settled();
      await controller.close(reason);
      const own = objects.get('Deployment/controller-manager') as DeploymentView;
      expect(own.status.readyReplicas).toBe(reason === 'stopped' ? 0 : 1);
    }
  });
});
