/**
 * Why this file: the served kinds other than Pod (core/v1, apps/v1 and the custom resources of the
 * Arc agents and Flux), and the full definition set the documents are built from. Data in
 * schema-kit.ts's vocabulary. The custom resources' specs are open, as a CRD without a structural
 * schema would be: the emulator keeps what the controllers write.
 */
import { KUBE_RESOURCES } from '../../../contract/index.js';
import { META_DEFINITIONS } from './schemas-meta.js';
import { POD_DEFINITIONS } from './schemas-pod.js';
import {
  APPS,
  CORE,
  META,
  bool,
  free,
  freeFields,
  int,
  kindHead,
  specStatusKind,
  condition,
  listOf,
  quantities,
  ref,
  retainingKeys,
  str,
  strList,
  strMap,
  time,
  type Definition,
  type Definitions,
} from './schema-kit.js';

const CORE_KINDS: Definitions = {
  [`${CORE}Namespace`]: specStatusKind(
    { group: '', version: 'v1', kind: 'Namespace' },
    'A scope for names. The azure-arc namespace holds the Arc agents and cannot be deleted.',
    ref(`${CORE}NamespaceSpec`, 'The desired namespace.'),
    ref(`${CORE}NamespaceStatus`, 'The observed namespace. Read-only.'),
  ),
  [`${CORE}NamespaceSpec`]: {
    d: 'The desired namespace.',
    props: { finalizers: strList('Finalizers that must clear before the namespace is removed.') },
  },
  [`${CORE}NamespaceStatus`]: {
    d: 'The observed namespace.',
    props: { phase: str('Active or Terminating.'), conditions: free("The namespace's conditions.") },
  },
  [`${CORE}Node`]: specStatusKind(
    { group: '', version: 'v1', kind: 'Node' },
    "A worker machine. In the emulator, nodes are derived from the cluster's node pools and read-only.",
    ref(`${CORE}NodeSpec`, 'The desired node.'),
    ref(`${CORE}NodeStatus`, 'The observed node. Read-only.'),
  ),
  [`${CORE}NodeSpec`]: {
    d: 'The desired node.',
    props: {
      podCIDR: str('The pod address range of the node.'),
      podCIDRs: { t: 'list', of: str(''), d: 'The pod address ranges, one per family.', set: true },
      providerID: str("The cloud provider's id of the machine."),
      unschedulable: bool('Whether new pods may be scheduled on the node.'),
      taints: free('Taints that repel pods without a matching toleration.'),
      ...freeFields('configSource externalID'),
    },
  },
  [`${CORE}NodeStatus`]: {
    d: 'The observed node.',
    props: {
      capacity: quantities("The node's total resources."),
      allocatable: quantities('The resources available to pods.'),
      phase: str('Deprecated.'),
      conditions: listOf(`${CORE}NodeCondition`, 'Ready, MemoryPressure, DiskPressure, PIDPressure.', [
        'type',
      ]),
      addresses: listOf(`${CORE}NodeAddress`, "The node's addresses.", ['type']),
      nodeInfo: ref(`${CORE}NodeSystemInfo`, 'What runs on the node.'),
      images: free('Images present on the node.'),
      ...freeFields('config daemonEndpoints features runtimeHandlers volumesAttached volumesInUse'),
    },
  },
  [`${CORE}NodeCondition`]: {
    ...condition('node'),
    props: { ...condition('node').props, lastHeartbeatTime: time('When the kubelet last reported it.') },
  },
  [`${CORE}NodeAddress`]: {
    d: 'One address of a node.',
    props: {
      type: str('Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.'),
      address: str('The address.'),
    },
    required: ['type', 'address'],
  },
  [`${CORE}NodeSystemInfo`]: {
    d: 'Versions and ids reported by the node.',
    props: Object.fromEntries(
      [
        'machineID',
        'systemUUID',
        'bootID',
        'kernelVersion',
        'osImage',
        'containerRuntimeVersion',
        'kubeletVersion',
        'kubeProxyVersion',
        'operatingSystem',
        'architecture',
      ].map((k) => [k, str(`The node's ${k}.`)]),
    ),
  },
  [`${CORE}ConfigMap`]: {
    d: 'Non-secret configuration as key/value pairs.',
    props: {
      ...kindHead(),
      data: strMap('UTF-8 values by key.'),
      binaryData: strMap('Base64-encoded binary values by key.'),
      immutable: bool('When true, data cannot change after creation.'),
    },
    gvk: { group: '', version: 'v1', kind: 'ConfigMap' },
  },
  [`${CORE}Secret`]: {
    d: 'Sensitive values by key (base64-encoded in data).',
    props: {
      ...kindHead(),
      data: strMap('Base64-encoded values by key.'),
      stringData: strMap('Write-only plain values, merged into data on write.'),
      type: str('How the data is used (Opaque, kubernetes.io/tls, ...).'),
      immutable: bool('When true, data cannot change after creation.'),
    },
    gvk: { group: '', version: 'v1', kind: 'Secret' },
  },
  [`${CORE}ServiceAccount`]: {
    d: 'An identity for processes in pods.',
    props: {
      ...kindHead(),
      secrets: listOf(`${CORE}ObjectReference`, 'Secrets pods of this account may use.', ['name']),
      imagePullSecrets: listOf(`${CORE}LocalObjectReference`, 'Secrets used to pull images for its pods.'),
      automountServiceAccountToken: bool("Whether pods mount the account's token by default."),
    },
    gvk: { group: '', version: 'v1', kind: 'ServiceAccount' },
  },
  [`${CORE}ObjectReference`]: {
    d: 'Names any object.',
    props: Object.fromEntries(
      ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((k) => [
        k,
        str(`The referenced object's ${k}.`),
      ]),
    ),
  },
  [`${CORE}Service`]: specStatusKind(
    { group: '', version: 'v1', kind: 'Service' },
    'A stable name and address for a set of pods chosen by labels.',
    ref(`${CORE}ServiceSpec`, 'The desired service.'),
    free('The observed service (load balancer ingress, conditions). Read-only.'),
  ),
  [`${CORE}ServiceSpec`]: {
    d: 'The desired service.',
    props: {
      type: str('ClusterIP, NodePort, LoadBalancer or ExternalName.'),
      selector: strMap('The labels of the pods traffic goes to.'),
      ports: listOf(`${CORE}ServicePort`, 'The ports the service exposes.', ['port', 'protocol']),
      clusterIP: str("The service's virtual address; None for a headless service."),
      clusterIPs: strList('The virtual addresses, one per family.'),
      externalIPs: strList('Addresses outside the cluster that also route to the service.'),
      externalName: str('The DNS name an ExternalName service aliases.'),
      sessionAffinity: str('ClientIP or None.'),
      externalTrafficPolicy: str('Cluster or Local.'),
      internalTrafficPolicy: str('Cluster or Local.'),
      ipFamilies: strList('IPv4 and/or IPv6.'),
      ipFamilyPolicy: str('SingleStack, PreferDualStack or RequireDualStack.'),
      loadBalancerIP: str('Deprecated: the requested load balancer address.'),
      ...freeFields(
        'allocateLoadBalancerNodePorts healthCheckNodePort loadBalancerClass loadBalancerSourceRanges publishNotReadyAddresses sessionAffinityConfig trafficDistribution',
      ),
    },
  },
  [`${CORE}ServicePort`]: {
    d: 'One port of a service.',
    props: {
      name: str("The port's name, required when there are several."),
      protocol: str('TCP, UDP or SCTP.'),
      port: int('The port the service listens on.'),
      targetPort: { t: 'intOrString', d: "The pods' port: a number or a container port name." },
      nodePort: int('The port on every node for NodePort and LoadBalancer services.'),
      appProtocol: str('The application protocol of the port.'),
    },
    required: ['port'],
  },
};

