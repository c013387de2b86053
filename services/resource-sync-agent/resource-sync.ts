/**
 * resource-sync-agent, per cluster: once a Valid identity secret exists, connects, reports the
 * cluster metadata (request; latest generation wins, retried until acked) and heartbeats (publish)
 * every heartbeat interval. Stops on a definitive identity refusal or a `disconnect` control, and
 * resumes when a new certificate appears. The identity life cycle (when to connect, renewals,
 * disconnect, halting) is the shared `LinkedAgent`; this module is what happens while the link is up:
 * the heartbeats here, the metadata report in metadata-report.ts, the first sync's trace in first-sync.ts.
 */
import type {
  AgentContext,
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
} from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import {
  LinkedAgent,
  type CertificateChange,
  type LinkedAgentLog,
  type LinkedAgentStatus,
} from '../../agent-runtime/linked-agent.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';
import { type IdentitySecret, type Heartbeat, PROTOCOL_VERSION } from '../../contract/index.js';
import type { ArcTimings } from '../../platform/settings.js';
import { AGENT } from './agent.js';
import { ConnectivityRecord } from './connectivity-record.js';
import { FirstSync } from './first-sync.js';
import { MetadataReporter } from './metadata-report.js';
import { MetadataReader, fromClusterState, type MetadataSource } from './metadata-source.js';

export { AGENT } from './agent.js';

/** The life-cycle log events this agent has always written (the integration tests wait for them). */
const SYNC_LOG: Partial<LinkedAgentLog> = {
  linkUp: ['sync.connected', 'connected; syncing'],
  connectFailed: ['sync.connect_failed', 'could not connect'],
  disconnect: ['sync.disconnect', 'disconnect: stopping'],
  closeFailed: ['sync.link_close_failed', 'link close failed'],
  identityUnreadable: ['sync.identity_unreadable', 'identity secret unreadable'],
};

export interface ResourceSyncOptions {
  readonly clock: Clock;
  readonly timings: Pick<ArcTimings, 'heartbeatIntervalMs'>;
  /** Real ms: first retry delay ceiling for a metadata report (default 500). */
  readonly retryBaseMs?: number;
  /** Real ms: largest retry delay (default 10 000). */
  readonly retryCapMs?: number;
  readonly random?: () => number;
  /** Where the metadata comes from (default: the cluster state, for a fleet without an apiserver). */
  readonly metadataSource?: (ctx: AgentContext) => MetadataSource;
}

export function resourceSyncFactory(opts: ResourceSyncOptions): AgentFactory {
  return (ctx, snapshot) => new ResourceSyncAgent(ctx, opts, snapshot);
}

