/**
 * `AgentLink`: one (cluster, agent) pair's OWN NATS connection, as a real Arc agent has its own
 * outbound connection: signed publish/request with decoded replies, the cluster's control subject,
 * and a switch to renewed credentials without reconnecting (a renewal must not drop the link).
 * Wire details (tracing, reply classification, control decoding) are in link-wire.ts.
 */
import { type Msg, type MsgHdrs, type NatsConnection, type Status, type Subscription } from 'nats';
import type { Context } from '@opentelemetry/api';
import {
  agentServerName,
  clusterKey,
  encodeMessage,
  subjects,
  type AgentMessage,
  type AgentName,
  type ClusterRef,
  type ControlMessage,
  type MessageKind,
} from '../contract/index.js';
import {
  userAuthenticator,
  userSeedFromPrivateKeyPem,
  type UserCredentials,
} from '../platform/broker-keys.js';
import { clusterInboxPrefix } from '../platform/broker-trust.js';
import type { Logger } from '../platform/log.js';
import { connectNats } from '../platform/nats.js';
import { failSpan } from '../platform/tracing-spans.js';
import { RateLimitedReporter } from '../platform/rate-limited-log.js';
import type { ConnectionGate } from '../platform/limit.js';
import { delay } from '../platform/wait.js';
import type { LinkMetrics } from './agent-metrics.js';
import { exchange, subscribeControl, traceHeaders, traceOutbound, type RequestResult } from './link-wire.js';

export type { RequestFailure, RequestResult } from './link-wire.js';

export interface LinkCredentials {
  /** The cluster's private key (from the onboarding secret): its NATS user key. */
  readonly privateKeyPem: string;
  /**
   * The NATS user JWT the broker authenticates (bootstrap, then the cluster's); none: anonymous, for a
   * broker without accounts.
   */
  readonly natsUserJwt?: string | undefined;
}

export interface AgentLinkOptions {
  readonly natsUrl: string;
  /**
   * The fleet CA: the link runs over TLS, naming its agent and cluster in the server name (SNI) the
   * egress gateway reads (contract/broker-tls.ts). None: plain TCP.
   */
  readonly ca?: string | undefined;
  readonly agentName: AgentName;
  readonly ref: ClusterRef;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
  /** Largest reply accepted (default `maxMessageBytes`): a desired state can be larger than a report. */
  readonly maxReplyBytes?: number;
  readonly credentials: LinkCredentials;
  /** Real ms before a request gives up (default 5000). */
  readonly requestTimeoutMs?: number;
  /** Limits concurrent first connections (shared by a host). */
  readonly gate?: ConnectionGate;
  /** Valid control messages for this cluster. Invalid ones are counted and logged. */
  readonly onControl?: (message: ControlMessage) => void;
  /** Aborting before the connection is made cancels the open (rejects with the abort reason). */
  readonly signal?: AbortSignal;
  /** Connection name (default `<agent>/<cluster>`). */
  readonly connectionName?: string;
  /** Sent/failed/reconnect counters (bounded labels: the message kind). */
  readonly metrics?: LinkMetrics;
  /** Dead-link detection and reconnect backoff of the NATS connection. */
  readonly connection?: LinkConnectionOptions;
}

/** Real ms. See `AgentLinkConfig` in config.ts. */
export interface LinkConnectionOptions {
  readonly pingIntervalMs: number;
  readonly maxPingOut: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
}

/** Real ms a closing link waits for its drain before closing anyway (a dead broker never answers). */
const DRAIN_LIMIT_MS = 2000;

/** The broker credentials a link presents; `current` changes when the cluster's JWT is renewed. */
interface BrokerUser {
  current: UserCredentials;
}

function brokerUser(c: LinkCredentials): BrokerUser | undefined {
  if (c.natsUserJwt === undefined) return undefined;
  return { current: { jwt: c.natsUserJwt, seed: userSeedFromPrivateKeyPem(c.privateKeyPem) } };
}

