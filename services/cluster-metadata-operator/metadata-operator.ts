/**
 * cluster-metadata-operator, per cluster: keeps the `clustermetadata` custom resource true to what the
 * cluster's apiserver says (cluster-metadata.ts). It syncs when it starts and whenever the cluster
 * changes: its state (node pools, Kubernetes or agent version), its identity certificate, or the
 * apiserver's stored objects (a Node added with kubectl). It never talks to Azure; resource-sync-agent
 * carries the metadata out.
 *
 * The agent host's change journal stands in for an informer's watch (one long-lived request per
 * cluster would cost a socket on both sides for every cluster); what the operator reads and writes
 * still goes through the apiserver's API. A change is synced after a short settle delay (a burst of
 * changes shares one sync); one sync runs at a time per cluster, and changes during a sync cause one
 * more. A failed sync is retried with backoff, and the status is written only when it differs.
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
import { backoffDelay } from '../../platform/backoff.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';
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

export interface MetadataOperatorOptions {
  readonly clock: Clock;
  /** Simulated ms: first retry delay ceiling after a failed sync (default 30 s). */
  readonly retryBaseMs?: number;
  /** Simulated ms: largest retry delay (default 5 min). */
  readonly retryCapMs?: number;
  readonly random?: () => number;
  /** Simulated ms from a change to the sync it causes (default 30 s); changes meanwhile share it. */
  readonly settleMs?: number;
  /** Runs a sync; the service bounds how many of its clusters sync at once. */
  readonly run?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export function metadataOperatorFactory(
  opts: MetadataOperatorOptions,
  apiFor: (ctx: AgentContext) => MetadataApi,
): AgentFactory {
  return (ctx, snapshot) => new MetadataOperator(ctx, apiFor(ctx), opts, snapshot);
}

export class MetadataOperator implements AgentInstance {
  private syncing: Promise<void> | undefined;
  private again = false;
  /** The next sync: after the settle delay (a change), or after a backoff (a failure). */
  private timer: { readonly handle: TimerHandle; readonly retry: boolean } | undefined;
  private attempt = 0;
  private closed = false;
  /** `/version` as last read; read again only after a state change (nothing else moves it). */
  private version: string | undefined;
  /** Syncs that wrote the resource, and syncs that failed (for tests and the log). */
  writes = 0;
  failures = 0;

  constructor(
    private readonly ctx: AgentContext,
    private readonly api: MetadataApi,
    private readonly opts: MetadataOperatorOptions,
    private snapshot: ClusterSnapshot,
  ) {
    this.request();
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (changes.state) this.version = undefined;
    if (changes.state || changes.identity || changes.kube) this.request();
  }

  /** Resolves once no sync runs (tests). */
  async settled(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.syncing;
  }

  /**
   * A change: sync after the settle delay, so that a burst (a cluster onboarding writes its state, its
   * secrets and this operator's own resource within moments) costs one sync, as a controller's work
   * queue would. A sync running already is followed by one more; a change ends a retry's wait.
   */
  private request(): void {
    if (this.closed) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    if (this.timer && !this.timer.retry) return;
    this.schedule(this.opts.settleMs ?? DEFAULT_SETTLE_MS, false);
  }

  private schedule(delayMs: number, retry: boolean): void {
    this.clearTimer();
    const handle = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, delayMs);
    this.timer = { handle, retry };
  }

  private clearTimer(): void {
    if (this.timer) this.opts.clock.clear(this.timer.handle);
    this.timer = undefined;
  }

  private start(): void {
    if (this.closed) return;
    const run = this.opts.run ?? ((fn) => fn());
    this.syncing = run(() => this.sync()).finally(() => {
      this.syncing = undefined;
      if (this.again) {
        this.again = false;
        this.request();
      }
    });
  }

  private async sync(): Promise<void> {
    if (this.closed) return;
    const { state, identity } = this.snapshot;
    try {
      const [nodes, kubernetesVersion, current] = await Promise.all([
        this.api.nodes(),
        this.version ?? this.api.kubernetesVersion(),
        this.api.current(),
      ]);
      this.version = kubernetesVersion;
      const status = metadataStatus({ nodes, kubernetesVersion, agentVersion: state.agentVersion, identity });
      this.attempt = 0;
      if (upToDate(current, status)) return;
      await this.api.write(clusterMetadataObject(status, current?.metadata.resourceVersion));
      this.writes++;
      this.ctx.logger.debug({ event: 'metadata.written', ...status }, 'clustermetadata updated');
    } catch (err) {
      this.failures++;
      if (this.closed) return;
      const delay = backoffDelay(this.attempt++, {
        baseMs: this.opts.retryBaseMs ?? 30_000,
        maxMs: this.opts.retryCapMs ?? 300_000,
        ...(this.opts.random ? { random: this.opts.random } : {}),
      });
      // The first failure of a streak at warn, the retries at debug: an apiserver that is down for long
      // must not fill the log with a line per cluster per retry.
      const level = this.attempt === 1 ? 'warn' : 'debug';
      this.ctx.logger[level](
        { event: 'metadata.sync_failed', err, retryInMs: delay, attempt: this.attempt },
        'could not sync clustermetadata',
      );
      if (!this.again) this.schedule(delay, true);
    }
  }
}
