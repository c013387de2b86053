/**
 * cluster-metadata-operator, per cluster: keeps the `clustermetadata` custom resource true to what the
 * cluster's apiserver says (cluster-metadata.ts). It syncs when it starts and whenever the cluster
 * changes: its state (node pools, Kubernetes or agent version), its identity certificate, or the
 * apiserver's stored objects (a Node added with kubectl). It never talks to Azure; resource-sync-agent
 * carries the metadata out.
 *
 * The agent host's change journal stands in for an informer's watch (one long-lived request per
 * cluster would cost a socket on both sides for every cluster); what the operator reads and writes
 * still goes through the apiserver's API. Changes are synced through a SyncLoop (a settle delay, one
 * sync at a time, backoff on failure), and the status is written only when it differs.
 */
import type {
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
  AgentContext,
} from '../../agent-runtime/agent-instance.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import type { AgentName } from '../../contract/index.js';
import { SyncLoop, logSyncFailures, type SyncLoopOptions } from '../../agent-runtime/sync-loop.js';
import type { Clock } from '../../platform/clock.js';
import { clusterMetadataObject, metadataStatus, upToDate } from './cluster-metadata.js';

export const AGENT = 'cluster-metadata-operator' as const satisfies AgentName;

/** Simulated ms a change waits before its sync: half a real second at time scale 60. */
export const DEFAULT_SETTLE_MS = 30_000;

/** What the operator needs of its cluster's apiserver (a KubeClient in the service, a fake in unit tests). */
export interface MetadataApi {
  nodes(): Promise<KubeObject[]>;
  /** `/version`'s gitVersion. */
  kubernetesVersion(): Promise<string>;
  current(): Promise<KubeObject | undefined>;
  /** Creates the resource, or replaces it at the given resourceVersion. */
  write(obj: KubeObject): Promise<void>;
}

/** The SyncLoop's options; `settleMs` defaults to DEFAULT_SETTLE_MS. */
export type MetadataOperatorOptions = Omit<SyncLoopOptions, 'onError'> & { readonly clock: Clock };

export function metadataOperatorFactory(
  opts: MetadataOperatorOptions,
  apiFor: (ctx: AgentContext) => MetadataApi,
): AgentFactory {
  return (ctx, snapshot) => new MetadataOperator(ctx, apiFor(ctx), opts, snapshot);
}

export class MetadataOperator implements AgentInstance {
  private readonly loop: SyncLoop;
  /** `/version` as last read; read again only after a state change (nothing else moves it). */
  private version: string | undefined;
  /** Syncs that wrote the resource (for tests and the log). */
  writes = 0;

  constructor(
    private readonly ctx: AgentContext,
    private readonly api: MetadataApi,
    opts: MetadataOperatorOptions,
    private snapshot: ClusterSnapshot,
  ) {
    this.loop = new SyncLoop(() => this.sync(), {
      ...opts,
      settleMs: opts.settleMs ?? DEFAULT_SETTLE_MS,
      onError: logSyncFailures(ctx.logger, 'metadata.sync_failed', 'could not sync clustermetadata'),
    });
    this.loop.request();
  }

  /** Syncs that failed (for tests and the log). */
  get failures(): number {
    return this.loop.failures;
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (changes.state) this.version = undefined;
    if (changes.state || changes.identity || changes.kube) this.loop.request();
  }

  /** Resolves once no sync runs (tests). */
  settled(): Promise<void> {
    return this.loop.settled();
  }

  close(): Promise<void> {
    return this.loop.close();
  }

  private async sync(): Promise<void> {
    const { state, identity } = this.snapshot;
    const [nodes, kubernetesVersion, current] = await Promise.all([
      this.api.nodes(),
      this.version ?? this.api.kubernetesVersion(),
      this.api.current(),
    ]);
    this.version = kubernetesVersion;
    const status = metadataStatus({ nodes, kubernetesVersion, agentVersion: state.agentVersion, identity });
    if (upToDate(current, status)) return;
    await this.api.write(clusterMetadataObject(status, current?.metadata.resourceVersion));
    this.writes++;
    this.ctx.logger.debug({ event: 'metadata.written', ...status }, 'clustermetadata updated');
  }
}
