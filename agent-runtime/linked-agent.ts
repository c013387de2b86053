/**
 * The identity life cycle every agent after clusteridentityoperator shares: wait for a Valid identity
 * certificate that matches the onboarding key, open the pair's own NATS link with it, switch to a
 * renewed certificate without reconnecting, close on `disconnect` or when the agent halts (a
 * refusal for good), and stay closed until a new certificate arrives; close when the identity goes
 * away or expires.
 *
 * An agent plugs its behaviour in through `LinkedAgentHooks`; the hooks see "link up", "link down"
 * and "a certificate not used before", never the private key. One implementation so that a fix to
 * the life cycle (e.g. a renewal while connecting) reaches every agent.
 */
import type { AgentContext, AgentInstance, ClusterChanges, ClusterSnapshot } from './agent-instance.js';
import type { AgentLink, LinkCredentials } from './agent-link.js';
import { readCertificateClaims } from '../platform/identity.js';
import { ERROR_CODES, type ControlMessage } from '../contract/index.js';

/** Refusals after which this certificate will never be accepted again: the agent halts. */
export const HALTING_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.IdentityExpired,
  ERROR_CODES.IdentityRevoked,
  ERROR_CODES.ClusterExpired,
]);

export interface CertificateChange {
  /** A connection is being opened with it (else: switched on a connecting or live link). */
  readonly starting: boolean;
  /** Its key differs from the last certificate's (a new onboarding: the hub may know nothing). */
  readonly newKey: boolean;
}

export interface LinkedAgentHooks {
  /** The link is open and usable (first connection, or again after a new certificate). */
  onLinkUp(link: AgentLink): void;
  /** The link was closed after it was up (identity gone, disconnect, halt, instance closing). */
  onLinkDown(reason: string): void;
  /** The agent left `connecting` or `up`; `next` says why. Called before `onLinkDown`. */
  onStop?(next: LinkedAgentStatus, reason: string): void;
  /** A certificate this instance has not used is taken (`snapshot.identity` holds it). */
  onCertificate?(snapshot: ClusterSnapshot, change: CertificateChange): void;
  /** A valid control message other than `disconnect`. */
  onControl?(message: ControlMessage): void;
  /** The cluster files changed (state, secrets); called after the identity was re-evaluated. */
  onSnapshot?(snapshot: ClusterSnapshot, changes: ClusterChanges): void;
  /** Reports waiting to be sent, for the metrics. */
  outboxDepth?(): number;
  /** Background work (e.g. a report in flight) that `close` waits for. */
  settle?(): Promise<void>;
}

/** `[event, message]` of a life-cycle log line. */
export type LogLine = readonly [event: string, msg: string];

/** The log lines of the life cycle: each agent keeps the event names it has always logged. */
export interface LinkedAgentLog {
  readonly linkUp: LogLine;
  readonly connectFailed: LogLine;
  readonly disconnect: LogLine;
  readonly closeFailed: LogLine;
  readonly identityUnreadable: LogLine;
}

const DEFAULT_LOG: LinkedAgentLog = {
  linkUp: ['agent.link_up', 'connected'],
  connectFailed: ['agent.connect_failed', 'could not connect'],
  disconnect: ['agent.disconnect', 'disconnect: stopping'],
  closeFailed: ['agent.link_close_failed', 'link close failed'],
  identityUnreadable: ['agent.identity_unreadable', 'identity secret unreadable'],
};

export interface LinkedAgentOptions {
  /** Largest reply the link accepts (default: the host's message limit). */
  readonly maxReplyBytes?: number;
  readonly log?: Partial<LinkedAgentLog>;
}

export type LinkedAgentStatus = 'waiting' | 'connecting' | 'up' | 'halted' | 'disconnected' | 'closed';

interface Usable {
  readonly certificate: string;
  readonly privateKeyPem: string;
  /** The cluster's broker user, renewed with the certificate. */
  readonly natsUserJwt: string | undefined;
  readonly spki: string;
  readonly notAfterMs: number;
}

const linkCredentials = (u: Usable): LinkCredentials => ({
  privateKeyPem: u.privateKeyPem,
  natsUserJwt: u.natsUserJwt,
});

export class LinkedAgent implements AgentInstance {
  private status: LinkedAgentStatus = 'waiting';
  private current: AgentLink | undefined;
  private abort: AbortController | undefined;
  /** Certificate of the open (or last) link; after `disconnect` or a halt it is not used again. */
  private used: Usable | undefined;
  private readonly endings = new Set<Promise<void>>();
  private readonly log: LinkedAgentLog;

  constructor(
    private readonly ctx: AgentContext,
    private snapshot: ClusterSnapshot,
    private readonly hooks: LinkedAgentHooks,
    private readonly opts: LinkedAgentOptions = {},
  ) {
    this.log = { ...DEFAULT_LOG, ...opts.log };
    this.evaluate();
  }

  get link(): AgentLink | undefined {
    return this.status === 'up' ? this.current : undefined;
  }

