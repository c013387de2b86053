/**
 * metrics-agent, per cluster: once a Valid identity secret exists, connects and every
 * `ARCFLEET_METRICS_AGENT_INTERVAL` (simulated) reads the cluster's agent status files, judges each
 * agent's health (health.ts) and reports it to the hub (`agent-health`, request), which fills
 * `properties.arcAgentProfile`. A failed report is logged and the next interval sends a fresh one.
 * The identity life cycle (connect, renewal, disconnect, halt on a refusal for good) is the shared
 * `LinkedAgent`.
 */
import type {
  AgentContext,
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
} from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import { toIso } from '../../agent-runtime/timestamps.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';
import { type AgentHealth, PROTOCOL_VERSION, type AgentName } from '../../contract/index.js';
import { HALTING_ERRORS, LinkedAgent, type LinkedAgentLog } from '../../agent-runtime/linked-agent.js';
import { judgeHealth, withUpgradeFailure } from './health.js';

export const AGENT = 'metrics-agent' as const;

/** The agents every cluster runs (the services this emulator implements), besides metrics-agent. */
export const EXPECTED_AGENTS: readonly AgentName[] = ['clusteridentityoperator', 'resource-sync-agent'];

/** The life-cycle log events of this agent (`health.*`, as before the shared life cycle). */
const HEALTH_LOG: Partial<LinkedAgentLog> = {
  linkUp: ['health.connected', 'connected; reporting agent health'],
  connectFailed: ['health.connect_failed', 'could not connect'],
  disconnect: ['health.disconnect', 'disconnect: stopping'],
  closeFailed: ['health.link_close_failed', 'link close failed'],
  identityUnreadable: ['health.identity_unreadable', 'identity secret unreadable'],
};

export interface MetricsAgentOptions {
  readonly clock: Clock;
  /** Simulated ms between reports. */
  readonly intervalMs: number;
  /** Real ms: a status file older than this means the agent is down. */
  readonly staleAfterMs: number;
  /** Real ms now (default Date.now): status files carry real time. */
  readonly realNow?: () => number;
  readonly expected?: readonly AgentName[];
}

export function metricsAgentFactory(opts: MetricsAgentOptions): AgentFactory {
  return (ctx, snapshot) => new MetricsAgent(ctx, opts, snapshot);
}

export class MetricsAgent implements AgentInstance {
  private readonly linked: LinkedAgent;
  private link: AgentLink | undefined;
  private timer: TimerHandle | undefined;
  private reporting = false;
  /** What the hub has acknowledged on this link (component states, versions, error messages). */
  private delivered: string | undefined;
  private readonly endings = new Set<Promise<unknown>>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: MetricsAgentOptions,
    private snapshot: ClusterSnapshot,
  ) {
    this.linked = new LinkedAgent(
      ctx,
      snapshot,
      {
        onLinkUp: (link) => {
          this.link = link;
          this.delivered = undefined;
          this.timer = this.opts.clock.setInterval(() => this.report(), this.opts.intervalMs);
          this.report();
        },
        onLinkDown: () => {
          this.link = undefined;
          if (this.timer) this.opts.clock.clear(this.timer);
          this.timer = undefined;
        },
        onStop: (next) => {
          if (next === 'waiting')
            this.ctx.logger.info({ event: 'health.stopped' }, 'stopped: waiting for a valid identity');
        },
        settle: async () => {
          await Promise.all([...this.endings]);
        },
      },
      { log: HEALTH_LOG },
    );
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    this.linked.update(snapshot, changes);
    // An agent upgrade may have failed: said now, not at the next interval.
    if (changes.state) this.report();
  }

  close(): Promise<void> {
    return this.linked.close();
  }

  private report(): void {
    if (this.reporting || !this.link) return;
    this.reporting = true;
    this.track(
      this.sendReport()
        .catch((err: unknown) => {
          this.ctx.logger.warn({ event: 'health.report_failed', err }, 'agent health report failed');
        })
        .finally(() => {
          this.reporting = false;
        }),
    );
  }

  private async sendReport(): Promise<void> {
    const { statuses, invalid } = await this.ctx.store.readAgentStatuses(this.ctx.clusterName);
    if (invalid.length > 0)
      this.ctx.logger.warn(
        { event: 'health.status_invalid', files: invalid },
        'unreadable agent status files',
      );
    const nowMs = this.opts.clock.now();
    const nowIso = new Date(nowMs).toISOString();
    const beats = await this.ctx.store.readProcessBeats(this.ctx.clusterName);
    const judged = judgeHealth(statuses, {
      beats,
      expected: this.opts.expected ?? EXPECTED_AGENTS,
      staleAfterMs: this.opts.staleAfterMs,
      nowMs: (this.opts.realNow ?? Date.now)(),
      nowIso,
    });
    const health = withUpgradeFailure(judged, this.snapshot.state);
    const message: AgentHealth = {
      v: PROTOCOL_VERSION,
      type: 'agent-health',
      agent: AGENT,
      sentAt: nowIso,
      components: health.components.map((c) => ({
        type: c.type,
        version: c.version,
        state: c.state,
        errors: c.errors.map((e) => ({ ...e, time: toIso(e.time, nowMs) })),
      })),
    };
    const link = this.link;
    if (!link) return;
    // The hub keeps (and persists) the last report: an unchanged one need not be sent again.
    const signature = JSON.stringify(
      health.components.map((c) => ({ ...c, errors: c.errors.map((e) => e.message) })),
    );
    if (signature === this.delivered) return;
    const result = await link.request('agent-health', message);
    if (result.ok && result.reply.type !== 'error' && link === this.link) this.delivered = signature;
    if (!result.ok)
      this.ctx.logger.warn(
        { event: 'health.report_failed', reason: result.reason },
        'agent health not delivered',
      );
    else if (result.reply.type === 'error' && HALTING_ERRORS.has(result.reply.code)) {
      this.ctx.logger.warn(
        { event: 'health.halted', code: result.reply.code },
        'identity refused for good; waiting for a new certificate',
      );
      this.linked.halt(result.reply.code);
    } else if (result.reply.type === 'error')
      this.ctx.logger.warn(
        { event: 'health.report_refused', code: result.reply.code, detail: result.reply.message },
        'agent health refused',
      );
    else
      this.ctx.logger.debug(
        { event: 'health.reported', agentState: health.agentState },
        'agent health reported',
      );
  }

  private track(p: Promise<unknown>): void {
    const done = p.catch(() => undefined).finally(() => this.endings.delete(done));
    this.endings.add(done);
  }
}
