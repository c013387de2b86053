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
import { SyncLoop } from '../../agent-runtime/sync-loop.js';
import type { Clock } from '../../platform/clock.js';

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
 * next refresh comes (agent-runtime/sync-loop.ts).
 */
export class MetadataReader {
  private snapshot: ClusterSnapshot | undefined;
  private readonly loop: SyncLoop;
  private closed = false;

  constructor(
    private readonly source: MetadataSource,
    opts: MetadataReaderOptions,
    private readonly onEntry: (entry: MetadataEntry) => void,
    onError: (err: unknown, attempt: number, retryInMs: number) => void,
  ) {
    this.loop = new SyncLoop(() => this.read(), {
      clock: opts.clock,
      retryBaseMs: opts.retryBaseMs ?? 30_000,
      ...(opts.random ? { random: opts.random } : {}),
      onError,
    });
  }

  affectedBy(changes: ClusterChanges): boolean {
    return this.source.affectedBy(changes);
  }

  refresh(snapshot: ClusterSnapshot): void {
    this.snapshot = snapshot;
    this.loop.request();
  }

  /** Resolves once no read runs. */
  settled(): Promise<void> {
    return this.loop.settled();
  }

  close(): void {
    this.closed = true;
    void this.loop.close();
  }

  private async read(): Promise<void> {
    if (!this.snapshot) return;
    const entry = await this.source.read(this.snapshot);
    if (entry && !this.closed) this.onEntry(entry);
  }
}