const APPS_KINDS: Definitions = {
  [`${APPS}Deployment`]: specStatusKind(
    { group: 'apps', version: 'v1', kind: 'Deployment' },
    "Declarative updates for a set of identical pods. The Arc agents' deployments are derived and read-only.",
    ref(`${APPS}DeploymentSpec`, 'The desired deployment.'),
    ref(`${APPS}DeploymentStatus`, 'The observed deployment. Read-only.'),
  ),
  [`${APPS}DeploymentSpec`]: {
    d: 'The desired deployment.',
    props: {
      replicas: int('How many pods to run; 1 by default.'),
      selector: ref(
        `${META}LabelSelector`,
        "The pods this deployment manages; must match the template's labels.",
      ),
      template: ref(`${CORE}PodTemplateSpec`, 'The pods to create.'),
      strategy: retainingKeys(ref(`${APPS}DeploymentStrategy`, 'How old pods are replaced.')),
      minReadySeconds: int('Seconds a new pod must be ready before it counts as available.'),
      revisionHistoryLimit: int('Old replica sets kept for rollback.'),
      paused: bool('Whether rollouts are paused.'),
      progressDeadlineSeconds: int('Seconds before a stalled rollout is reported as failed.'),
    },
    required: ['selector', 'template'],
  },
  [`${APPS}DeploymentStrategy`]: {
    d: 'How a deployment replaces its pods.',
    props: {
      type: str('RollingUpdate or Recreate.'),
      rollingUpdate: free('maxSurge and maxUnavailable for RollingUpdate.'),
    },
  },
  [`${APPS}DeploymentStatus`]: {
    d: 'The observed deployment.',
    props: {
      observedGeneration: int('The generation the status describes.', 'int64'),
      replicas: int('Pods targeted by the deployment.'),
      updatedReplicas: int('Pods of the current template.'),
      readyReplicas: int('Ready pods.'),
      availableReplicas: int('Pods ready for at least minReadySeconds.'),
      unavailableReplicas: int('Pods still needed for full availability.'),
      collisionCount: int('Hash collisions seen when naming replica sets.'),
      conditions: listOf(`${APPS}DeploymentCondition`, 'Available, Progressing, ReplicaFailure.', ['type']),
    },
  },
  [`${APPS}DeploymentCondition`]: {
    ...condition('deployment'),
    props: { ...condition('deployment').props, lastUpdateTime: time('When the condition was last updated.') },
  },
};

