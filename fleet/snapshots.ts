/**
 * Node-pool snapshots (the seed document on AKS node pool snapshots): a snapshot captures a pool's node
 * image version, Kubernetes version, OS type and SKU and VM size; new pools and clusters are created
 * from it (same VM family, same region) and upgrading a pool to it sets exactly that image. The rules
 * are pure functions over ClusterState; the snapshots themselves are files of the fleet
 * (`<dataDir>/snapshots/<name>.json`, the shape of `Microsoft.ContainerService/snapshots`). A changed
 * cluster reaches the hub the usual way: resource-sync-agent reports the new metadata.
 */
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ArcError,
  ERROR_CODES,
  nodePoolSnapshotSchema,
  resourceId,
  type ClusterState,
  type NodePool,
  type NodePoolSnapshot,
} from '../contract/index.js';
import { writeJsonAtomically } from '../platform/atomic-file.js';
import { DEFAULT_AGENT_VERSION, coresOfVmSize } from './generator.js';

const SNAPSHOT_TYPE = 'Microsoft.ContainerService/snapshots';
/** AKS: a node pool may be up to three minor versions behind its control plane, never ahead. */
const MAX_MINORS_BEHIND = 3;

function invalid(target: string, message: string): ArcError {
  return new ArcError(ERROR_CODES.InvalidParameter, message, { status: 400, target });
}

function bare(version: string): string {
  return version.replace(/^v/, '');
}

/** [major, minor] of a Kubernetes version. */
function minorOf(version: string): [number, number] {
  const [major = 0, minor = 0] = bare(version).split('.').map(Number);
  return [major, minor];
}

/**
 * A VM size's family, which a snapshot's pools must keep: Azure `Standard_D4s_v5` → `Ds_v5`, AWS
 * `m6i.2xlarge` → `m6i`, GCP `n2-standard-8` → `n2-standard`, anything else without its numbers.
 */
export function vmFamilyOf(vmSize: string): string {
  const azure = /^Standard_([A-Z]+)\d+(?:-\d+)?([a-z]*)(_v\d+)?$/i.exec(vmSize);
  if (azure) return `${azure[1] ?? ''}${azure[2] ?? ''}${azure[3] ?? ''}`;
  const aws = /^([a-z]+\d+[a-z]*)\./.exec(vmSize);
  if (aws) return aws[1] ?? vmSize;
  const gcp = /^([a-z0-9]+-[a-z]+)-\d+$/.exec(vmSize);
  if (gcp) return gcp[1] ?? vmSize;
  return vmSize.replace(/\d+/g, '');
}

export function snapshotId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${SNAPSHOT_TYPE}/${name}`;
}

function poolOf(state: ClusterState, pool: string): NodePool {
  const found = state.nodePools.find((p) => p.name === pool);
  if (!found)
    throw new ArcError(
      ERROR_CODES.NotFound,
      `cluster ${state.name} has no node pool "${pool}" (pools: ${state.nodePools.map((p) => p.name).join(', ')})`,
      { status: 404, target: '--pool' },
    );
  return found;
}

export function takeSnapshot(
  state: ClusterState,
  pool: string,
  name: string,
  at: { nowIso: string; by: string },
): NodePoolSnapshot {
  const p = poolOf(state, pool);
  return nodePoolSnapshotSchema.parse({
    id: snapshotId(state.subscriptionId, state.resourceGroup, name),
    name,
    type: SNAPSHOT_TYPE,
    location: state.location,
    systemData: { createdAt: at.nowIso, createdBy: at.by },
    properties: {
      creationData: { sourceResourceId: `${resourceId(state)}/agentPools/${p.name}` },
      snapshotType: 'NodePool',
      kubernetesVersion: bare(p.kubernetesVersion ?? state.kubernetesVersion),
      nodeImageVersion: p.nodeImageVersion,
      osType: p.osType,
      osSku: p.osSku,
      vmSize: p.vmSize,
      enableFIPS: false,
    },
  });
}

/** Same region, and a Kubernetes version the cluster's control plane can run nodes of. */
function checkFits(state: ClusterState, snap: NodePoolSnapshot): void {
  if (snap.location !== state.location)
    throw invalid(
      '--snapshot',
      `snapshot ${snap.name} is in ${snap.location}; cluster ${state.name} is in ${state.location}: a snapshot is used in its own region`,
    );
  const [cMajor, cMinor] = minorOf(state.kubernetesVersion);
  const [sMajor, sMinor] = minorOf(snap.properties.kubernetesVersion);
  const behind = (cMajor - sMajor) * 100 + (cMinor - sMinor);
  if (behind < 0 || behind > MAX_MINORS_BEHIND)
    throw invalid(
      '--snapshot',
      `snapshot ${snap.name} has Kubernetes ${snap.properties.kubernetesVersion}; cluster ${state.name}'s control plane runs ${bare(state.kubernetesVersion)}: node pools may be up to ${MAX_MINORS_BEHIND} minor versions older, never newer`,
    );
}

/** The pool fields a snapshot sets; the pool's own Kubernetes version only when it differs. */
function fromSnapshot(state: ClusterState, snap: NodePoolSnapshot): Partial<NodePool> {
  const version = snap.properties.kubernetesVersion;
  return {
    osType: snap.properties.osType,
    osSku: snap.properties.osSku,
    nodeImageVersion: snap.properties.nodeImageVersion,
    kubernetesVersion: version === bare(state.kubernetesVersion) ? undefined : version,
  };
}

