/**
 * Why this file: the Node objects of a cluster, one per node of each node pool of cluster.json, with
 * AKS-like names, labels, capacity and nodeInfo. Split out of derived.ts; the Arc agents' pods are
 * scheduled onto these names (nodeName, in the contract: controller-manager schedules them there).
 */
import { nodeName, type NodePool } from '../../contract/index.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { finish, hash, kubeletVersion, uidOf, type DerivedInput } from './derived-meta.js';
import { kubeTime } from './object-store.js';

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

export function nodes(input: DerivedInput): KubeObject[] {
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
              kubeletVersion: kubeletVersion(pool.kubernetesVersion ?? state.kubernetesVersion),
              kubeProxyVersion: kubeletVersion(pool.kubernetesVersion ?? state.kubernetesVersion),
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
