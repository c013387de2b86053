/**
 * Objects computed on read from the cluster store (pure): what a real cluster would have without
 * anyone creating them. Read-only through the API.
 *
 *   namespaces       default, kube-system, kube-public, kube-node-lease, azure-arc
 *   serviceaccounts  `default` in every namespace (derived and stored)
 *   nodes            one per node of each pool of cluster.json
 *   deployments/pods one per Arc agent in azure-arc, Ready while the agent runs for the cluster
 *   secrets          azure-identity-certificate (while the identity secret file exists)
 *   configmaps       azure-clusterconfig
 *   connectedclusters clustermetadata
 *
 * resourceVersion of a derived object is a hash of its content, so it stays the same while nothing
 * changed (no churn for watchers and caches) and changes with any visible change (e.g. a pod going
 * NotReady because its process died, with no file touched).
 */
import { createHash } from 'node:crypto';
import {
  type AgentStatus,
  type ClusterState,
  type IdentitySecret,
  type NodePool,
  type ProcessBeat,
  AGENT_NAMES,
  type AgentName,
} from '../../contract/index.js';
import { statusLastSeenMs } from '../../agent-runtime/agent-liveness.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { kubeTime } from './object-store.js';

export const ARC_NAMESPACE = 'azure-arc';
export const SYSTEM_NAMESPACES = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  ARC_NAMESPACE,
] as const;
export const COMPONENT_LABEL = 'app.kubernetes.io/component';

export interface DerivedInput {
  readonly state: ClusterState;
  /** Real ms the cluster came into being (its directory's birth time); creationTimestamp of derived objects. */
  readonly createdAtMs: number;
  /** Real ms now. */
  readonly nowMs: number;
  /** Stored namespaces (each gets a `default` ServiceAccount). */
  readonly storedNamespaces?: readonly string[];
  readonly statuses?: readonly AgentStatus[];
  readonly beats?: ReadonlyMap<string, ProcessBeat>;
  /** Real ms: an agent whose status (or its process's beat) is older is down, as metrics-agent judges. */
  readonly staleAfterMs?: number;
  readonly identity?: IdentitySecret | undefined;
}

/** Plurals that have derived objects, with the inputs each needs beyond `state`. */
export const DERIVED_NEEDS: Readonly<Record<string, { statuses?: boolean; identity?: boolean }>> = {
  '/namespaces': {},
  '/serviceaccounts': {},
  '/nodes': {},
  '/pods': { statuses: true },
  'apps/deployments': { statuses: true },
  '/secrets': { identity: true },
  '/configmaps': {},
  'arc.azure.com/connectedclusters': { identity: true },
};

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Deterministic uid: the same object gets the same uid on every read. */
function uidOf(cluster: string, kind: string, namespace: string, name: string): string {
  const h = hash(`${cluster}/${kind}/${namespace}/${name}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Stamps uid, creationTimestamp (unless set) and a content-hash resourceVersion. */
function finish(input: DerivedInput, obj: KubeObject): KubeObject {
  const meta = obj.metadata;
  const out: KubeObject = {
    ...obj,
    metadata: {
      ...meta,
      uid: uidOf(input.state.name, obj.kind, meta.namespace ?? '', meta.name),
      creationTimestamp: meta.creationTimestamp ?? kubeTime(input.createdAtMs),
    },
  };
  // A decimal string like the stored ones (some clients parse it as a number); 48 bits of the hash.
  out.metadata.resourceVersion = String(parseInt(hash(JSON.stringify(out)).slice(0, 12), 16));
  return out;
}

export function derivedObjects(resource: string, input: DerivedInput): KubeObject[] {
  switch (resource) {
    case '/namespaces':
      return SYSTEM_NAMESPACES.map((n) => finish(input, namespaceObject(n)));
    case '/serviceaccounts':
      return [...new Set([...SYSTEM_NAMESPACES, ...(input.storedNamespaces ?? [])])].map((ns) =>
        finish(input, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'default', namespace: ns },
        }),
      );
    case '/nodes':
      return nodes(input);
    case '/pods':
      return arcAgents(input).map((a) => finish(input, a.pod));
    case 'apps/deployments':
      return arcAgents(input).map((a) => finish(input, a.deployment));
    case '/secrets':
      return input.identity ? [finish(input, identitySecret(input.identity))] : [];
    case '/configmaps':
      return [finish(input, clusterConfig(input.state))];
    case 'arc.azure.com/connectedclusters':
      return [finish(input, clusterMetadata(input))];
    default:
      return [];
  }
}

export function namespaceObject(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** Node names like AKS's `aks-<pool>-<8 digits>-vmss<6 base-36 digits>`, stable per cluster and pool. */
export function nodeName(cluster: string, pool: string, index: number): string {
  const digits = String(parseInt(hash(`${cluster}/${pool}`).slice(0, 8), 16) % 100_000_000).padStart(8, '0');
  return `aks-${pool}-${digits}-vmss${index.toString(36).padStart(6, '0')}`;
}

/** Azure's Arm64 sizes carry a `p` among their feature letters (Standard_D4ps_v5, Standard_E8pds_v5). */
function archOf(vmSize: string): 'amd64' | 'arm64' {
  return /^Standard_[A-Z]+\d+[a-z]*p[a-z]*_v\d+$/i.test(vmSize) ? 'arm64' : 'amd64';
}

function osImage(pool: NodePool): string {
  if (pool.osType === 'Windows')
    return pool.osSku.includes('2019') ? 'Windows Server 2019 Datacenter' : 'Windows Server 2022 Datacenter';
  if (/azurelinux|mariner|cbl/i.test(pool.osSku)) return 'CBL-Mariner/Linux';
  return 'Ubuntu 22.04.5 LTS';
}

function kubeletVersion(v: string): string {
  return v.startsWith('v') ? v : `v${v}`;
}

function nodes(input: DerivedInput): KubeObject[] {
  const { state } = input;
  const out: KubeObject[] = [];
  let ip = 4;
  for (const pool of state.nodePools)
    for (let i = 0; i < pool.count; i++) {
      const name = nodeName(state.name, pool.name, i);
      const os = pool.osType === 'Windows' ? 'windows' : 'linux';
      const arch = archOf(pool.vmSize);
      const memoryKi = pool.coresPerNode * 4 * 1024 * 1024;
      const address = `10.224.${Math.floor(ip / 250)}.${(ip % 250) + 4}`;
      ip++;
      out.push(
        finish(input, {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name,
            labels: {
              'beta.kubernetes.io/arch': arch,
              'beta.kubernetes.io/os': os,
              'kubernetes.io/arch': arch,
              'kubernetes.io/os': os,
              'kubernetes.io/hostname': name,
              'node.kubernetes.io/instance-type': pool.vmSize,
              'kubernetes.azure.com/agentpool': pool.name,
              'kubernetes.azure.com/os-sku': pool.osSku,
              'kubernetes.azure.com/node-image-version': pool.nodeImageVersion,
              'kubernetes.azure.com/cluster': state.name,
              'topology.kubernetes.io/region': state.location,
            },
          },
          spec: { providerID: `azure:///emulated/${state.name}/${name}` },
          status: {
            capacity: {
              cpu: String(pool.coresPerNode),
              memory: `${memoryKi}Ki`,
              pods: '110',
              'ephemeral-storage': '129886128Ki',
            },
            allocatable: {
              cpu: `${pool.coresPerNode * 1000 - 140}m`,
              memory: `${Math.floor(memoryKi * 0.8)}Ki`,
              pods: '110',
              'ephemeral-storage': '119703055367',
            },
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'kubelet is posting ready status',
                // A moving heartbeat time would change the version hash on every read: churn for watchers.
                lastHeartbeatTime: kubeTime(input.createdAtMs),
                lastTransitionTime: kubeTime(input.createdAtMs),
              },
            ],
            addresses: [
              { type: 'InternalIP', address },
              { type: 'Hostname', address: name },
            ],
            nodeInfo: {
              kubeletVersion: kubeletVersion(state.kubernetesVersion),
              kubeProxyVersion: kubeletVersion(state.kubernetesVersion),
              osImage: osImage(pool),
              operatingSystem: os,
              architecture: arch,
              containerRuntimeVersion: 'containerd://1.7.20',
              kernelVersion: os === 'linux' ? '5.15.0-1074-azure' : '10.0.20348.2655',
              machineID: hash(`${name}/machine`).slice(0, 32),
              systemUUID: uidOf(state.name, 'system', '', name),
              bootID: uidOf(state.name, 'boot', '', name),
            },
          },
        }),
      );
    }
  return out;
}