function withoutUndefined(p: NodePool): NodePool {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as NodePool;
}

export function addPoolFromSnapshot(
  state: ClusterState,
  snap: NodePoolSnapshot,
  pool: { name: string; count: number; vmSize?: string },
): ClusterState {
  if (state.nodePools.some((p) => p.name === pool.name))
    throw new ArcError(ERROR_CODES.Conflict, `cluster ${state.name} already has a node pool "${pool.name}"`, {
      status: 409,
      target: '--pool',
    });
  checkFits(state, snap);
  const vmSize = pool.vmSize ?? snap.properties.vmSize;
  if (vmFamilyOf(vmSize) !== vmFamilyOf(snap.properties.vmSize))
    throw invalid(
      '--vm-size',
      `${vmSize} is not in the VM family of snapshot ${snap.name} (${snap.properties.vmSize}, family ${vmFamilyOf(snap.properties.vmSize)})`,
    );
  const next: NodePool = withoutUndefined({
    name: pool.name,
    vmSize,
    count: pool.count,
    coresPerNode: coresOfVmSize(vmSize),
    ...(fromSnapshot(state, snap) as Pick<NodePool, 'osType' | 'osSku' | 'nodeImageVersion'>),
  });
  return { ...state, nodePools: [...state.nodePools, next] };
}

export function upgradePoolToSnapshot(
  state: ClusterState,
  pool: string,
  snap: NodePoolSnapshot,
): ClusterState {
  const p = poolOf(state, pool);
  checkFits(state, snap);
  if (vmFamilyOf(p.vmSize) !== vmFamilyOf(snap.properties.vmSize))
    throw invalid(
      '--snapshot',
      `pool ${pool} runs ${p.vmSize} (family ${vmFamilyOf(p.vmSize)}); snapshot ${snap.name} was taken of ${snap.properties.vmSize} (family ${vmFamilyOf(snap.properties.vmSize)})`,
    );
  if (p.osType !== snap.properties.osType)
    throw invalid(
      '--snapshot',
      `pool ${pool} is ${p.osType}; snapshot ${snap.name} is ${snap.properties.osType}`,
    );
  const { kubernetesVersion: _old, ...rest } = p;
  const upgraded = withoutUndefined({ ...rest, ...fromSnapshot(state, snap) } as NodePool);
  return { ...state, nodePools: state.nodePools.map((x) => (x.name === pool ? upgraded : x)) };
}

/**
 * A new emulated cluster whose one pool (`nodepool1`, as AKS names it) comes from the snapshot, in its
 * region, at its Kubernetes version; distribution and infrastructure from `like` (the snapshot's source
 * cluster when it still exists).
 */
export function clusterFromSnapshot(
  snap: NodePoolSnapshot,
  target: { name: string; subscriptionId: string; resourceGroup: string; count: number; nowIso: string },
  like: ClusterState | undefined,
): ClusterState {
  const vmSize = snap.properties.vmSize;
  return {
    name: target.name,
    subscriptionId: target.subscriptionId,
    resourceGroup: target.resourceGroup,
    location: snap.location,
    distribution: like?.distribution ?? 'aks',
    distributionVersion: like?.distributionVersion ?? snap.properties.kubernetesVersion,
    infrastructure: like?.infrastructure ?? 'azure',
    kubernetesVersion: snap.properties.kubernetesVersion,
    agentVersion: like?.agentVersion ?? DEFAULT_AGENT_VERSION,
    autoUpdate: like?.autoUpdate ?? true,
    nodePools: [
      {
        name: 'nodepool1',
        vmSize,
        osType: snap.properties.osType,
        osSku: snap.properties.osSku,
        nodeImageVersion: snap.properties.nodeImageVersion,
        count: target.count,
        coresPerNode: coresOfVmSize(vmSize),
      },
    ],
    tags: { ...(like?.tags ?? {}), 'arcfleet-snapshot': snap.name },
    generation: 0,
    changedAt: target.nowIso,
    stoppedAgents: [],
    features: like?.features ?? { clusterConnect: true, azureRbac: false },
    faults: {},
  };
}

/** The fleet's snapshots, one JSON file each under `<dataDir>/snapshots/`. */
export class SnapshotStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'snapshots');
  }

  private path(name: string): string {
    return join(this.dir, `${name.toLowerCase()}.json`);
  }

  async save(snap: NodePoolSnapshot): Promise<void> {
    await writeJsonAtomically(this.path(snap.name), nodePoolSnapshotSchema.parse(snap));
  }

  async get(name: string): Promise<NodePoolSnapshot> {
    const text = await readFile(this.path(name), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        throw new ArcError(ERROR_CODES.NotFound, `no node-pool snapshot "${name}" (arcfleet snapshot list)`, {
          status: 404,
          target: '--snapshot',
        });
      throw err;
    });
    return nodePoolSnapshotSchema.parse(JSON.parse(text));
  }

  async list(): Promise<NodePoolSnapshot[]> {
    const files = await readdir(this.dir).catch(() => [] as string[]);
    const out: NodePoolSnapshot[] = [];
    for (const f of files.filter((x) => x.endsWith('.json')).sort())
      out.push(await this.get(f.slice(0, -'.json'.length)));
    return out;
  }

  async delete(name: string): Promise<boolean> {
    const path = this.path(name);
    const existed = await readFile(path).then(
      () => true,
      () => false,
    );
    await rm(path, { force: true });
    return existed;
  }
}
