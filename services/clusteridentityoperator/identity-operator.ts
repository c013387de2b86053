/**
 * clusteridentityoperator, per cluster: onboarding (register with the one-time bootstrap token),
 * the identity secret, certificate renewal, and forgetting everything on a `disconnect` control.
 */
import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import type {
  AgentContext,
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
} from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import type { Clock } from '../../platform/clock.js';
import {
  type IdentitySecret,
  type OnboardingSecret,
  ERROR_CODES,
  IdentityError,
  type ControlMessage,
  type IdentityReply,
  type RegisterRequest,
  type RenewRequest,
  PROTOCOL_VERSION,
  clusterKey,
  type ClusterRef,
} from '../../contract/index.js';
import { SECRET_IDENTITY } from '../../agent-runtime/cluster-store.js';
import type { ArcTimings } from '../../platform/settings.js';
import { readCertificateClaims } from '../../platform/identity.js';
import { tracingEnabled } from '../../platform/tracing.js';
import { traceFields } from '../../platform/tracing-propagation.js';
import { ATTR, failSpan, startInternalSpan } from '../../platform/tracing-spans.js';
import { RenewalScheduler, type RenewOutcome } from './renewal.js';
import { backoffDelay } from '../../platform/backoff.js';
import { delay } from '../../platform/wait.js';

export const AGENT = 'clusteridentityoperator' as const;

/** Refusals of `register` that retrying with the same onboarding secret cannot fix. */
export const DEFINITIVE_REGISTER_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.InvalidBootstrapToken,
  ERROR_CODES.IdentityInvalid,
  ERROR_CODES.IdentityRevoked,
  ERROR_CODES.ClusterExpired,
  ERROR_CODES.InvalidMessage,
  ERROR_CODES.UnsupportedProtocolVersion,
  ERROR_CODES.MessageTooLarge,
]);

/** Refusals of `renew` that mean the certificate is past saving. */
const EXPIRED_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.IdentityExpired,
  ERROR_CODES.ClusterExpired,
]);
/** Refusals of `renew` worth retrying. */
const TRANSIENT_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.ServiceUnavailable,
  ERROR_CODES.InternalServerError,
]);

export interface IdentityOperatorOptions {
  readonly clock: Clock;
  readonly timings: Pick<ArcTimings, 'certRenewAfterMs' | 'certRenewJitterMs'>;
  /** Real ms: first retry delay ceiling of register/renew (default 500). */
  readonly retryBaseMs?: number;
  /** Real ms: largest retry delay (default 30 000). */
  readonly retryCapMs?: number;
  readonly random?: () => number;
}

export function identityOperatorFactory(opts: IdentityOperatorOptions): AgentFactory {
  return (ctx, snapshot) => new IdentityOperator(ctx, opts, snapshot);
}

interface Session {
  readonly onboarding: OnboardingSecret;
  readonly ref: ClusterRef;
  readonly abort: AbortController;
  link: AgentLink | undefined;
  renewal: RenewalScheduler | undefined;
  /** The identity secret as last written or adopted by this session. */
  identity: IdentitySecret | undefined;
  cancelled: boolean;
}

