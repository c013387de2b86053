/**
 * The identity life cycle every agent after clusteridentityoperator shares: wait for a Valid identity
 * certificate that matches the onboarding key, open the pair's own NATS link with it, switch to a
 * renewed certificate without reconnecting, close on `disconnect` (and stay closed until a new
 * certificate arrives), close when the identity goes away or expires.
 *
 * An agent plugs its behaviour in through `LinkedAgentHooks`; the hooks see only "link up" and "link
 * down", never the secrets.
 */
import type { AgentContext, AgentInstance, ClusterChanges, ClusterSnapshot } from './agent-instance.js';
import type { AgentLink } from './agent-link.js';
import { readCertificateClaims } from '../platform/identity.js';
import type { ControlMessage } from '../contract/index.js';

export interface LinkedAgentHooks {
  /** The link is open and usable (first connection, or again after a new certificate). */
  onLinkUp(link: AgentLink): void;
  /** The link was closed (identity gone, disconnect, instance closing). */
  onLinkDown(reason: string): void;
  /** A valid control message other than `disconnect`. */
  onControl?(message: ControlMessage): void;
  /** The cluster files changed (state, secrets). */
  onSnapshot?(snapshot: ClusterSnapshot, changes: ClusterChanges): void;
  /** Reports waiting to be sent, for the metrics. */
  outboxDepth?(): number;
}

export type LinkedAgentStatus = 'waiting' | 'connecting' | 'up' | 'disconnected' | 'closed';

export class LinkedAgent implements AgentInstance {
  private status: LinkedAgentStatus = 'waiting';
  private current: AgentLink | undefined;
  private abort: AbortController | undefined;
  /** Certificate of the open (or last) link; after `disconnect` it is not used again. */
  private certificate: string | undefined;
  private readonly endings = new Set<Promise<void>>();

  constructor(
    private readonly ctx: AgentContext,
    private snapshot: ClusterSnapshot,
    private readonly hooks: LinkedAgentHooks,
    /** Largest reply the link accepts (default: the host's message limit). */
    private readonly maxReplyBytes?: number,
  ) {
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

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    if (changes.identity || changes.onboarding) this.evaluate();
    this.hooks.onSnapshot?.(snapshot, changes);
  }

  outboxDepth(): number {
    return this.hooks.outboxDepth?.() ?? 0;
  }

  async close(): Promise<void> {
    if (this.status !== 'closed') this.deactivate('closed', 'instance closing');
    await Promise.all([...this.endings]);
  }

  private usableCertificate(): string | undefined {
    const { onboarding, identity } = this.snapshot;
    if (!onboarding || identity?.state !== 'Valid') return undefined;
    try {
      const claims = readCertificateClaims(identity.certificate);
      return claims.spki === onboarding.publicKey ? identity.certificate : undefined;
    } catch (err) {
      this.ctx.logger.warn({ event: 'agent.identity_unreadable', err }, 'identity secret unreadable');
      return undefined;
    }
  }

  private evaluate(): void {
    if (this.status === 'closed') return;
    const certificate = this.usableCertificate();
    const key = this.snapshot.onboarding?.privateKeyPem;
    if (certificate === undefined || key === undefined) {
      if (this.status === 'up' || this.status === 'connecting')
        this.deactivate('waiting', 'no valid identity certificate');
      return;
    }
    if (this.status === 'up' || this.status === 'connecting') {
      if (certificate !== this.certificate) {
        this.certificate = certificate;
        this.current?.setCredentials({ privateKeyPem: key, certificate });
      }
      return;
    }
    // After a disconnect only a new certificate (a new onboarding) brings the agent back.
    if (this.status === 'disconnected' && certificate === this.certificate) return;
    this.activate(key, certificate);
  }

  private activate(privateKeyPem: string, certificate: string): void {
    this.status = 'connecting';
    this.certificate = certificate;
    const abort = new AbortController();
    this.abort = abort;
    const { subscriptionId, resourceGroup, name } = this.snapshot.state;
    void this.ctx
      .openLink(
        { subscriptionId, resourceGroup, name },
        { privateKeyPem, certificate },
        {
          onControl: (m) => this.onControl(m),
          signal: abort.signal,
          ...(this.maxReplyBytes === undefined ? {} : { maxReplyBytes: this.maxReplyBytes }),
        },
      )
      .then((link) => {
        if (abort.signal.aborted || this.status !== 'connecting') {
          this.track(link.close());
          return;
        }
        this.current = link;
        // The certificate may have been renewed while connecting.
        const now = this.usableCertificate();
        if (now !== undefined && now !== this.certificate) {
          this.certificate = now;
          link.setCredentials({ privateKeyPem, certificate: now });
        }
        this.status = 'up';
        this.ctx.logger.info({ event: 'agent.link_up' }, 'connected');
        this.hooks.onLinkUp(link);
      })
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        this.ctx.logger.error({ event: 'agent.connect_failed', err }, 'could not connect');
        if (this.status === 'connecting') this.status = 'waiting';
      });
  }

  private deactivate(next: LinkedAgentStatus, reason: string): void {
    const wasUp = this.status === 'up';
    this.status = next;
    this.abort?.abort(new Error(reason));
    this.abort = undefined;
    const link = this.current;
    this.current = undefined;
    if (link) this.track(link.close());
    if (wasUp) this.hooks.onLinkDown(reason);
  }

  private onControl(message: ControlMessage): void {
    if (this.status === 'closed') return;
    if (message.action === 'disconnect') {
      this.ctx.logger.info({ event: 'agent.disconnect', reason: message.reason }, 'disconnect: stopping');
      this.deactivate('disconnected', 'disconnect');
      return;
    }
    this.hooks.onControl?.(message);
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((err: unknown) => {
      this.ctx.logger.warn({ event: 'agent.link_close_failed', err }, 'link close failed');
    });
    this.endings.add(guarded);
    void guarded.finally(() => this.endings.delete(guarded));
  }
}
