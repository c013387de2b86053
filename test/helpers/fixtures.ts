/**
 * The one fixture factory: a valid emulated cluster (what `cluster.json` holds) with sensible
 * defaults, and a node pool; a test states only what it cares about.
 */
import type { ClusterState } from '../../contract/index.js';

export type NodePool = ClusterState['nodePools'][number];

export function nodePool(over: Partial<NodePool> = {}): NodePool {
  return {
    name: 'pool1',
    vmSize: 'Standard_D4s_v5',
    osType: 'Linux',
    osSku: 'Ubuntu',
    nodeImageVersion: 'AKSUbuntu-2204gen2-202409.1',
    count: 3,
    coresPerNode: 4,
    ...over,
  };
}

export function clusterState(name: string, over: Partial<ClusterState> = {}): ClusterState {
  return {
    name,
    subscriptionId: '5b7e0c2a-1d3f-4e8a-9b6c-2f4a8d1e3c70',
    resourceGroup: 'rg',
    location: 'westeurope',
    distribution: 'aks',
    distributionVersion: '',
    infrastructure: 'azure',
    kubernetesVersion: '1.30.4',
    agentVersion: '1.21.10',
    autoUpdate: true,
    nodePools: [nodePool()],
    tags: {},
    generation: 0,
    changedAt: '2026-01-01T00:00:00.000Z',
    stoppedAgents: [],
    features: { clusterConnect: true, azureRbac: false },
    faults: {},
    ...over,
  };
}
