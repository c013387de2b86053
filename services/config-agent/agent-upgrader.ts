/**
 * Agent auto-upgrade, config-agent's part: every hour (simulated; at a phase drawn from the cluster's
 * name, so a fleet never checks at once) ask Azure what the agents should run (`upgrade-check`), keep
 * the Helm value `autoUpdate` in step with the resource's `agentAutoUpgrade`, and "helm upgrade" the
 * azure-arc release when the answer names a version: the cluster's `agentVersion` changes, and every
 * agent host rolls its instance (its Deployment's pods) onto it.
 *
 * A check that gets no answer (the link is cut) is tried again every `retryMs` of simulated time, so a
 * cluster cut off during a release upgrades soon after it is restored. An injected `agentUpgrade`
 * fault makes the upgrade fail: the release stays at (is rolled back to) the version it ran, the
 * attempt is recorded in the cluster state (metrics-agent reports it in `agentErrors`), and the next
 * hourly check tries again.
 */
import {
  PROTOCOL_VERSION,
  upgradeCheckDelayMs,
  type ClusterState,
  type UpgradePlanReply,
} from '../../contract/index.js';
import type { AgentContext, ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import type { Clock, TimerHandle } from '../../platform/clock.js';

export interface AgentUpgraderOptions {
  readonly clock: Clock;
  /** Simulated ms between checks (ARCFLEET_UPGRADE_CHECK_INTERVAL; Arc: one hour). */
  readonly intervalMs: number;
  /** Simulated ms before a check that got no answer is tried again (default 5 min). */
  readonly retryMs?: number;
}

const DEFAULT_RETRY_MS = 5 * 60_000;

/** The message an upgrade that failed leaves, in Helm's words, with the rollback. */
export function failedUpgradeMessage(from: string, to: string, cause: string): string {
  return `Helm upgrade of the azure-arc release to ${to} failed and was rolled back to ${from}: ${cause}`;
}

export class AgentUpgrader {
  private link: AgentLink | undefined;
  private timer: TimerHandle | undefined;
  private checking = false;
  private again = false;

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: AgentUpgraderOptions,
    private snapshot: ClusterSnapshot,
  ) {}

  setSnapshot(snapshot: ClusterSnapshot): void {
    this.snapshot = snapshot;
  }

  up(link: AgentLink): void {
    this.link = link;
    this.schedule(upgradeCheckDelayMs(this.ctx.clusterName, this.opts.clock.now(), this.opts.intervalMs));
  }

  down(): void {
    this.link = undefined;
    this.clearTimer();
  }

  /** The hub says the profile changed (`upgrade-check` control): check now. */
  checkNow(): void {
    if (!this.link) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.clearTimer();
    this.checking = true;
    void this.check()
      .then((answered) => {
        const next = answered
          ? upgradeCheckDelayMs(this.ctx.clusterName, this.opts.clock.now(), this.opts.intervalMs)
          : (this.opts.retryMs ?? DEFAULT_RETRY_MS);
        this.schedule(next);
      })
      .catch((err: unknown) => {
        this.ctx.logger.error({ event: 'upgrade.check_failed', err }, 'agent upgrade check failed');
        this.schedule(this.opts.retryMs ?? DEFAULT_RETRY_MS);
      })
      .finally(() => {
        this.checking = false;
        if (this.again) {
          this.again = false;
          this.checkNow();
        }
      });
  }

  private schedule(delayMs: number): void {
    this.clearTimer();
    if (!this.link) return;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.checkNow();
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer) this.opts.clock.clear(this.timer);
    this.timer = undefined;
  }

  /** One check; false when Azure gave no answer. */
  private async check(): Promise<boolean> {
    const link = this.link;
    if (!link) return false;
    const current = this.snapshot.state.agentVersion;
    const result = await link.request('upgrade-check', {
      v: PROTOCOL_VERSION,
      type: 'upgrade-check',
      agent: 'config-agent',
      sentAt: new Date(this.opts.clock.now()).toISOString(),
      agentVersion: current,
    });
    if (!result.ok || result.reply.type !== 'upgrade-plan') {
      const why = result.ok ? result.reply.type : result.reason;
      this.ctx.logger.warn(
        { event: 'upgrade.check_unanswered', reason: why },
        'agent upgrade check unanswered',
      );
      return false;
    }
    await this.apply(result.reply);
    return true;
  }

  private async apply(plan: UpgradePlanReply): Promise<void> {
    const state = this.snapshot.state;
    const target = plan.targetVersion;
    const fault = state.faults.agentUpgrade;
    const last = state.agentUpgrade;
    const sameFailure =
      fault !== undefined &&
      last?.outcome === 'Failed' &&
      last.to === target &&
      last.from === state.agentVersion;
    if (plan.autoUpgrade === state.autoUpdate && (target === null || sameFailure)) return;
    const nowIso = new Date(this.opts.clock.now()).toISOString();
    const next = await this.ctx.store.updateState(this.ctx.clusterName, nowIso, (s): ClusterState => {
      const changed = { ...s, autoUpdate: plan.autoUpgrade };
      if (target === null || target === s.agentVersion) return changed;
      const from = s.agentVersion;
      if (s.faults.agentUpgrade !== undefined)
        return {
          ...changed,
          agentUpgrade: {
            from,
            to: target,
            at: nowIso,
            outcome: 'Failed',
            message: failedUpgradeMessage(from, target, s.faults.agentUpgrade),
          },
        };
      return {
        ...changed,
        agentVersion: target,
        agentUpgrade: { from, to: target, at: nowIso, outcome: 'Succeeded' },
      };
    });
    if (!next) return;
    this.snapshot = { ...this.snapshot, state: next };
    const up = next.agentUpgrade;
    if (target === null || up?.to !== target || up.at !== nowIso) return;
    if (up.outcome === 'Succeeded')
      this.ctx.logger.info(
        { event: 'upgrade.succeeded', from: up.from, to: up.to },
        `azure-arc upgraded from ${up.from} to ${up.to}`,
      );
    else
      this.ctx.logger.warn(
        { event: 'upgrade.rolled_back', from: up.from, to: up.to },
        up.message ?? 'agent upgrade failed',
      );
  }
}
