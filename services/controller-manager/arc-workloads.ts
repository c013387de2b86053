/**
 * The Arc agents' Deployments and Pods in `azure-arc`, as the Helm chart and the cluster's controllers
 * leave them (pure): one Deployment and one Pod per agent the cluster runs, each Ready while its agent
 * runs for the cluster (agent-pods.ts). The apiserver stamps uid, resourceVersion, creationTimestamp
 * and generation; everything here depends only on its inputs, so a cluster whose agents are steady
 * produces the same objects and costs no write.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { kubeTime } from '../../agent-runtime/timestamps.js';
import {
  AGENT_NAMES,
  nodeName,
  type AgentName,
  type AgentStatus,
  type ClusterState,
} from '../../contract/index.js';
import type { AgentPodState, ContainerHistory } from './agent-pods.js';

export const ARC_NAMESPACE = 'azure-arc';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
/** The label every object of the Helm release `azure-arc` carries; the controller owns what has it. */
export const RELEASE_LABEL = { 'app.kubernetes.io/name': 'azure-arc-k8sagents' } as const;
/** The log shipper beside each agent, as in the real chart. */
const FLUENT_BIT_IMAGE = 'mcr.microsoft.com/azurearck8s/fluent-bit:3.1.9';

export interface AgentWorkloadInput {
  readonly state: ClusterState;
  readonly agent: AgentName;
  readonly podState: AgentPodState;
  readonly status: AgentStatus | undefined;
  readonly history: ContainerHistory;
  /** The stored Deployment's generation (1 for a new one). */
  readonly generation: number;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The Linux Nodes of the cluster's pools, where the agents are scheduled (names as the apiserver gives them). */
export function linuxNodes(state: ClusterState): string[] {
  const out: string[] = [];
  for (const pool of state.nodePools)
    if (pool.osType === 'Linux')
      for (let i = 0; i < pool.count; i++) out.push(nodeName(state.name, pool.name, i));
  return out;
}

/** Where the agent's pod is: the ReplicaSet's template hash and the Pod's name change with its version. */
export function podNames(state: ClusterState, agent: AgentName, version: string) {
  const templateHash = hash(`${agent}/${version}`)
    .slice(0, 10)
    .replace(/[^a-z0-9]/g, 'x');
  return {
    templateHash,
    replicaSet: `${agent}-${templateHash}`,
    pod: `${agent}-${templateHash}-${hash(`${state.name}/${agent}`).slice(0, 5)}`,
  };
}

export function agentVersion(input: Pick<AgentWorkloadInput, 'status' | 'state'>): string {
  return input.status?.version ?? input.state.agentVersion;
}

export function agentPod(input: AgentWorkloadInput): KubeObject {
  const { state, agent, podState, status, history } = input;
  const version = agentVersion(input);
  const names = podNames(state, agent, version);
  const nodes = linuxNodes(state);
  const node = nodes.length > 0 ? nodes[parseInt(hash(agent).slice(0, 8), 16) % nodes.length] : undefined;
  const ready = podState === 'Running';
  const phase =
    podState === 'Stopped' || podState === 'Missing' || node === undefined ? 'Pending' : 'Running';
  const started = history.startedAt;
  const containers = [
    { name: agent, image: `mcr.microsoft.com/azurearck8s/${agent}:${version}` },
    { name: 'fluent-bit', image: FLUENT_BIT_IMAGE },
  ];
  const containerStatuses = containers.map((c) => {
    const isAgent = c.name === agent;
    const base = {
      name: c.name,
      image: c.image,
      imageID: `${c.image.split(':')[0]}@sha256:${hash(c.image)}`,
      ready,
      started: phase === 'Running' && podState !== 'Dead',
      restartCount: isAgent ? history.restartCount : 0,
      ...(isAgent && history.lastState ? { lastState: history.lastState } : {}),
    };
    if (phase === 'Pending') return { ...base, state: { waiting: { reason: 'ContainerCreating' } } };
    if (isAgent && podState === 'Dead')
      return {
        ...base,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off restarting failed container ${agent}: ${agent} is not running`,
          },
        },
      };
    return { ...base, state: { running: { startedAt: started ?? null } } };
  });
  const notReady =
    podState === 'Error'
      ? (status?.errors.map((e) => e.message).join('; ') ?? 'agent reports errors')
      : `containers with unready status: [${agent}]`;
  const condition = (type: string, ok: boolean, reason?: string, message?: string) => ({
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: started ?? null,
    ...(ok || !reason ? {} : { reason, message }),
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: names.pod,
      namespace: ARC_NAMESPACE,
      labels: { ...labelsOf(agent, version), 'pod-template-hash': names.templateHash },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: names.replicaSet,
          uid: uidOf(`${state.name}/ReplicaSet/${names.replicaSet}`),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: { containers, serviceAccountName: agent, ...(node ? { nodeName: node } : {}) },
    status: {
      phase,
      conditions: [
        condition('PodScheduled', node !== undefined, 'Unschedulable', 'no nodes available to schedule pods'),
        condition('Initialized', phase === 'Running'),
        condition('ContainersReady', ready, 'ContainersNotReady', notReady),
        condition('Ready', ready, 'ContainersNotReady', notReady),
      ],
      ...(node ? { hostIP: '10.224.0.4', podIP: `10.244.0.${10 + AGENT_NAMES.indexOf(agent)}` } : {}),
      ...(status ? { startTime: kubeTime(status.startedAtMs) } : {}),
      containerStatuses,
      qosClass: 'Burstable',
    },
  };
}

export function agentDeployment(input: AgentWorkloadInput): KubeObject {
  const { agent, podState } = input;
  const version = agentVersion(input);
  const { replicaSet } = podNames(input.state, agent, version);
  const labels = labelsOf(agent, version);
  const ready = podState === 'Running';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: agent,
      namespace: ARC_NAMESPACE,
      labels,
      annotations: { 'deployment.kubernetes.io/revision': '1', 'meta.helm.sh/release-name': 'azure-arc' },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { [COMPONENT_LABEL]: agent } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: agent, image: `mcr.microsoft.com/azurearck8s/${agent}:${version}` },
            { name: 'fluent-bit', image: FLUENT_BIT_IMAGE },
          ],
          serviceAccountName: agent,
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    },
    status: {
      observedGeneration: input.generation,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: ready ? 1 : 0,
      availableReplicas: ready ? 1 : 0,
      ...(ready ? {} : { unavailableReplicas: 1 }),
      conditions: [
        {
          type: 'Available',
          status: ready ? 'True' : 'False',
          reason: ready ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          message: ready
            ? 'Deployment has minimum availability.'
            : 'Deployment does not have minimum availability.',
        },
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${replicaSet}" has successfully progressed.`,
        },
      ],
    },
  };
}

function labelsOf(agent: AgentName, version: string): Record<string, string> {
  return { [COMPONENT_LABEL]: agent, ...RELEASE_LABEL, 'app.kubernetes.io/version': version };
}

/** A stable uid for objects this controller names but does not store (the ReplicaSets). */
function uidOf(key: string): string {
  const h = hash(key);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
