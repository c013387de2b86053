/**
 * The pull loop extension-manager and config-agent share: pull the cluster's desired configuration
 * (`config-pull`) when the link comes up, on every pull interval and on a `config-changed` nudge;
 * hand it to the agent's reconcile; report what changed (`config-status`) until the hub acknowledges
 * it. One reconcile runs at a time; a nudge during a run makes one more run afterwards.
 */
import type { AgentContext, AgentFactory, ClusterSnapshot } from './agent-instance.js';
import type { AgentLink } from './agent-link.js';
import type { Clock, TimerHandle } from '../platform/clock.js';
import {
  DESIRED_STATE_MAX_BYTES,
  type ExtensionStatus,
  type FluxConfigurationStatus,
  type SourceControlStatus,
  type ConfigStatus,
  type DesiredStateReply,
  PROTOCOL_VERSION,
  type AgentName,
  type ControlMessage,
} from '../contract/index.js';
import { LinkedAgent } from './linked-agent.js';

/**
 * Simulated ms between pulls (`ARCFLEET_CONFIG_PULL_INTERVAL`): undocumented in Arc; 10 min, Flux's default
 * sync interval. A safety net: the hub nudges the agents (`config-changed`) on every change.
 */
export const DEFAULT_CONFIG_PULL_INTERVAL_MS = 10 * 60_000;

export interface ReconcileResult {
  readonly extensions?: readonly ExtensionStatus[];
  readonly fluxConfigurations?: readonly FluxConfigurationStatus[];
  readonly sourceControlConfigurations?: readonly SourceControlStatus[];
}

/** What an agent does with the desired state; must not throw for one bad resource (report it). */
export interface Reconciler {
  reconcile(desired: DesiredStateReply, snapshot: ClusterSnapshot): Promise<ReconcileResult>;
}

export interface ConfigSyncOptions {
  readonly agent: Extract<AgentName, 'extension-manager' | 'config-agent' | 'guard'>;
  readonly clock: Clock;
  /** Simulated ms between pulls. */
  readonly pullIntervalMs: number;
  /** Real ms before a failed pull or report is tried again (default 1000). */
  readonly retryMs?: number;
}

/** More behaviour on the same link (config-agent's agent upgrades), told of the same events. */
export interface SyncCompanion {
  up(link: AgentLink): void;
  down(): void;
  setSnapshot(snapshot: ClusterSnapshot): void;
  onControl?(message: ControlMessage): void;
}

export function configSyncFactory(
  opts: ConfigSyncOptions,
  makeReconciler: (ctx: AgentContext) => Reconciler,
  makeCompanion?: (ctx: AgentContext, snapshot: ClusterSnapshot) => SyncCompanion,
): AgentFactory {
  return (ctx, snapshot) => {
    const sync = new ConfigSync(ctx, opts, makeReconciler(ctx), snapshot);
    const companion = makeCompanion?.(ctx, snapshot);
    return new LinkedAgent(
      ctx,
      snapshot,
      {
        onLinkUp: (link) => {
          sync.up(link);
          companion?.up(link);
        },
        onLinkDown: () => {
          sync.down();
          companion?.down();
        },
        onControl: (m) => {
          if (m.action === 'config-changed') sync.nudge();
          companion?.onControl?.(m);
        },
        onSnapshot: (s, changes) => {
          sync.setSnapshot(s);
          companion?.setSnapshot(s);
          // A changed cluster (e.g. an injected fault) may change the outcome: reconcile again.
          if (changes.state) sync.nudge();
        },
        outboxDepth: () => sync.unreported,
      },
      { maxReplyBytes: DESIRED_STATE_MAX_BYTES },
    );
  };
}

const TIME_FIELDS = new Set([
  'time',
  'lastTransitionTime',
  'statusUpdatedAt',
  'sourceUpdatedAt',
  'lastConfigApplied',
]);

type AnyStatus = ExtensionStatus | FluxConfigurationStatus | SourceControlStatus;

/**
 * Key of a status as last acknowledged by the hub: a report is sent only when it differs. Timestamps
 * do not count, or every pull of an unchanged cluster would send a report.
 */
