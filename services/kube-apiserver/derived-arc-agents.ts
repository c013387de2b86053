/**
 * Why this file: the Arc agents' Deployments and Pods in the azure-arc namespace, one per agent the
 * cluster runs, Ready while the agent reports for the cluster (the same liveness rule as
 * metrics-agent). Split out of derived.ts: it is the largest and the only part that reads the agents'
 * statuses and process beats.
 */
import {
  type AgentStatus,
  type ClusterState,
  AGENT_NAMES,
  type AgentName,
  agentDeployed,
} from '../../contract/index.js';
import { statusLastSeenMs } from '../../agent-runtime/agent-liveness.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { ARC_NAMESPACE, hash, uidOf, type DerivedInput } from './derived-meta.js';
import { nodeName } from './derived-nodes.js';
import { kubeTime } from './object-store.js';

export const COMPONENT_LABEL = 'app.kubernetes.io/component';

/** The agents that have a deployment in this cluster (clusterconnect-agent only with cluster connect). */
export function expectedAgents(state: ClusterState): AgentName[] {
  return AGENT_NAMES.filter((a) => agentDeployed(state, a));
}

export type AgentPodState = 'Running' | 'Error' | 'Stopped' | 'Missing' | 'Dead';

/** How the agent fares for this cluster, by the same rule as metrics-agent (services/metrics-agent/health.ts). */
export function agentPodState(
  agent: AgentName,
  input: DerivedInput,
): { state: AgentPodState; status?: AgentStatus } {
  if (input.state.stoppedAgents.includes(agent)) return { state: 'Stopped' };
  const status = input.statuses?.find((s) => s.agent === agent);
  if (!status) return { state: 'Missing' };
  const age = input.nowMs - statusLastSeenMs(status, input.beats);
  if (age > (input.staleAfterMs ?? 6000)) return { state: 'Dead', status };
  return { state: status.state === 'Error' ? 'Error' : 'Running', status };
}

export function arcAgents(input: DerivedInput): { deployment: KubeObject; pod: KubeObject }[] {
  const { state } = input;
  const linuxNodes: string[] = [];
  for (const pool of state.nodePools)
    if (pool.osType === 'Linux')
      for (let i = 0; i < pool.count; i++) linuxNodes.push(nodeName(state.name, pool.name, i));
  return expectedAgents(state).map((agent) => {
    const { state: podState, status } = agentPodState(agent, input);
    const version = status?.version ?? state.agentVersion;
    const image = `mcr.microsoft.com/azurearck8s/${agent}:${version}`;
    const templateHash = hash(`${agent}/${version}`)
      .slice(0, 10)
      .replace(/[^a-z0-9]/g, 'x');
    const podName = `${agent}-${templateHash}-${hash(`${state.name}/${agent}`).slice(0, 5)}`;
    const labels = {
      [COMPONENT_LABEL]: agent,
      'app.kubernetes.io/name': 'azure-arc-k8sagents',
      'app.kubernetes.io/version': version,
    };
    const ready = podState === 'Running';
    const started = status ? kubeTime(status.startedAtMs) : undefined;
    const node = linuxNodes.length > 0 ? linuxNodes[hashIndex(agent, linuxNodes.length)] : undefined;
    const containers = [
      { name: agent, image },
      { name: 'fluent-bit', image: 'mcr.microsoft.com/azurearck8s/fluent-bit:3.1.9' },
    ];
    const phase =
      podState === 'Stopped' || podState === 'Missing' || node === undefined ? 'Pending' : 'Running';
    const containerStatuses = containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `${c.image.split(':')[0]}@sha256:${hash(c.image)}`,
      ready: ready,
      started: phase === 'Running' && podState !== 'Dead',
      restartCount: podState === 'Dead' && c.name === agent ? 1 : 0,
      state:
        phase === 'Pending'
          ? { waiting: { reason: 'ContainerCreating' } }
          : podState === 'Dead' && c.name === agent
            ? {
                waiting: {
                  reason: 'CrashLoopBackOff',
                  message: `back-off restarting failed container ${agent}: ${agent} is not running`,
                },
              }
            : { running: { startedAt: started ?? kubeTime(input.createdAtMs) } },
    }));
    const condition = (type: string, ok: boolean, reason?: string, message?: string) => ({
      type,
      status: ok ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: started ?? kubeTime(input.createdAtMs),
      ...(ok || !reason ? {} : { reason, message }),
    });
    const notReadyMessage =
      podState === 'Error'
        ? (status?.errors.map((e) => e.message).join('; ') ?? 'agent reports errors')
        : `containers with unready status: [${agent}]`;
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace: ARC_NAMESPACE,
        labels: { ...labels, 'pod-template-hash': templateHash },
        ...(started ? { creationTimestamp: started } : {}),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: `${agent}-${templateHash}`,
            uid: uidOf(state.name, 'ReplicaSet', ARC_NAMESPACE, `${agent}-${templateHash}`),
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { containers, serviceAccountName: agent, ...(node ? { nodeName: node } : {}) },
      status: {
        phase,
        conditions: [
          condition(
            'PodScheduled',
            node !== undefined,
            'Unschedulable',
            'no nodes available to schedule pods',
          ),
          condition('Initialized', phase === 'Running'),
          condition('ContainersReady', ready, 'ContainersNotReady', notReadyMessage),
          condition('Ready', ready, 'ContainersNotReady', notReadyMessage),
        ],
        ...(node ? { hostIP: '10.224.0.4', podIP: `10.244.0.${10 + AGENT_NAMES.indexOf(agent)}` } : {}),
        ...(started ? { startTime: started } : {}),
        containerStatuses,
        qosClass: 'Burstable',
      },
    };
    const deployment: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: agent,
        namespace: ARC_NAMESPACE,
        labels,
        annotations: { 'deployment.kubernetes.io/revision': '1', 'meta.helm.sh/release-name': 'azure-arc' },
        generation: 1,
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { [COMPONENT_LABEL]: agent } },
        template: { metadata: { labels }, spec: { containers, serviceAccountName: agent } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
      },
      status: {
        observedGeneration: 1,
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
            message: `ReplicaSet "${agent}-${templateHash}" has successfully progressed.`,
          },
        ],
      },
    };
    return { deployment, pod };
  });
}

function hashIndex(text: string, n: number): number {
  return parseInt(hash(text).slice(0, 8), 16) % n;
}
