/**
 * clusteridentityoperator, per cluster: onboarding (register with the one-time bootstrap token),
 * the identity secret, certificate renewal, and forgetting everything on a `disconnect` control.
 * This file is the operator's life cycle (one session per onboarding secret); the session's parts
 * live beside it: register.ts (onboarding), renew.ts (renewal over the link, on renewal.ts's
 * schedule), identity-secret.ts (what is written to the store) and session.ts (what they share).
 */
import type {
  AgentContext,
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
} from '../../agent-runtime/agent-instance.js';
import type { ControlMessage } from '../../contract/index.js';
import { readCertificateClaims } from '../../platform/identity.js';
import { adoptableIdentity, forgetIdentity } from './identity-secret.js';
import { register } from './register.js';
import { startRenewal } from './renew.js';
import type { IdentityOperatorOptions, OperatorHost, Session } from './session.js';

export { AGENT, type IdentityOperatorOptions } from './session.js';
export { DEFINITIVE_REGISTER_ERRORS } from './register.js';

export function identityOperatorFactory(opts: IdentityOperatorOptions): AgentFactory {
  return (ctx, snapshot) => new IdentityOperator(ctx, opts, snapshot);
}

export class IdentityOperator implements AgentInstance {
  private session: Session | undefined;
  private snapshot: ClusterSnapshot;
  /** Bootstrap token of the onboarding we were told to forget (disconnect). */
  private forgottenToken: string | undefined;
  private closed = false;
  private readonly endings = new Set<Promise<void>>();
  /** What the session's parts (register.ts, renew.ts, identity-secret.ts) use of this operator. */
  private readonly host: OperatorHost;

  constructor(
    private readonly ctx: AgentContext,
    opts: IdentityOperatorOptions,
    snapshot: ClusterSnapshot,
  ) {
    this.snapshot = snapshot;
    this.host = {
      ctx,
      opts,
      get log() {
        return ctx.logger;
      },
      snapshot: () => this.snapshot,
      startRenewal: (s, notBeforeMs, notAfterMs) => startRenewal(this.host, s, notBeforeMs, notAfterMs),
    };
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
    // A renewal whose reply is being stored finishes first: nothing is written after close resolves.
    if (s.renewal) this.track(s.renewal.settled(), 'identity.renewal_failed');
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
    const existing = adoptableIdentity(this.host, s);
    try {
      s.link = await this.ctx.openLink(
        s.ref,
        {
          privateKeyPem: s.onboarding.privateKeyPem,
          // The cluster's broker user once onboarded; before, the onboarding user (register only).
          natsUserJwt: existing?.natsUserJwt ?? s.onboarding.bootstrapJwt,
        },
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
      startRenewal(this.host, s, claims.nbf, claims.exp);
      return;
    }
    await register(this.host, s);
  }

  private onControl(s: Session, message: ControlMessage): void {
    if (message.action !== 'disconnect' || s !== this.session) return;
    this.log.info(
      { event: 'identity.disconnect', reason: message.reason },
      'disconnect: forgetting identity',
    );
    this.forgottenToken = s.onboarding.bootstrapToken;
    this.endSession('disconnect');
    this.track(forgetIdentity(this.host, s), 'identity.forget_failed');
  }
}