function statusKey(s: AnyStatus): string {
  return JSON.stringify(s, (k, v: unknown) => (TIME_FIELDS.has(k) ? undefined : v));
}

export class ConfigSync {
  private link: AgentLink | undefined;
  private timer: TimerHandle | undefined;
  private retry: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private readonly acked = new Map<string, string>();
  private pending: ReconcileResult | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: ConfigSyncOptions,
    private readonly reconciler: Reconciler,
    private snapshot: ClusterSnapshot,
  ) {}

  get unreported(): number {
    return (
      (this.pending?.extensions?.length ?? 0) +
      (this.pending?.fluxConfigurations?.length ?? 0) +
      (this.pending?.sourceControlConfigurations?.length ?? 0)
    );
  }

  setSnapshot(snapshot: ClusterSnapshot): void {
    this.snapshot = snapshot;
  }

  up(link: AgentLink): void {
    this.link = link;
    // The hub may have lost what it acknowledged (a restore from an older state): report afresh.
    this.acked.clear();
    this.timer = this.opts.clock.setInterval(() => this.nudge(), this.opts.pullIntervalMs);
    this.nudge();
  }

  down(): void {
    this.link = undefined;
    if (this.timer) this.opts.clock.clear(this.timer);
    this.timer = undefined;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
  }

  nudge(): void {
    if (!this.link) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.runOnce()
      .catch((err: unknown) => {
        this.ctx.logger.error({ event: 'config.sync_failed', err }, 'configuration sync failed');
        this.scheduleRetry();
      })
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.nudge();
        }
      });
  }

  private scheduleRetry(): void {
    if (this.retry || !this.link) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.nudge();
    }, this.opts.retryMs ?? 1000);
    this.retry.unref();
  }

  private async runOnce(): Promise<void> {
    const link = this.link;
    if (!link) return;
    const now = (): string => new Date(this.opts.clock.now()).toISOString();
    const pulled = await link.request('config-pull', {
      v: PROTOCOL_VERSION,
      type: 'config-pull',
      agent: this.opts.agent,
      sentAt: now(),
    });
    // Answered after the link went down or the instance closed: acting on it would bring back what the
    // stop took away (guard's grants for a cluster it no longer serves). The next link pulls afresh.
    if (this.link !== link) return;
    if (!pulled.ok || pulled.reply.type !== 'desired-state') {
      const why = pulled.ok ? pulled.reply.type : pulled.reason;
      this.ctx.logger.warn({ event: 'config.pull_failed', reason: why }, 'could not pull the desired state');
      this.scheduleRetry();
      return;
    }
    const result = await this.reconciler.reconcile(pulled.reply, this.snapshot);
    // Keyed by kind too: a Flux v1 and a Flux v2 configuration may share a name.
    const fresh =
      (kind: string) =>
      (s: AnyStatus): boolean =>
        this.acked.get(`${kind}/${s.name}`) !== statusKey(s);
    const extensions = (result.extensions ?? []).filter(fresh('extension'));
    const fluxConfigurations = (result.fluxConfigurations ?? []).filter(fresh('flux'));
    const sourceControlConfigurations = (result.sourceControlConfigurations ?? []).filter(fresh('scc'));
    this.pending = { extensions, fluxConfigurations, sourceControlConfigurations };
    if (this.unreported === 0) return;
    const report: ConfigStatus = {
      v: PROTOCOL_VERSION,
      type: 'config-status',
      agent: this.opts.agent,
      sentAt: now(),
      extensions,
      fluxConfigurations,
      sourceControlConfigurations,
    };
    const sent = await link.request('config-status', report);
    if (!sent.ok || sent.reply.type !== 'ack') {
      const why = sent.ok ? sent.reply.type : sent.reason;
      this.ctx.logger.warn({ event: 'config.report_failed', reason: why }, 'status report not acknowledged');
      this.scheduleRetry();
      return;
    }
    for (const s of extensions) this.acked.set(`extension/${s.name}`, statusKey(s));
    for (const s of fluxConfigurations) this.acked.set(`flux/${s.name}`, statusKey(s));
    for (const s of sourceControlConfigurations) this.acked.set(`scc/${s.name}`, statusKey(s));
    this.pending = undefined;
  }
}