  get currentStatus(): LinkedAgentStatus {
    return this.status;
  }

  get cluster(): ClusterSnapshot {
    return this.snapshot;
  }

  /** Expiry (simulated ms) of the certificate in use or last used; Infinity before any. */
  get notAfterMs(): number {
    return this.used?.notAfterMs ?? Infinity;
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (changes.identity || changes.onboarding) this.evaluate();
    this.hooks.onSnapshot?.(snapshot, changes);
  }

  outboxDepth(): number {
    return this.hooks.outboxDepth?.() ?? 0;
  }

  /**
   * Stops for good with this certificate (the hub refused it for good, or it expired): the link
   * closes and only a new certificate brings the agent back.
   */
  halt(reason: string): void {
    if (this.status === 'up' || this.status === 'connecting') this.deactivate('halted', reason);
  }

  async close(): Promise<void> {
    if (this.status !== 'closed') this.deactivate('closed', 'instance closing');
    await Promise.all([...this.endings, this.hooks.settle?.()]);
  }

  private usable(): Usable | undefined {
    const { onboarding, identity } = this.snapshot;
    if (!onboarding || identity?.state !== 'Valid') return undefined;
    try {
      const { spki, exp } = readCertificateClaims(identity.certificate);
      if (spki !== onboarding.publicKey) return undefined;
      const { certificate, natsUserJwt } = identity;
      return { certificate, privateKeyPem: onboarding.privateKeyPem, natsUserJwt, spki, notAfterMs: exp };
    } catch (err) {
      const [event, msg] = this.log.identityUnreadable;
      this.ctx.logger.warn({ event, err }, msg);
      return undefined;
    }
  }

  private evaluate(): void {
    if (this.status === 'closed') return;
    const next = this.usable();
    if (next === undefined) {
      if (this.status === 'up' || this.status === 'connecting')
        this.deactivate('waiting', 'no valid identity certificate');
      return;
    }
    const previous = this.used;
    const change = (starting: boolean): CertificateChange => ({
      starting,
      newKey: next.spki !== previous?.spki,
    });
    if (this.status === 'up' || this.status === 'connecting') {
      if (next.certificate !== previous?.certificate) {
        this.used = next;
        this.current?.setCredentials(linkCredentials(next));
        this.hooks.onCertificate?.(this.snapshot, change(false));
      }
      return;
    }
    // After a disconnect or a halt only a new certificate (a new onboarding) brings the agent back.
    const givenUp = this.status === 'disconnected' || this.status === 'halted';
    if (givenUp && next.certificate === previous?.certificate) return;
    this.used = next;
    this.status = 'connecting';
    this.hooks.onCertificate?.(this.snapshot, change(true));
    this.activate(next);
  }

  private activate(openWith: Usable): void {
    const abort = new AbortController();
    this.abort = abort;
    const { subscriptionId, resourceGroup, name } = this.snapshot.state;
    const { maxReplyBytes } = this.opts;
    void this.ctx
      .openLink({ subscriptionId, resourceGroup, name }, linkCredentials(openWith), {
        onControl: (m) => this.onControl(m),
        signal: abort.signal,
        ...(maxReplyBytes === undefined ? {} : { maxReplyBytes }),
      })
      .then((link) => {
        if (abort.signal.aborted || this.status !== 'connecting') {
          this.track(link.close());
          return;
        }
        this.current = link;
        // The certificate may have been renewed while connecting.
        const now = this.used;
        if (now && now.certificate !== openWith.certificate) link.setCredentials(linkCredentials(now));
        this.status = 'up';
        const [event, msg] = this.log.linkUp;
        this.ctx.logger.info({ event }, msg);
        this.hooks.onLinkUp(link);
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        const [event, msg] = this.log.connectFailed;
        this.ctx.logger.error({ event, err }, msg);
        if (this.status === 'connecting') this.status = 'waiting';
      });
  }

  private deactivate(next: LinkedAgentStatus, reason: string): void {
    const was = this.status;
    this.status = next;
    this.abort?.abort(new Error(reason));
    this.abort = undefined;
    const link = this.current;
    this.current = undefined;
    if (link) this.track(link.close());
    if (was === 'up' || was === 'connecting') this.hooks.onStop?.(next, reason);
    if (was === 'up') this.hooks.onLinkDown(reason);
  }

  private onControl(message: ControlMessage): void {
    if (this.status === 'closed') return;
    if (message.action === 'disconnect') {
      const [event, msg] = this.log.disconnect;
      this.ctx.logger.info({ event, reason: message.reason }, msg);
      this.deactivate('disconnected', 'disconnect');
      return;
    }
    this.hooks.onControl?.(message);
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((err: unknown) => {
      const [event, msg] = this.log.closeFailed;
      this.ctx.logger.warn({ event, err }, msg);
    });
    this.endings.add(guarded);
    void guarded.finally(() => this.endings.delete(guarded));
  }
}
