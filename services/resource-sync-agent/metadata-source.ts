/**
 * Where resource-sync-agent reads the metadata it syncs to Azure. In the real split,
 * cluster-metadata-operator collects it into the `clustermetadata` custom resource and
 * resource-sync-agent syncs from that resource (`fromClusterMetadata`): a Node added with kubectl
 * flows resource → sync → hub. A fleet run without the cluster-side apiserver has no such resource;
 * there the agent reads the cluster state as the operator would (`fromClusterState`).
 *
 * The distribution, its version and the infrastructure are not in the resource: they are install-time
 * settings (the Helm values of `az connectedk8s connect`), kept in the cluster state.
 */
import type { ClusterChanges, ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { toIso } from '../../agent-runtime/timestamps.js';
import {
  clusterMetadataSchema,
  metadataOf,
  type ClusterMetadata,
  type ClusterState,
} from '../../contract/index.js';
import { backoffDelay } from '../../platform/backoff.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';

/** One metadata report to offer: newer generations replace older ones. */
export interface MetadataEntry {
  readonly generation: number;
  /** When the change was made (simulated ISO time). */
  readonly changedAt: string;
  readonly metadata: ClusterMetadata;
}

export interface MetadataSource {
  /** Whether a change of this kind can change what `read` returns. */
  affectedBy(changes: ClusterChanges): boolean;
  /** The metadata to report now; undefined when there is none yet. Throws when it cannot be read. */
  read(snapshot: ClusterSnapshot): Promise<MetadataEntry | undefined>;
}

/** Without an apiserver: the cluster state, versioned by its generation. */
export function fromClusterState(clock: Clock): MetadataSource {
  return {
    affectedBy: (changes) => changes.state,
    read: ({ state }) =>
      Promise.resolve({
        generation: state.generation,
        changedAt: toIso(state.changedAt, clock.now()),
        metadata: metadataOf(state),
      }),
  };
}

/** Reads the `clustermetadata` resource (undefined when there is none). */
export type ReadClusterMetadata = () => Promise<KubeObject | undefined>;

/**
 * From the `clustermetadata` resource. Its generation is the resource's resourceVersion plus the
 * state's generation: both only grow, so the sum grows with a change of either (the distribution
 * fields come from the state).
 */
export function fromClusterMetadata(readResource: ReadClusterMetadata, clock: Clock): MetadataSource {
  return {
    affectedBy: (changes) => changes.kube || changes.state,
    read: async ({ state }) => {
      const resource = await readResource();
      if (!resource) return undefined;
      const metadata = metadataOfResource(resource, state);
      const rv = Number(resource.metadata.resourceVersion);
      if (!metadata || !Number.isSafeInteger(rv) || rv < 0)
        throw new Error('clustermetadata has no valid status or resourceVersion');
      return {
        generation: rv + state.generation,
        changedAt: new Date(clock.now()).toISOString(),
        metadata,
      };
    },
  };
}

/** The report's metadata from the resource's status; undefined when the status is not what the operator writes. */
export function metadataOfResource(resource: KubeObject, state: ClusterState): ClusterMetadata | undefined {
  const status = (resource['status'] ?? {}) as Record<string, unknown>;
  const apiserverVersion = status['kubernetesAPIServerVersion'];
  const parsed = clusterMetadataSchema.safeParse({
    // The apiserver says `v1.30.4`; the resource's kubernetesVersion reads `1.30.4`.
    kubernetesVersion: typeof apiserverVersion === 'string' ? apiserverVersion.replace(/^v/, '') : undefined,
    totalNodeCount: status['nodeCount'],
    totalCoreCount: status['coreCount'],
    agentVersion: status['arcAgentVersion'],
    distribution: state.distribution,
    distributionVersion: state.distributionVersion,
    infrastructure: state.infrastructure,
  });
  return parsed.success ? parsed.data : undefined;
}

export interface MetadataReaderOptions {
  readonly clock: Clock;
  /** Simulated ms: first retry delay ceiling after a failed read (default 30 s); doubles to 5 min. */
  readonly retryBaseMs?: number;
  readonly random?: () => number;
}

/**
 * Reads a source one read at a time (a refresh during a read causes exactly one more, with the latest
 * snapshot), hands each entry on, and retries a failed read with backoff until one succeeds or the
 * next refresh comes.
 */
export class MetadataReader {
  private reading: Promise<void> | undefined;
  private again = false;
  private snapshot: ClusterSnapshot | undefined;
  private retryTimer: TimerHandle | undefined;
  private attempt = 0;
  private closed = false;

  constructor(
    private readonly source: MetadataSource,
    private readonly opts: MetadataReaderOptions,
    private readonly onEntry: (entry: MetadataEntry) => void,
    private readonly onError: (err: unknown, attempt: number, retryInMs: number) => void,
  ) {}

  affectedBy(changes: ClusterChanges): boolean {
    return this.source.affectedBy(changes);
  }

  refresh(snapshot: ClusterSnapshot): void {
    this.snapshot = snapshot;
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    if (this.retryTimer) this.opts.clock.clear(this.retryTimer);
    this.retryTimer = undefined;
    this.reading = this.read(snapshot).finally(() => {
      this.reading = undefined;
      if (this.again && this.snapshot) {
        this.again = false;
        this.refresh(this.snapshot);
      }
    });
  }

  /** Resolves once no read runs. */
  async settled(): Promise<void> {
    while (this.reading) await this.reading;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) this.opts.clock.clear(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async read(snapshot: ClusterSnapshot): Promise<void> {
    try {
      const entry = await this.source.read(snapshot);
      this.attempt = 0;
      if (entry && !this.closed) this.onEntry(entry);
    } catch (err) {
      if (this.closed) return;
      const delay = backoffDelay(this.attempt++, {
        baseMs: this.opts.retryBaseMs ?? 30_000,
        maxMs: 300_000,
        ...(this.opts.random ? { random: this.opts.random } : {}),
      });
      this.onError(err, this.attempt, delay);
      this.retryTimer = this.opts.clock.setTimeout(() => {
        this.retryTimer = undefined;
        if (this.snapshot) this.refresh(this.snapshot);
      }, delay);
    }
  }
}
