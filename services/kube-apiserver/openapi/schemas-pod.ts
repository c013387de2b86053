/**
 * Why this file: the pod definitions (Pod, its spec, containers, volumes, status), shared by Pod and
 * by Deployment's pod template. Data in schema-kit.ts's vocabulary. Sub-structures the emulator never
 * looks into (probes, security contexts, affinity, volume sources) are free-form: accepted and kept.
 */
import {
  CORE,
  META,
  bool,
  condition,
  free,
  freeFields,
  int,
  specStatusKind,
  listOf,
  quantities,
  retainingKeys,
  ref,
  str,
  strList,
  strMap,
  time,
  type Definitions,
} from './schema-kit.js';

const container = (what: string) => ({
  d: `A ${what} of the pod: an image to run with its command, environment, ports and mounts.`,
  props: {
    name: str("The container's name, unique in the pod (DNS label)."),
    image: str('The image to run.'),
    imagePullPolicy: str('Always, IfNotPresent or Never.'),
    command: strList("The entrypoint, replacing the image's; not run in a shell."),
    args: strList('Arguments to the entrypoint.'),
    workingDir: str('The working directory of the command.'),
    ports: listOf(`${CORE}ContainerPort`, 'Ports the container exposes (informational).', [
      'containerPort',
      'protocol',
    ]),
    env: listOf(`${CORE}EnvVar`, 'Environment variables to set.', ['name']),
    envFrom: free('Sources (config maps, secrets) to fill the environment from.'),
    resources: ref(`${CORE}ResourceRequirements`, 'CPU and memory the container requests and is limited to.'),
    volumeMounts: listOf(`${CORE}VolumeMount`, 'Volumes of the pod mounted into this container.', [
      'mountPath',
    ]),
    livenessProbe: free('How the kubelet checks the container is alive.'),
    readinessProbe: free('How the kubelet checks the container is ready for traffic.'),
    startupProbe: free('How the kubelet checks the container has started.'),
    securityContext: free('Security options of the container.'),
    terminationMessagePath: str('Where the container writes its termination message.'),
    terminationMessagePolicy: str('File or FallbackToLogsOnError.'),
    lifecycle: free('Hooks run after the container starts and before it stops.'),
    resizePolicy: free('How the container is resized in place, per resource.'),
    restartPolicy: str('Always for a sidecar init container.'),
    stdin: bool('Whether the container has a stdin buffer.'),
    stdinOnce: bool('Whether stdin closes after the first attach.'),
    tty: bool('Whether the container gets a TTY.'),
    volumeDevices: free('Raw block devices the container uses.'),
  },
  required: ['name'],
});