/** The agents that have a deployment in this cluster (clusterconnect-agent only with cluster connect). */
export function expectedAgents(state: ClusterState): AgentName[] {
  return AGENT_NAMES.filter((a) => a !== 'clusterconnect-agent' || state.features.clusterConnect);
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

function arcAgents(input: DerivedInput): { deployment: KubeObject; pod: KubeObject }[] {
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

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

function identitySecret(identity: IdentitySecret): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: 'azure-identity-certificate', namespace: ARC_NAMESPACE },
    data: {
      'azure-identity-certificate': b64(identity.certificate),
      'azure-identity-certificate-expiration-time': b64(
        identity['azure-identity-certificate-expiration-time'],
      ),
      'azure-identity-certificate-issued-time': b64(identity.issuedAt),
      state: b64(identity.state),
    },
  };
}

function clusterConfig(state: ClusterState): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'azure-clusterconfig', namespace: ARC_NAMESPACE },
    data: {
      AZURE_RESOURCE_NAME: state.name,
      AZURE_RESOURCE_GROUP: state.resourceGroup,
      AZURE_SUBSCRIPTION_ID: state.subscriptionId,
      AZURE_REGION: state.location,
      AZURE_ARC_AGENT_VERSION: state.agentVersion,
      AZURE_ARC_AUTOUPDATE: 'true',
      AZURE_ARC_RELEASE_TRAIN: 'stable',
      CLUSTER_TYPE: 'ConnectedClusters',
      KUBERNETES_DISTRO: state.distribution,
      KUBERNETES_INFRA: state.infrastructure,
    },
  };
}

function clusterMetadata(input: DerivedInput): KubeObject {
  const { state } = input;
  let nodeCount = 0;
  let coreCount = 0;
  for (const p of state.nodePools) {
    nodeCount += p.count;
    coreCount += p.count * p.coresPerNode;
  }
  return {
    apiVersion: 'arc.azure.com/v1beta1',
    kind: 'ConnectedCluster',
    metadata: { name: 'clustermetadata' },
    spec: {},
    status: {
      nodeCount,
      coreCount,
      arcAgentVersion: state.agentVersion,
      kubernetesAPIServerVersion: kubeletVersion(state.kubernetesVersion),
      ...(input.identity
        ? {
            managedIdentityCertificateExpirationTime:
              input.identity['azure-identity-certificate-expiration-time'],
          }
        : {}),
    },
  };
}