/** Reverse-domain definition name of a custom resource, as the apiserver names CRD schemas. */
function customName(group: string, version: string, kind: string): string {
  return `${group.split('.').reverse().join('.')}.${version}.${kind}`;
}

const CUSTOM_NOTES: Readonly<Record<string, string>> = {
  ConnectedCluster: "The Arc agents' view of the connected cluster (clustermetadata): derived and read-only.",
  GitRepository: 'A Flux source: a Git repository the source controller fetches at an interval.',
  Kustomization: 'A Flux kustomization: a path of a source applied to the cluster at an interval.',
  ExtensionConfig: "The extension manager's record of one cluster extension's desired configuration.",
};

function customKinds(): Definitions {
  const out: Record<string, Definition> = {};
  for (const r of KUBE_RESOURCES) {
    if (r.group === '' || r.group === 'apps') continue;
    out[customName(r.group, r.version, r.kind)] = specStatusKind(
      { group: r.group, version: r.version, kind: r.kind },
      CUSTOM_NOTES[r.kind] ?? `A ${r.kind} custom resource.`,
      free('The desired state, as the owning controller defines it.'),
      free('The observed state the controller reports.'),
    );
  }
  return out;
}

/** Every definition the apiserver's OpenAPI documents carry. */
export const DEFINITIONS: Definitions = {
  ...META_DEFINITIONS,
  ...POD_DEFINITIONS,
  ...CORE_KINDS,
  ...APPS_KINDS,
  ...customKinds(),
};

/** Kinds whose PATCH takes a strategic merge patch (built-in kinds; custom resources do not). */
export function takesStrategicMerge(group: string): boolean {
  return group === '' || group === 'apps';
}