export class IdentityOperator implements AgentInstance {
  private session: Session | undefined;
  private snapshot: ClusterSnapshot;
  /** Bootstrap token of the onboarding we were told to forget (disconnect). */
  private forgottenToken: string | undefined;
  private closed = false;
  private readonly endings = new Set<Promise<void>>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: IdentityOperatorOptions,
    snapshot: ClusterSnapshot,
  ) {
    this.snapshot = snapshot;
    this.apply();
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (changes.onboarding) this.apply();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.endSession('closing');
    await Promise.all([...this.endings]);
  }

  private get log(): AgentContext['logger'] {
    return this.ctx.logger;
  }

  /** Follows the onboarding secret: none → idle; new token or key → a new session. */
  private apply(): void {
    if (this.closed) return;
    const ob = this.snapshot.onboarding;
    if (!ob) {
      if (this.session) this.endSession('onboarding secret removed');
      return;
    }
    const s = this.session;
    if (s && s.onboarding.bootstrapToken === ob.bootstrapToken && s.onboarding.publicKey === ob.publicKey)
      return;
    if (s) this.endSession('onboarding secret replaced');
    if (ob.bootstrapToken === this.forgottenToken) return;
    this.forgottenToken = undefined;
    const { subscriptionId, resourceGroup, name } = this.snapshot.state;
    const session: Session = {
      onboarding: ob,
      ref: { subscriptionId, resourceGroup, name },
      abort: new AbortController(),
      link: undefined,
      renewal: undefined,
      identity: undefined,
      cancelled: false,
    };
    this.session = session;
    void this.run(session).catch((err: unknown) => {
      this.log.error({ event: 'identity.session_failed', err }, 'identity session failed');
    });
  }

  private endSession(reason: string): void {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    s.cancelled = true;
    s.abort.abort(new Error(reason));
    s.renewal?.stop();
    const link = s.link;
    s.link = undefined;
    if (link) this.track(link.close());
    this.log.info({ event: 'identity.session_ended', reason }, 'identity session ended');
  }

  private track(p: Promise<void>, event = 'identity.link_close_failed'): void {
    const guarded = p.catch((err: unknown) => {
      this.log.warn({ event, err }, 'background task failed');
    });
    this.endings.add(guarded);
    void guarded.finally(() => this.endings.delete(guarded));
  }

  private async run(s: Session): Promise<void> {
    const existing = this.adoptable(s);
    try {
      s.link = await this.ctx.openLink(
        s.ref,
        { privateKeyPem: s.onboarding.privateKeyPem, certificate: existing?.certificate },
        { onControl: (m) => this.onControl(s, m), signal: s.abort.signal },
      );
    } catch (err) {
      if (!s.cancelled) this.log.error({ event: 'identity.connect_failed', err }, 'could not connect');
      return;
    }
    if (s.cancelled) {
      await s.link.close();
      return;
    }
    if (existing) {
      s.identity = existing;
      const claims = readCertificateClaims(existing.certificate);
      if (existing.state === 'Expired') {
        this.log.error(
          { event: 'identity.expired', notAfter: existing['azure-identity-certificate-expiration-time'] },
          'identity certificate has expired; delete and connect the cluster again',
        );
        return;
      }
      this.log.info(
        { event: 'identity.adopted', notAfter: existing['azure-identity-certificate-expiration-time'] },
        'using the existing identity certificate',
      );
      this.startRenewal(s, claims.nbf, claims.exp);
      return;
    }
    await this.register(s);
  }

  /** A stored identity secret for this session's key and cluster, if any. */
  private adoptable(s: Session): IdentitySecret | undefined {
    const id = this.snapshot.identity;
    if (!id) return undefined;
    try {
      const claims = readCertificateClaims(id.certificate);
      if (claims.spki === s.onboarding.publicKey && claims.sub === clusterKey(s.ref)) return id;
    } catch (err) {
      this.log.warn({ event: 'identity.secret_unreadable', err }, 'ignoring an unreadable identity secret');
    }
    return undefined;
  }

  /**
   * One onboarding is one trace, and it starts here: an `onboard` root span over every register
   * attempt; its context goes into the identity secret so the other agents' first sync continues it.
   */
  private async register(s: Session): Promise<void> {
    if (!tracingEnabled()) return this.registerUntilDone(s, undefined);
    const span = startInternalSpan('onboard', ROOT_CONTEXT, {
      [ATTR.clusterName]: this.ctx.clusterName,
      [ATTR.clusterKey]: clusterKey(s.ref),
    });
    try {
      await this.registerUntilDone(s, trace.setSpan(ROOT_CONTEXT, span));
    } finally {
      span.end();
    }
  }

  private async registerUntilDone(s: Session, onboardingTrace: Context | undefined): Promise<void> {
    const { clock } = this.opts;
    for (let attempt = 0; !s.cancelled; attempt++) {
      const link = s.link;
      if (!link) return;
      const request: RegisterRequest = {
        v: PROTOCOL_VERSION,
        type: 'register',
        agent: AGENT,
        bootstrapToken: s.onboarding.bootstrapToken,
        agentPublicKey: s.onboarding.publicKey,
        agentVersion: this.snapshot.state.agentVersion,
        sentAt: new Date(clock.now()).toISOString(),
      };
      const result = await link.request('register', request, undefined, onboardingTrace);
      if (s.cancelled) return;
      let reason: string;
      if (result.ok && result.reply.type === 'identity') {
        try {
          await this.accept(s, result.reply, 'identity.obtained', onboardingTrace);
          return;
        } catch (err) {
          // The hub lets the same key register again with its used token: retry.
          this.log.error({ event: 'identity.write_failed', err }, 'could not store the identity secret');
          reason = 'identity secret not written';
        }
      } else if (result.ok && result.reply.type === 'error') {
        const { code, message } = result.reply;
        if (DEFINITIVE_REGISTER_ERRORS.has(code)) {
          failSpan(onboardingTrace && trace.getSpan(onboardingTrace), code, message);
          const err = new IdentityError(code as IdentityError['code'], message);
          this.log.error(
            { event: 'identity.register_refused', code, err },
            'the hub refused registration; waiting for a new onboarding secret',
          );
          return;
        }
        reason = code;
      } else if (result.ok) reason = `unexpected reply ${result.reply.type}`;
      else reason = result.reason;
      const delayMs = backoffDelay(attempt, this.backoff());
      this.log.warn(
        { event: 'identity.register_retry', reason, attempt: attempt + 1, delayMs },
        'register failed',
      );
      await this.sleep(s, delayMs);
    }
  }

  /**
   * Writes the identity secret for a fresh certificate and (re)starts the renewal schedule. `onboardingTrace`:
   * the onboarding trace, stored in the secret for the other agents to continue.
   */
  private async accept(
    s: Session,
    reply: IdentityReply,
    event: string,
    onboardingTrace?: Context,
  ): Promise<void> {
    const secret: IdentitySecret = {
      certificate: reply.certificate,
      'azure-identity-certificate-expiration-time': reply.notAfter,
      issuedAt: reply.notBefore,
      state: 'Valid',
      ...(reply.issuerPublicKey === undefined ? {} : { issuerPublicKey: reply.issuerPublicKey }),
      ...(onboardingTrace ? traceFields(onboardingTrace) : {}),
    };
    await this.ctx.store.writeIdentity(this.ctx.clusterName, secret);
    if (s.cancelled) return;
    s.identity = secret;
    s.link?.setCredentials({ privateKeyPem: s.onboarding.privateKeyPem, certificate: reply.certificate });
    this.log.info(
      { event, notBefore: reply.notBefore, notAfter: reply.notAfter },
      'identity certificate stored',
    );
    if (event === 'identity.obtained')
      this.startRenewal(s, Date.parse(reply.notBefore), Date.parse(reply.notAfter));
  }

  private startRenewal(s: Session, notBeforeMs: number, notAfterMs: number): void {
    const { clock, timings } = this.opts;
    s.renewal ??= new RenewalScheduler({
      clock,
      renewAfterMs: timings.certRenewAfterMs,
      jitterMs: timings.certRenewJitterMs,
      retryDelayMs: (attempt) => backoffDelay(attempt, this.backoff()) * clock.timeScale,
      attempt: () => this.renewOnce(s),
      onExpired: (reason) => void this.markExpired(s, reason),
      onFatal: (reason) =>
        this.log.error({ event: 'identity.renew_refused', reason }, 'the hub refused renewal; giving up'),
      onRetry: (reason, attempt, delayMs) =>
        this.log.warn(
          { event: 'identity.renew_retry', reason, attempt, delaySimMs: delayMs },
          'renewal failed',
        ),
      ...(this.opts.random ? { random: this.opts.random } : {}),
    });
    s.renewal.start(notBeforeMs, notAfterMs);
    this.log.debug(
      {
        event: 'identity.renewal_scheduled',
        at: new Date(s.renewal.nextAttemptAtMs ?? notAfterMs).toISOString(),
      },
      'renewal scheduled',
    );
  }

  private async renewOnce(s: Session): Promise<RenewOutcome> {
    const link = s.link;
    if (!link || s.cancelled) return { kind: 'retry', reason: 'not connected' };
    const request: RenewRequest = {
      v: PROTOCOL_VERSION,
      type: 'renew',
      agent: AGENT,
      sentAt: new Date(this.opts.clock.now()).toISOString(),
    };
    const result = await link.request('renew', request);
    if (!result.ok) return { kind: 'retry', reason: result.reason };
    const reply = result.reply;
    if (reply.type === 'identity') {
      await this.accept(s, reply, 'identity.renewed');
      return {
        kind: 'renewed',
        notBeforeMs: Date.parse(reply.notBefore),
        notAfterMs: Date.parse(reply.notAfter),
      };
    }
    if (reply.type === 'error') {
      if (EXPIRED_ERRORS.has(reply.code)) return { kind: 'expired', reason: reply.code };
      if (TRANSIENT_ERRORS.has(reply.code)) return { kind: 'retry', reason: reply.code };
      return { kind: 'fatal', reason: `${reply.code}: ${reply.message}` };
    }
    return { kind: 'retry', reason: `unexpected reply ${reply.type}` };
  }

  private async markExpired(s: Session, reason: string): Promise<void> {
    const current = s.identity;
    this.log.error(
      {
        event: 'identity.expired',
        reason,
        notAfter: current?.['azure-identity-certificate-expiration-time'],
      },
      'identity certificate expired; no more renewal attempts',
    );
    if (!current || s.cancelled) return;
    const expired: IdentitySecret = { ...current, state: 'Expired' };
    try {
      await this.ctx.store.writeIdentity(this.ctx.clusterName, expired);
      s.identity = expired;
    } catch (err) {
      this.log.error({ event: 'identity.write_failed', err }, 'could not mark the identity secret expired');
    }
  }

  private onControl(s: Session, message: ControlMessage): void {
    if (message.action !== 'disconnect' || s !== this.session) return;
    this.log.info(
      { event: 'identity.disconnect', reason: message.reason },
      'disconnect: forgetting identity',
    );
    this.forgottenToken = s.onboarding.bootstrapToken;
    this.endSession('disconnect');
    this.track(this.forget(s), 'identity.forget_failed');
  }

  /** Deletes our secrets; a new onboarding written meanwhile (and its identity) is left alone. */
  private async forget(s: Session): Promise<void> {
    const store = this.ctx.store;
    const name = this.ctx.clusterName;
    const id = await store.readIdentity(name).catch(() => undefined);
    if (id) {
      let ours = true;
      try {
        ours = readCertificateClaims(id.certificate).spki === s.onboarding.publicKey;
      } catch {
        // unreadable: ours to remove
      }
      if (ours) await store.deleteSecret(name, SECRET_IDENTITY);
    }
    await store.deleteOnboardingIf(name, s.onboarding.bootstrapToken);
  }

  private backoff(): { baseMs: number; maxMs: number; random?: () => number } {
    return {
      baseMs: this.opts.retryBaseMs ?? 500,
      maxMs: this.opts.retryCapMs ?? 30_000,
      ...(this.opts.random ? { random: this.opts.random } : {}),
    };
  }

  /** Real-time wait, cut short when the session ends (its abort signal). */
  private async sleep(s: Session, ms: number): Promise<void> {
    await delay(ms, undefined, { signal: s.abort.signal }).catch(() => undefined);
  }
}