export class ResourceSyncAgent implements AgentInstance {
  private readonly linked: LinkedAgent;
  private snapshot: ClusterSnapshot;
  /** The link while syncing (up, and this certificate's first-sync question settled). */
  private link: AgentLink | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  /** Certificate in use (or last used, when halted or disconnected). */
  private certificate: string | undefined;
  private readonly endings = new Set<Promise<void>>();
  private readonly firstSync: FirstSync;
  private readonly reporter: MetadataReporter;
  private readonly metadata: MetadataReader;
  private readonly connectivity: ConnectivityRecord;

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: ResourceSyncOptions,
    snapshot: ClusterSnapshot,
  ) {
    this.snapshot = snapshot;
    this.connectivity = new ConnectivityRecord(
      ctx,
      opts.clock,
      opts.timings.heartbeatIntervalMs,
      this.endings,
    );
    this.firstSync = new FirstSync({
      ctx,
      endings: this.endings,
      certificate: () => this.certificate,
      status: () => this.linked.currentStatus,
    });
    this.reporter = new MetadataReporter({
      opts,
      get log() {
        return ctx.logger;
      },
      firstSync: this.firstSync,
      link: () => this.link,
      expiredLocally: () => this.expiredLocally(),
      halt: (reason) => this.linked.halt(reason),
    });
    this.metadata = new MetadataReader(
      (opts.metadataSource ?? (() => fromClusterState(opts.clock)))(ctx),
      { clock: opts.clock, ...(opts.random ? { random: opts.random } : {}) },
      (entry) => {
        this.reporter.offer(entry);
        void this.reporter.flush();
      },
      (err, attempt, retryInMs) =>
        // The first failure of a streak at warn: an apiserver down for long must not flood the log.
        this.ctx.logger[attempt === 1 ? 'warn' : 'debug'](
          { event: 'sync.metadata_unreadable', err, attempt, retryInMs },
          'could not read the cluster metadata; will retry',
        ),
    );
    // The first read comes with the first certificate (onCertificate): nothing can be sent before.
    this.linked = new LinkedAgent(
      ctx,
      snapshot,
      {
        onCertificate: (s, change) => this.onCertificate(s, change),
        onLinkUp: (link) => this.onLinkUp(link),
        onStop: (next) => this.onStop(next),
        onLinkDown: () => this.onLinkDown(),
        onSnapshot: (s, changes) => this.onSnapshot(s, changes),
        outboxDepth: () => this.reporter.depth,
        settle: async () => {
          this.metadata.close();
          await this.metadata.settled();
          await Promise.all([...this.endings]);
        },
      },
      { log: SYNC_LOG },
    );
  }

  get currentStatus(): LinkedAgentStatus {
    return this.linked.currentStatus;
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.linked.update(snapshot, changes);
  }

  /** 1 while a metadata report waits to be sent or acknowledged. */
  outboxDepth(): number {
    return this.linked.outboxDepth();
  }

  close(): Promise<void> {
    return this.linked.close();
  }

  private get log(): AgentContext['logger'] {
    return this.ctx.logger;
  }

  private onSnapshot(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (this.metadata.affectedBy(changes)) this.metadata.refresh(snapshot);
  }

  /** A new certificate: a new key means a new onboarding, whose hub may not have our metadata. */
  private onCertificate(snapshot: ClusterSnapshot, change: CertificateChange): void {
    this.snapshot = snapshot;
    const identity = snapshot.identity as IdentitySecret;
    this.certificate = identity.certificate;
    if (!change.starting)
      this.log.info(
        { event: 'sync.identity_updated', newKey: change.newKey },
        'using the new identity certificate',
      );
    if (change.starting || change.newKey) {
      // Offered again once read (the hub may not have it), even if nothing changed since the last ack.
      this.reporter.resetAcks();
      this.metadata.refresh(this.snapshot);
      this.firstSync.begin(identity);
    }
  }

  private onLinkUp(link: AgentLink): void {
    // A restarted agent must know whether this certificate's first sync is done before it sends.
    void this.firstSync.decided.then(() => {
      if (this.linked.link !== link) return;
      this.link = link;
      this.connectivity.up();
      this.sendHeartbeat();
      this.heartbeatTimer = this.opts.clock.setInterval(
        () => this.sendHeartbeat(),
        this.opts.timings.heartbeatIntervalMs,
      );
      void this.reporter.flush();
    });
  }

  private onStop(next: LinkedAgentStatus): void {
    this.firstSync.end(next);
    if (next !== 'waiting') return;
    // The life cycle's snapshot: this.snapshot catches up only after the identity was evaluated.
    const expired = this.linked.cluster.identity?.state === 'Expired';
    if (expired) this.log.error({ event: 'sync.identity_expired' }, 'identity certificate expired; stopped');
    const reason = expired ? 'identity expired' : 'no valid identity';
    this.log.info({ event: 'sync.stopped', reason }, 'stopped: waiting for a valid identity');
  }

  private onLinkDown(): void {
    this.link = undefined;
    this.connectivity.down();
    if (this.heartbeatTimer) this.opts.clock.clear(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.reporter.stop();
  }

  /** A certificate past its expiry is never accepted again: stop instead of being refused forever. */
  private expiredLocally(): boolean {
    const notAfterMs = this.linked.notAfterMs;
    if (this.opts.clock.now() < notAfterMs) return false;
    this.linked.halt('identity expired');
    this.log.error(
      { event: 'sync.identity_expired', notAfter: new Date(notAfterMs).toISOString() },
      'identity certificate expired; heartbeats stopped until a new certificate',
    );
    return true;
  }

  private sendHeartbeat(): void {
    if (!this.link || this.expiredLocally()) return;
    const message: Heartbeat = {
      v: PROTOCOL_VERSION,
      type: 'heartbeat',
      agent: AGENT,
      agentVersion: this.snapshot.state.agentVersion,
      sentAt: new Date(this.opts.clock.now()).toISOString(),
    };
    this.link.publish('heartbeat', message, this.firstSync.ctx);
    this.connectivity.heartbeat();
  }
}
