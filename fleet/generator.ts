/**
 * Deterministic generator of a realistic fleet: the same seed always yields the same clusters.
 * Distribution, infrastructure, versions and node pools are drawn as consistent combinations
 * (an EKS cluster runs on AWS with EC2 instance types, a GKE cluster on GCP, ...).
 */
import type { ClusterState, NodePool } from '../contract/index.js';
import { builtinLatestAgentVersion } from '../platform/agent-release-catalog.js';

export const DEFAULT_SUBSCRIPTION_ID = '7f2c5a1e-3b4d-4e6f-8a9b-0c1d2e3f4a5b';
export const DEFAULT_RESOURCE_GROUP = 'arcfleet-rg';
/** The newest agent release of the built-in catalogue (platform/agent-releases.yaml). */
export const DEFAULT_AGENT_VERSION = builtinLatestAgentVersion();
/** ARM allows 800 connectedClusters per resource group; larger generated fleets are spread over `<rg>-1`, `<rg>-2`, ... */
export const ARM_CLUSTERS_PER_RESOURCE_GROUP = 800;
export const GENERATED_CLUSTERS_PER_RESOURCE_GROUP = 500;

export interface GenerateFleetOptions {
  readonly count: number;
  readonly seed?: number | string;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  /** ISO time recorded as `changedAt` (simulated time of creation). */
  readonly nowIso?: string;
  /** First cluster number in names (`arc-<location>-<nnnn>`); default 1. */
  readonly startIndex?: number;
}

/** mulberry32: tiny, fast, good enough for test data. */
export function createRng(seed: number | string): () => number {
  let a = typeof seed === 'number' ? seed >>> 0 : hashSeed(seed);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

type Rng = () => number;

function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new RangeError('pick from an empty list');
  return item;
}

function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let r = rng() * total;
  for (const [item, w] of items) {
    r -= w;
    if (r < 0) return item;
  }
  const last = items[items.length - 1];
  if (!last) throw new RangeError('weighted pick from an empty list');
  return last[0];
}