export class AgentLink {
  private controlSub: Subscription | undefined;
  private invalidControl = 0;
  private closing: Promise<void> | undefined;
  private disconnected = false;
  private violations: RateLimitedReporter | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly opts: AgentLinkOptions,
    /** The broker user this link presents at its next (re)connect. */
    private readonly user: BrokerUser | undefined,
  ) {}

  /** Connects (through the gate, if any) and subscribes to the cluster's control subject. */
  static async open(opts: AgentLinkOptions): Promise<AgentLink> {
    const name = opts.connectionName ?? `${opts.agentName}/${opts.ref.name}`;
    const user = brokerUser(opts.credentials);
    // The link follows the connection's status through connectNats's own watcher (no second iterator).
    const follower: { link?: AgentLink } = {};
    const onStatus = (s: Status): void => follower.link?.onStatus(s);
    const connectOnce = async (): Promise<NatsConnection> => {
      opts.signal?.throwIfAborted();
      const c = opts.connection;
      return connectNats({
        url: opts.natsUrl,
        name,
        logger: opts.logger,
        onStatus,
        ...(opts.ca === undefined
          ? {}
          : { ca: opts.ca, serverName: agentServerName(opts.agentName, opts.ref.name) }),
        // A cluster user may subscribe only to its own inboxes.
        extra: user
          ? {
              authenticator: userAuthenticator(() => user.current),
              inboxPrefix: clusterInboxPrefix(clusterKey(opts.ref)),
            }
          : {},
        ...(c
          ? {
              pingIntervalMs: c.pingIntervalMs,
              maxPingOut: c.maxPingOut,
              backoff: { baseMs: c.reconnectBaseMs, maxMs: c.reconnectMaxMs },
              connectTimeoutMs: c.connectTimeoutMs,
            }
          : {}),
      });
    };
    const nc = await (opts.gate ? opts.gate.run(connectOnce) : connectOnce());
    const opened = new AgentLink(nc, opts, user);
    follower.link = opened;
    if (opts.signal?.aborted) {
      await opened.close();
      opts.signal.throwIfAborted();
    }
    opened.controlSub = subscribeControl(nc, opts.ref, {
      logger: opts.logger,
      maxMessageBytes: opts.maxMessageBytes,
      onControl: opts.onControl,
      onInvalid: () => ++opened.invalidControl,
    });
    return opened;
  }

  get ref(): ClusterRef {
    return this.opts.ref;
  }

  /** Connected to the broker now (false while reconnecting or once closed). */
  get connected(): boolean {
    return !this.isClosed && !this.disconnected;
  }

  /** Follows the connection's status: disconnects, reconnects (counted). */
  private onStatus(s: Status): void {
    if (s.type === 'error' && s.data === 'PERMISSIONS_VIOLATION') this.refused(s);
    else if (s.type === 'disconnect') this.disconnected = true;
    else if (s.type === 'reconnect') {
      this.disconnected = false;
      this.opts.metrics?.reconnected();
    }
  }

  /** The broker refused a subject: counted, and logged at a bounded rate (a bug, or a hostile agent). */
  private refused(s: Status): void {
    const ctx = (s as Status & { permissionContext?: { operation?: string; subject?: string } })
      .permissionContext;
    const operation = ctx?.operation === 'publish' ? 'publish' : 'subscribe';
    this.opts.metrics?.permissionViolation(operation);
    // Made on the first refusal only: a process holds thousands of links that never see one.
    this.violations ??= new RateLimitedReporter(this.opts.logger);
    const subject = ctx?.subject?.slice(0, 256) ?? '?';
    this.violations.report('link.permission_violation', `the broker refused a ${operation} on ${subject}`);
  }

  get isClosed(): boolean {
    return this.closing !== undefined || this.nc.isClosed();
  }

  /** Control messages that failed validation. */
  get invalidControlMessages(): number {
    return this.invalidControl;
  }

  /** For tests: the control subscription is live. */
  get subscribed(): boolean {
    return this.controlSub !== undefined && !this.controlSub.isClosed();
  }

  /**
   * Switches to a renewed broker JWT without closing the link. A new JWT needs a new connection (the
   * broker checks credentials only when a client connects, and ends the connection when the old JWT
   * expires): the link reconnects at once with it; subscriptions are restored and messages published
   * meanwhile are buffered and sent, so nothing is lost.
   */
  setCredentials(credentials: LinkCredentials): void {
    const next = credentials.natsUserJwt;
    if (!this.user || next === undefined || next === this.user.current.jwt) return;
    this.user.current = { jwt: next, seed: userSeedFromPrivateKeyPem(credentials.privateKeyPem) };
    if (!this.isClosed)
      this.nc.reconnect().catch((err: unknown) => {
        this.opts.logger.warn(
          { event: 'link.reconnect_failed', err },
          'reconnect with new credentials failed',
        );
      });
  }

  /**
   * Fire-and-forget. False when the link is closed. With tracing on, a PRODUCER span (child of
   * `parent`, default the active context) whose context travels in the message headers.
   */
  publish(kind: MessageKind, message: AgentMessage, parent?: Context): boolean {
    if (this.isClosed) return false;
    const subject = subjects.agentToHub(this.opts.ref, this.opts.agentName, kind);
    const payload = encodeMessage(message);
    const headers = traceHeaders();
    const span = traceOutbound(this.opts, 'publish', kind, subject, payload, headers, parent);
    try {
      this.nc.publish(subject, payload, headers ? { headers } : undefined);
      this.opts.metrics?.sent(kind);
      span?.end();
      return true;
    } catch (err) {
      failSpan(span, 'failed', err instanceof Error ? err.message : String(err));
      span?.end();
      this.opts.metrics?.failed(kind);
      this.opts.logger.warn({ event: 'link.publish_failed', subject, err }, 'publish failed');
      return false;
    }
  }

  /**
   * Request; never throws. With tracing on, a CLIENT span (child of `parent`, default the
   * active context) whose context travels in the message headers; failed on a failure or error reply.
   */
  async request(
    kind: MessageKind,
    message: AgentMessage,
    timeoutMs?: number,
    parent?: Context,
  ): Promise<RequestResult> {
    const subject = subjects.agentToHub(this.opts.ref, this.opts.agentName, kind);
    if (this.isClosed) return { ok: false, reason: 'closed', error: new Error('link closed') };
    const payload = encodeMessage(message);
    const headers = traceHeaders();
    const span = traceOutbound(this.opts, 'send', kind, subject, payload, headers, parent);
    const result = await exchange(this.nc, subject, payload, headers, {
      timeoutMs: timeoutMs ?? this.opts.requestTimeoutMs ?? 5000,
      maxReplyBytes: this.opts.maxReplyBytes ?? this.opts.maxMessageBytes,
      logger: this.opts.logger,
      isClosed: () => this.isClosed,
    });
    if (result.ok && result.reply.type !== 'error') this.opts.metrics?.sent(kind);
    else this.opts.metrics?.failed(kind);
    if (span) {
      if (!result.ok) failSpan(span, result.reason, result.error.message);
      else if (result.reply.type === 'error') failSpan(span, result.reply.code, result.reply.message);
      span.end();
    }
    return result;
  }

  /**
   * A subscription on the pair's own connection, for agent-specific protocols (cluster connect).
   * Undefined when the link is closed. Errors in the callback are the caller's to handle.
   */
  subscribeRaw(subject: string, callback: (msg: Msg) => void): Subscription | undefined {
    if (this.isClosed) return undefined;
    return this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          this.opts.logger.warn({ event: 'link.subscription_error', subject, err }, 'subscription error');
          return;
        }
        callback(msg);
      },
    });
  }

  /** Raw publish on the pair's connection (data frames of an agent-specific protocol). */
  publishRaw(subject: string, payload: Uint8Array, hdrs?: MsgHdrs): boolean {
    if (this.isClosed) return false;
    try {
      this.nc.publish(subject, payload, hdrs ? { headers: hdrs } : undefined);
      return true;
    } catch (err) {
      this.opts.logger.warn({ event: 'link.publish_failed', subject, err }, 'publish failed');
      return false;
    }
  }

  /** Drains (bounded) then closes; safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await Promise.race([this.nc.drain(), delay(DRAIN_LIMIT_MS, undefined, { ref: false })]);
      } catch {
        // already closed or closing: fall through to close()
      }
      if (!this.nc.isClosed()) await this.nc.close();
    })();
    return this.closing;
  }
}