export const POD_DEFINITIONS: Definitions = {
  [`${CORE}Pod`]: specStatusKind(
    { group: '', version: 'v1', kind: 'Pod' },
    "A group of containers scheduled together on one node. In the emulator, the Arc agents' pods are derived from the agents' reports and read-only.",
    ref(`${CORE}PodSpec`, 'The desired pod.'),
    ref(`${CORE}PodStatus`, 'The observed pod. Read-only.'),
  ),
  [`${CORE}PodTemplateSpec`]: {
    d: 'The pods a controller creates: their metadata and spec.',
    props: {
      metadata: ref(`${META}ObjectMeta`, 'Metadata of the created pods (labels must match the selector).'),
      spec: ref(`${CORE}PodSpec`, 'Spec of the created pods.'),
    },
  },
  [`${CORE}PodSpec`]: {
    d: 'What a pod runs and where.',
    props: {
      containers: listOf(`${CORE}Container`, 'The containers of the pod; at least one.', ['name']),
      initContainers: listOf(
        `${CORE}Container`,
        'Containers run to completion, in order, before the others start.',
        ['name'],
      ),
      volumes: retainingKeys(listOf(`${CORE}Volume`, 'Volumes the containers can mount.', ['name'])),
      nodeName: str('The node the pod is bound to.'),
      nodeSelector: strMap('Labels a node must have for the pod to be scheduled there.'),
      serviceAccountName: str('The service account the pod runs as.'),
      serviceAccount: str('Deprecated alias of serviceAccountName.'),
      automountServiceAccountToken: bool('Whether the service account token is mounted.'),
      restartPolicy: str('Always, OnFailure or Never.'),
      terminationGracePeriodSeconds: int('Seconds given to the pod to stop gracefully.', 'int64'),
      dnsPolicy: str('ClusterFirst, ClusterFirstWithHostNet, Default or None.'),
      hostNetwork: bool("Whether the pod uses the node's network namespace."),
      priorityClassName: str("The pod's priority class."),
      schedulerName: str('The scheduler that places the pod.'),
      securityContext: free('Security options for every container of the pod.'),
      affinity: free('Node and pod affinity rules.'),
      tolerations: listOf(`${CORE}Toleration`, 'Taints the pod tolerates.'),
      imagePullSecrets: listOf(`${CORE}LocalObjectReference`, 'Secrets used to pull the images.', ['name']),
      ...freeFields(
        'activeDeadlineSeconds dnsConfig enableServiceLinks ephemeralContainers hostAliases hostIPC hostPID hostUsers hostname os overhead preemptionPolicy priority readinessGates resourceClaims resources runtimeClassName schedulingGates setHostnameAsFQDN shareProcessNamespace subdomain topologySpreadConstraints',
      ),
    },
    required: ['containers'],
  },
  [`${CORE}Container`]: container('container'),
  [`${CORE}ContainerPort`]: {
    d: 'A network port of a container.',
    props: {
      name: str('An IANA service name for the port, unique in the pod.'),
      containerPort: int("The port number on the pod's IP."),
      protocol: str('TCP, UDP or SCTP; TCP by default.'),
      hostPort: int('The port number on the node, if exposed there.'),
      hostIP: str('The node address the host port binds to.'),
    },
    required: ['containerPort'],
  },
  [`${CORE}EnvVar`]: {
    d: 'One environment variable.',
    props: {
      name: str("The variable's name."),
      value: str('The value; $(VAR) references are expanded.'),
      valueFrom: free('Where to read the value from (a config map or secret key, a field, a resource).'),
    },
    required: ['name'],
  },
  [`${CORE}ResourceRequirements`]: {
    d: 'Compute resources a container requests and the limits it may not exceed.',
    props: {
      limits: quantities('The most the container may use, per resource (cpu, memory).'),
      requests: quantities('What the scheduler reserves for the container, per resource.'),
      claims: free('Dynamic resource claims the container uses.'),
    },
  },
  [`${CORE}VolumeMount`]: {
    d: 'A volume of the pod mounted into a container.',
    props: {
      name: str("The volume's name."),
      mountPath: str('Where in the container the volume appears.'),
      subPath: str('A path inside the volume to mount instead of its root.'),
      readOnly: bool('Whether the mount is read-only.'),
      ...freeFields('mountPropagation recursiveReadOnly subPathExpr'),
    },
    required: ['name', 'mountPath'],
  },
  [`${CORE}Volume`]: {
    d: 'A named volume of the pod and its source; exactly one source is set.',
    props: {
      name: str("The volume's name, unique in the pod."),
      configMap: free("A config map's keys as files."),
      secret: free("A secret's keys as files."),
      emptyDir: free('An empty directory that lives as long as the pod.'),
      hostPath: free('A path on the node.'),
      persistentVolumeClaim: free('A persistent volume claim.'),
      projected: free('Several sources projected into one directory.'),
      downwardAPI: free('Fields of the pod as files.'),
      ...freeFields(
        'awsElasticBlockStore azureDisk azureFile cephfs cinder csi ephemeral fc flexVolume flocker gcePersistentDisk gitRepo glusterfs image iscsi nfs photonPersistentDisk portworxVolume quobyte rbd scaleIO storageos vsphereVolume',
      ),
    },
    required: ['name'],
  },
  [`${CORE}Toleration`]: {
    d: 'A taint the pod tolerates.',
    props: {
      key: str('The taint key; empty matches every key with operator Exists.'),
      operator: str('Exists or Equal.'),
      value: str('The taint value for Equal.'),
      effect: str('NoSchedule, PreferNoSchedule or NoExecute; empty matches all.'),
      tolerationSeconds: int('How long a NoExecute taint is tolerated.', 'int64'),
    },
  },
  [`${CORE}LocalObjectReference`]: {
    d: 'Names an object in the same namespace.',
    props: { name: str("The object's name.") },
  },
  [`${CORE}PodStatus`]: {
    d: 'The observed state of a pod.',
    props: {
      phase: str('Pending, Running, Succeeded, Failed or Unknown.'),
      conditions: listOf(`${CORE}PodCondition`, 'PodScheduled, Initialized, ContainersReady and Ready.', [
        'type',
      ]),
      message: str('Why the pod is in this state.'),
      reason: str('A short CamelCase reason.'),
      hostIP: str("The node's address."),
      podIP: str("The pod's address."),
      podIPs: free("The pod's addresses, one per family."),
      startTime: time('When the kubelet accepted the pod.'),
      containerStatuses: listOf(`${CORE}ContainerStatus`, 'One per container.'),
      initContainerStatuses: listOf(`${CORE}ContainerStatus`, 'One per init container.'),
      qosClass: str('Guaranteed, Burstable or BestEffort.'),
      ...freeFields('ephemeralContainerStatuses hostIPs nominatedNodeName resize resourceClaimStatuses'),
    },
  },
  [`${CORE}PodCondition`]: {
    ...condition('pod'),
    props: { ...condition('pod').props, lastProbeTime: time('When the condition was last probed.') },
  },
  [`${CORE}ContainerStatus`]: {
    d: 'The observed state of one container.',
    props: {
      name: str("The container's name."),
      image: str('The image it runs.'),
      imageID: str("The image's digest."),
      containerID: str("The runtime's id of the container."),
      ready: bool('Whether its readiness probe passes.'),
      started: bool('Whether its startup probe passed.'),
      restartCount: int('How many times it was restarted.'),
      state: free('waiting, running or terminated, with details.'),
      lastState: free('The state it was in before the last restart.'),
      ...freeFields('allocatedResources allocatedResourcesStatus resources user volumeMounts'),
    },
    required: ['name', 'ready', 'restartCount', 'image', 'imageID'],
  },
};
