/**
 * metrics-agent, per cluster: once a Valid identity secret exists, connects and every
 * `ARCFLEET_METRICS_AGENT_INTERVAL` (simulated) reads the cluster's agent status files, judges each
 * agent's health (health.ts) and reports it to the hub (`agent-health`, request), which fills
 * `properties.arcAgentProfile`. A failed report is logged and the next interval sends a fresh one.
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
import { ERROR_CODES, type AgentHealth, PROTOCOL_VERSION, type AgentName } from '../../contract/index.js';
import { readCertificateClaims } from '../../platform/identity.js';
import { judgeHealth } from './health.js';

export const AGENT = 'metrics-agent' as const;

/** The agents every cluster runs (the services this emulator implements), besides metrics-agent. */
export const EXPECTED_AGENTS: readonly AgentName[] = ['clusteridentityoperator', 'resource-sync-agent'];

/** Refusals after which this certificate will never be accepted again (as in resource-sync-agent). */
const HALTING_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.IdentityExpired,
  ERROR_CODES.IdentityRevoked,
  ERROR_CODES.ClusterExpired,
]);

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
  private snapshot: ClusterSnapshot;
  private link: AgentLink | undefined;
  private abort: AbortController | undefined;
  private timer: TimerHandle | undefined;
  private certificate: string | undefined;
  /** A certificate the hub refused for good (expired, revoked): not used again. */
  private haltedCertificate: string | undefined;
  private closed = false;
  private reporting = false;
  /** What the hub has acknowledged on this link (component states, versions, error messages). */
  private delivered: string | undefined;
  private readonly endings = new Set<Promise<unknown>>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: MetricsAgentOptions,
    snapshot: ClusterSnapshot,
  ) {
    this.snapshot = snapshot;
    this.evaluate();
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (changes.identity || changes.onboarding) this.evaluate();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.deactivate();
    await Promise.all([...this.endings]);
  }

  /** The usable credentials: the onboarding key and a Valid certificate for that key. */
  private credentials(): { privateKeyPem: string; certificate: string } | undefined {
    const { onboarding, identity } = this.snapshot;
    if (!onboarding || identity?.state !== 'Valid') return undefined;
    try {
      if (readCertificateClaims(identity.certificate).spki !== onboarding.publicKey) return undefined;
    } catch {
      return undefined;
    }
    return { privateKeyPem: onboarding.privateKeyPem, certificate: identity.certificate };
  }

  private evaluate(): void {
    if (this.closed) return;
    const creds = this.credentials();
    if (creds && creds.certificate === this.haltedCertificate) return;
    if (!creds) {
      if (this.abort) {
        this.ctx.logger.info({ event: 'health.stopped' }, 'stopped: waiting for a valid identity');
        this.deactivate();
      }
      return;
    }
    if (this.abort) {
      if (creds.certificate !== this.certificate) {
        this.certificate = creds.certificate;
        this.link?.setCredentials(creds);
      }
      return;
    }
    this.certificate = creds.certificate;
    const abort = new AbortController();
    this.abort = abort;
    const { subscriptionId, resourceGroup, name } = this.snapshot.state;
    const opening = this.ctx
      .openLink({ subscriptionId, resourceGroup, name }, creds, { signal: abort.signal })
      .then((link) => {
        if (abort.signal.aborted) {
          this.track(link.close());
          return;
        }
        this.link = link;
        this.delivered = undefined;
        const current = this.credentials();
        if (current && current.certificate !== creds.certificate) link.setCredentials(current);
        this.ctx.logger.info({ event: 'health.connected' }, 'connected; reporting agent health');
        this.timer = this.opts.clock.setInterval(() => this.report(), this.opts.intervalMs);
        this.report();
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        this.ctx.logger.error({ event: 'health.connect_failed', err }, 'could not connect');
        if (this.abort === abort) this.abort = undefined;
      });
    this.track(opening);
  }

  private deactivate(): void {
    this.abort?.abort(new Error('stopped'));
    this.abort = undefined;
    if (this.timer) this.opts.clock.clear(this.timer);
    this.timer = undefined;
    const link = this.link;
    this.link = undefined;
    if (link) this.track(link.close());
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
    const beats = await this.ctx.store.readProcessBeats();
    const health = judgeHealth(statuses, {
      beats,
      expected: this.opts.expected ?? EXPECTED_AGENTS,
      staleAfterMs: this.opts.staleAfterMs,
      nowMs: (this.opts.realNow ?? Date.now)(),
      nowIso,
    });
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
      this.haltedCertificate = this.certificate;
      this.deactivate();
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
