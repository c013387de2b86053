/**
 * Change detection for the cluster store, pure except for `statCluster` and `clusterExists`. Comparing
 * `inode:mtime:size` tokens costs four `stat`s per cluster looked at (every cluster on a full scan,
 * the journal's otherwise), and a file is read only when its token changed (an atomic write always
 * changes the inode).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { agentDeployed, type AgentName, type ClusterState } from '../contract/index.js';
import { SECRET_IDENTITY, SECRET_ONBOARDING, type ClusterStore } from './cluster-store.js';

export const CLUSTER_FILES = ['state', 'onboarding', 'identity', 'kube'] as const;
export type ClusterFile = (typeof CLUSTER_FILES)[number];

/** Version token per file (`inode:mtime:size`), undefined when the file does not exist. */
export type FileVersions = Readonly<Record<ClusterFile, string | undefined>>;

export const NO_FILES: FileVersions = {
  state: undefined,
  onboarding: undefined,
  identity: undefined,
  kube: undefined,
};

export interface VersionDiff {
  /** Clusters seen now and not before. */
  readonly added: readonly string[];
  /** Clusters known before and gone now. */
  readonly removed: readonly string[];
  /** Per added or still-present cluster, the files whose version differs (for added: the present files). */
  readonly changed: ReadonlyMap<string, readonly ClusterFile[]>;
}

export function diffVersions(
  known: ReadonlyMap<string, FileVersions>,
  seen: ReadonlyMap<string, FileVersions>,
): VersionDiff {
  const added: string[] = [];
  const removed: string[] = [];
  const changed = new Map<string, ClusterFile[]>();
  for (const [name, now] of seen) {
    const before = known.get(name);
    if (!before) added.push(name);
    const files = CLUSTER_FILES.filter((f) => (before ? before[f] !== now[f] : now[f] !== undefined));
    if (files.length > 0) changed.set(name, files);
  }
  for (const name of known.keys()) if (!seen.has(name)) removed.push(name);
  return { added, removed, changed };
}

/** Whether this agent should run for a cluster in this state. */
export function agentWanted(state: ClusterState | undefined, agent: AgentName): boolean {
  if (state === undefined || state.stoppedAgents.includes(agent)) return false;
  return agentDeployed(state, agent);
}

/**
 * The version tokens of one cluster's files. Synchronous on purpose: the host stats clusters in
 * slices, far cheaper than thousands of thread-pool round trips.
 */
export function statCluster(store: ClusterStore, name: string): FileVersions {
  const dir = store.dir(name);
  return {
    state: fileVersion(join(dir, 'cluster.json')),
    onboarding: fileVersion(join(dir, 'secrets', `${SECRET_ONBOARDING}.json`)),
    identity: fileVersion(join(dir, 'secrets', `${SECRET_IDENTITY}.json`)),
    // The emulated apiserver's stored objects: never read by the host, only announced to the agent.
    kube: fileVersion(join(dir, 'kube', 'objects.json')),
  };
}

/** Whether the cluster's directory exists (what a full scan lists), for a cluster the journal names. */
export function clusterExists(store: ClusterStore, name: string): boolean {
  try {
    return statSync(store.dir(name), { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

function fileVersion(path: string): string | undefined {
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    return s ? `${s.ino}:${s.mtimeMs}:${s.size}` : undefined;
  } catch {
    return undefined;
  }
}
