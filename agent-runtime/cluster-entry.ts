/**
 * What the host remembers per cluster between polls: the last file versions and values read, the
 * instance, and the changes it has not been told about yet. Kept apart from the host's polling so
 * the read-what-changed rule has one home.
 */
import type { ClusterState, IdentitySecret, OnboardingSecret } from '../contract/index.js';
import type { Logger } from '../platform/log.js';
import type { AgentInstance, ClusterChanges } from './agent-instance.js';
import type { ClusterStore } from './cluster-store.js';
import { NO_FILES, type ClusterFile, type FileVersions } from './cluster-versions.js';

type Pending = { -readonly [K in keyof ClusterChanges]: boolean };

export interface Entry {
  versions: FileVersions;
  state: ClusterState | undefined;
  onboarding: OnboardingSecret | undefined;
  identity: IdentitySecret | undefined;
  instance: AgentInstance | undefined;
  /** The agent version the instance was started at (its pod's image tag). */
  runningVersion?: string | undefined;
  closing: Promise<void> | undefined;
  /** Versions at which the factory last threw, and when to try again anyway. */
  failedStart?: { key: string; retryAtMs: number } | undefined;
  /** Files changed since the instance last heard, accumulated while it could not be told. */
  pending: Pending;
}

export function nothingPending(): Pending {
  return { state: false, onboarding: false, identity: false, kube: false };
}

export function newEntry(): Entry {
  return {
    versions: NO_FILES,
    state: undefined,
    onboarding: undefined,
    identity: undefined,
    instance: undefined,
    closing: undefined,
    pending: nothingPending(),
  };
}

/**
 * Reads the changed files into the entry. A file that does not read keeps its last good value (a
 * half-edited file must not stop a running agent); the caller records the version anyway, so a
 * broken file is reported once, not on every poll.
 */
export async function readChanged(
  store: ClusterStore,
  logger: Logger,
  name: string,
  e: Entry,
  versions: FileVersions,
  files: readonly ClusterFile[],
): Promise<void> {
  for (const file of files) {
    if (file === 'kube') {
      // The apiserver's objects are the agent's to read (through the API); the host only says so.
      e.pending.kube = true;
      continue;
    }
    try {
      if (file === 'state') e.state = versions.state === undefined ? undefined : await store.readState(name);
      else if (file === 'onboarding')
        e.onboarding = versions.onboarding === undefined ? undefined : await store.readOnboarding(name);
      else e.identity = versions.identity === undefined ? undefined : await store.readIdentity(name);
      if (file !== 'state') e.pending[file] = true;
    } catch (err) {
      logger.warn(
        { event: 'host.read_failed', cluster: name, file, err },
        'could not read a cluster store file',
      );
    }
  }
}