function int(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

export const LOCATIONS = [
  'eastus',
  'eastus2',
  'westus2',
  'westus3',
  'centralus',
  'canadacentral',
  'northeurope',
  'westeurope',
  'uksouth',
  'francecentral',
  'germanywestcentral',
  'swedencentral',
  'southeastasia',
  'japaneast',
  'australiaeast',
] as const;

/** Kubernetes minor → released patch numbers. */
const KUBERNETES_PATCHES: Record<string, readonly number[]> = {
  '1.29': [2, 4, 7, 9, 10],
  '1.30': [3, 4, 5, 6],
  '1.31': [1, 2],
};

interface VmSize {
  readonly name: string;
  readonly cores: number;
}

interface Profile {
  readonly infrastructures: readonly (readonly [string, number])[];
  readonly linuxSkus: readonly string[];
  readonly windows: boolean;
  distributionVersion(rng: Rng, k8s: string): string;
}

const AZURE_VMS: readonly VmSize[] = [
  { name: 'Standard_D2s_v5', cores: 2 },
  { name: 'Standard_D4s_v5', cores: 4 },
  { name: 'Standard_D8s_v5', cores: 8 },
  { name: 'Standard_E16s_v5', cores: 16 },
  { name: 'Standard_F8s_v2', cores: 8 },
];
const AWS_VMS: readonly VmSize[] = [
  { name: 't3.large', cores: 2 },
  { name: 'm5.xlarge', cores: 4 },
  { name: 'm6i.2xlarge', cores: 8 },
  { name: 'c6i.4xlarge', cores: 16 },
];
const GCP_VMS: readonly VmSize[] = [
  { name: 'e2-standard-4', cores: 4 },
  { name: 'n2-standard-8', cores: 8 },
  { name: 'n2-highmem-16', cores: 16 },
];
const ONPREM_VMS: readonly VmSize[] = [
  { name: 'vm-4vcpu-16gb', cores: 4 },
  { name: 'vm-8vcpu-32gb', cores: 8 },
  { name: 'vm-16vcpu-64gb', cores: 16 },
  { name: 'baremetal-32c-256gb', cores: 32 },
];

const VMS_BY_INFRA: Record<string, readonly VmSize[]> = {
  azure: AZURE_VMS,
  aws: AWS_VMS,
  gcp: GCP_VMS,
  vsphere: ONPREM_VMS,
  generic: ONPREM_VMS,
};

/**
 * Cores per node of a VM size: the sizes the generator uses, else the number in an Azure name
 * (`Standard_D4s_v5` → 4), else 4.
 */
export function coresOfVmSize(vmSize: string): number {
  const known = Object.values(VMS_BY_INFRA)
    .flat()
    .find((v) => v.name === vmSize);
  if (known) return known.cores;
  const azure = /^Standard_[A-Z]+(\d+)/i.exec(vmSize);
  return azure ? Math.max(1, Number(azure[1])) : 4;
}

const OPENSHIFT_BY_MINOR: Record<string, string> = { '1.29': '4.16', '1.30': '4.17', '1.31': '4.18' };

export const PROFILES: Record<string, Profile> = {
  aks: {
    infrastructures: [['azure', 1]],
    linuxSkus: ['Ubuntu', 'AzureLinux'],
    windows: true,
    distributionVersion: (_rng, k8s) => k8s,
  },
  eks: {
    infrastructures: [['aws', 1]],
    linuxSkus: ['AmazonLinux2023', 'Bottlerocket', 'Ubuntu'],
    windows: true,
    distributionVersion: (rng) => `eks.${int(rng, 6, 18)}`,
  },
  gke: {
    infrastructures: [['gcp', 1]],
    linuxSkus: ['ContainerOptimizedOS', 'Ubuntu'],
    windows: false,
    distributionVersion: (rng, k8s) => `${k8s}-gke.${int(rng, 1000, 1999)}000`,
  },
  k3s: {
    infrastructures: [
      ['generic', 4],
      ['vsphere', 3],
      ['azure', 1],
      ['aws', 1],
    ],
    linuxSkus: ['Ubuntu', 'AzureLinux'],
    windows: false,
    distributionVersion: (_rng, k8s) => `v${k8s}+k3s1`,
  },
  rke2: {
    infrastructures: [
      ['vsphere', 4],
      ['generic', 3],
      ['aws', 1],
    ],
    linuxSkus: ['Ubuntu', 'AzureLinux'],
    windows: true,
    distributionVersion: (_rng, k8s) => `v${k8s}+rke2r1`,
  },
  openshift: {
    infrastructures: [
      ['vsphere', 4],
      ['azure', 2],
      ['aws', 2],
      ['generic', 1],
    ],
    linuxSkus: ['RHCOS'],
    windows: false,
    distributionVersion: (rng, k8s) =>
      `${OPENSHIFT_BY_MINOR[k8s.split('.').slice(0, 2).join('.')] ?? '4.17'}.${int(rng, 3, 30)}`,
  },
};

const DISTRIBUTION_WEIGHTS: readonly (readonly [string, number])[] = [
  ['aks', 5],
  ['k3s', 4],
  ['eks', 3],
  ['openshift', 2],
  ['rke2', 2],
  ['gke', 2],
];

function nodeImageVersion(rng: Rng, osSku: string, k8s: string, infrastructure: string): string {
  const month = `2024${String(int(rng, 7, 12)).padStart(2, '0')}`;
  switch (osSku) {
    case 'Ubuntu':
      if (infrastructure !== 'azure')
        return `ubuntu-22.04-k8s-${k8s.split('.').slice(0, 2).join('.')}-${month}${String(int(rng, 1, 28)).padStart(2, '0')}`;
      return `AKSUbuntu-2204gen2containerd-${month}.${int(rng, 1, 28)}.0`;
    case 'AzureLinux':
      return `AzureLinuxContainerHost-${month}.${String(int(rng, 1, 28)).padStart(2, '0')}.0`;
    case 'Windows2022':
      return `AKSWindows-2022-containerd-20348.${int(rng, 2600, 2800)}.${month.slice(2)}09`;
    case 'AmazonLinux2023':
      return `amazon-eks-node-al2023-x86_64-standard-${k8s.split('.').slice(0, 2).join('.')}-v${month}${int(rng, 10, 28)}`;
    case 'Bottlerocket':
      return `bottlerocket-aws-k8s-${k8s.split('.').slice(0, 2).join('.')}-x86_64-v1.${int(rng, 20, 28)}.0`;
    case 'ContainerOptimizedOS':
      return `cos-${int(rng, 109, 117)}-${int(rng, 17800, 18500)}-${int(rng, 100, 400)}-${int(rng, 10, 90)}`;
    case 'RHCOS':
      return `rhcos-${int(rng, 416, 418)}.94.${month}${int(rng, 10, 28)}-0`;
    default:
      return `${osSku.toLowerCase()}-${month}`;
  }
}

function generatePools(rng: Rng, profile: Profile, infrastructure: string, k8s: string): NodePool[] {
  const vms = VMS_BY_INFRA[infrastructure] ?? ONPREM_VMS;
  const poolCount = weighted(rng, [
    [1, 4],
    [2, 4],
    [3, 2],
  ]);
  const pools: NodePool[] = [];
  for (let i = 0; i < poolCount; i++) {
    const system = i === 0;
    const windows = !system && profile.windows && rng() < 0.2;
    const osSku = windows ? 'Windows2022' : pick(rng, profile.linuxSkus);
    const vm = system ? pick(rng, vms.slice(0, Math.min(3, vms.length))) : pick(rng, vms);
    pools.push({
      name: system ? 'system' : windows ? `win${i}` : `user${i}`,
      vmSize: vm.name,
      osType: windows ? 'Windows' : 'Linux',
      osSku,
      nodeImageVersion: nodeImageVersion(rng, osSku, k8s, infrastructure),
      count: system
        ? int(rng, 1, 5)
        : weighted(rng, [
            [int(rng, 1, 10), 6],
            [int(rng, 10, 50), 3],
            [int(rng, 50, 200), 1],
          ]),
      coresPerNode: vm.cores,
    });
  }
  return pools;
}

export function generateCluster(rng: Rng, index: number, opts: GenerateFleetOptions): ClusterState {
  const distribution = weighted(rng, DISTRIBUTION_WEIGHTS);
  const profile = PROFILES[distribution];
  if (!profile) throw new RangeError(`unknown distribution ${distribution}`);
  const infrastructure = weighted(rng, profile.infrastructures);
  const minor = weighted(rng, [
    ['1.29', 2],
    ['1.30', 4],
    ['1.31', 3],
  ]);
  const kubernetesVersion = `${minor}.${pick(rng, KUBERNETES_PATCHES[minor] ?? [0])}`;
  const location = pick(rng, LOCATIONS);
  const width = Math.max(4, String(opts.count + (opts.startIndex ?? 1) - 1).length);
  // Drawn in this order (the same seed gives the same fleet as before agent upgrades existed).
  const distributionVersion = profile.distributionVersion(rng, kubernetesVersion);
  // The latest and the two minors before it, all in the built-in catalogue: in support at start.
  const agentVersion = weighted(rng, [
    [DEFAULT_AGENT_VERSION, 8],
    ['1.20.2', 2],
    ['1.19.6', 1],
  ]);
  return {
    name: `arc-${location}-${String(index).padStart(width, '0')}`,
    subscriptionId: opts.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID,
    resourceGroup: resourceGroupFor(opts, index),
    location,
    distribution,
    distributionVersion,
    infrastructure,
    kubernetesVersion,
    agentVersion,
    // A cluster behind the latest release is one whose owner turned auto-upgrade off (the agents would
    // otherwise have upgraded within the hour): a fleet starts as it would be found, not mid-rollout.
    autoUpdate: agentVersion === DEFAULT_AGENT_VERSION,
    nodePools: generatePools(rng, profile, infrastructure, kubernetesVersion),
    tags: {
      environment: weighted(rng, [
        ['prod', 5],
        ['staging', 3],
        ['dev', 2],
      ]),
      team: pick(rng, ['platform', 'payments', 'retail', 'data', 'edge', 'ml']),
    },
    generation: 0,
    changedAt: opts.nowIso ?? new Date().toISOString(),
    stoppedAgents: [],
    features: { clusterConnect: true, azureRbac: false },
    faults: {},
  };
}

function resourceGroupFor(opts: GenerateFleetOptions, index: number): string {
  const rg = opts.resourceGroup ?? DEFAULT_RESOURCE_GROUP;
  if (opts.count <= ARM_CLUSTERS_PER_RESOURCE_GROUP) return rg;
  const start = opts.startIndex ?? 1;
  return `${rg}-${Math.floor((index - start) / GENERATED_CLUSTERS_PER_RESOURCE_GROUP) + 1}`;
}

/** `count` clusters from `seed` (default 1): same inputs, same fleet. */
export function generateFleet(opts: GenerateFleetOptions): ClusterState[] {
  if (!Number.isInteger(opts.count) || opts.count < 0)
    throw new RangeError('count must be a whole number ≥ 0');
  const rng = createRng(opts.seed ?? 1);
  const start = opts.startIndex ?? 1;
  const out: ClusterState[] = [];
  for (let i = 0; i < opts.count; i++) out.push(generateCluster(rng, start + i, opts));
  return out;
}
