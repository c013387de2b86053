/**
 * The hub's NATS boundary with the agents (inbound): every agent message is size-checked, decoded,
 * validated, matched to its cluster's record (the subject names the cluster: the broker let only that
 * cluster's user publish there) and dispatched to the agent protocol (agent-protocol.ts) or to
 * configuration/, and answered. A bad message is rejected, counted by reason and logged; it never
 * throws out of here. Control messages to the agents go out through control.ts.
 */
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { Msg, NatsConnection, Subscription } from 'nats';
import {
  ERROR_CODES,
  MessageRejectedError,
  isArcError,
  type ErrorCode,
  DESIRED_STATE_MAX_BYTES,
  decodeAgentMessage,
  desiredStateReplySchema,
  encodeMessage,
  type ErrorReply,
  type HubReply,
  type IdentityReply,
  PROTOCOL_VERSION,
  parseAgentSubject,
  subjects,
  type ParsedAgentSubject,
} from '../../../contract/index.js';
import type { Logger } from '../../../platform/log.js';
import { RateLimitedReporter } from '../../../platform/rate-limited-log.js';
import { tracingEnabled } from '../../../platform/tracing.js';
import { extractTraceContext } from '../../../platform/tracing-propagation.js';
import {
  ATTR,
  agentSubjectTemplate,
  failActiveSpan,
  startMessagingSpan,
} from '../../../platform/tracing-spans.js';
import type { ConfigurationService } from '../configuration/service.js';
import type { HubMetrics } from '../metrics.js';
import type { BrokerUsers } from '../broker/broker-users.js';
import { HEARTBEAT_SUBJECT, SERVICE_AGENT_SUBJECTS } from '../../../platform/broker-trust.js';
import type { Leadership } from '../persistence/leader-lease.js';
import type { AgentMessages } from './agent-protocol.js';
import type { FluxLogs } from '../flux-logs/flux-logs.js';
import type { AgentReleases } from '../releases/agent-releases.js';

export interface AgentBusOptions {
  /** Register, renew, heartbeat, metadata, agent-health. */
  protocol: AgentMessages;
  /** Extensions / Flux configurations (`config-pull`, `config-status`). */
  configuration: Pick<ConfigurationService, 'desiredState' | 'status' | 'persisted'>;
  /** Flux logs from flux-logs-agent (`flux-logs`); none: refused (a hub built for a test or bench). */
  fluxLogs?: Pick<FluxLogs, 'ingest'> | undefined;
  /** Agent releases (`upgrade-check`); none: refused (a hub built for a test or bench). */
  releases?: Pick<AgentReleases, 'plan'> | undefined;
  metrics: Pick<HubMetrics, 'rejected'>;
  logger: Logger;
  maxMessageBytes: number;
  /** Mints the cluster's broker user for identity replies; none: a broker without accounts. */
  broker?: Pick<BrokerUsers, 'clusterJwt'> | undefined;
  /**
   * Several hub replicas: requests in the `hub` queue group (one replica answers), heartbeats to
   * every replica (no queue group), answered by the leader only. `sync` is the clusters bucket's
   * read-your-writes barrier (kv-watch.ts).
   */
  replicas?: { leadership: Leadership; sync(): Promise<void> } | undefined;
}

/** The agent → hub subjects but heartbeats, one message kind deep (cluster-connect frames are not ours). */
const REQUEST_SUBJECTS = SERVICE_AGENT_SUBJECTS.map((s) => s.replace(/\.>$/, '.*'));

const SUBJECT_CACHE_MAX = 200_000;

/** Refusals that follow from a cluster's record, which a replica may not hold the latest of yet. */
const RECORD_REFUSALS: ReadonlySet<string> = new Set([
  ERROR_CODES.IdentityRevoked,
  ERROR_CODES.InvalidBootstrapToken,
  ERROR_CODES.IdentityInvalid,
  ERROR_CODES.ClusterExpired,
]);

export class AgentBus {
  private readonly subs: Subscription[] = [];
  /** This replica's own queue group for heartbeats. */
  private readonly heartbeatGroup = `hub-heartbeats-${randomUUID()}`;

  /** A cluster can send invalid messages as fast as it likes: every one is counted, few are logged. */
  private readonly rejections: RateLimitedReporter;

  constructor(private readonly opts: AgentBusOptions) {
    this.rejections = new RateLimitedReporter(opts.logger, 10_000);
  }

  /** Subscribes on the connection to one broker node (node-listeners.ts); called once per node. */
  listen(nc: NatsConnection): void {
    const callback = (err: Error | null, msg: Msg): void => {
      if (err) {
        this.opts.logger.warn({ event: 'hub.subscription_error', err }, 'subscription error');
        return;
      }
      this.handle(msg);
    };
    if (!this.opts.replicas) {
      this.subs.push(nc.subscribe(subjects.hubInbound, { queue: 'hub', callback }));
      return;
    }
    // Requests: one replica answers. Heartbeats: every replica gets each once, so each replica's
    // subscriptions on the nodes form a queue group of their own (NATS prefers the member on the node
    // the message came in on).
    this.subs.push(
      ...REQUEST_SUBJECTS.map((subject) => nc.subscribe(subject, { queue: 'hub', callback })),
      nc.subscribe(HEARTBEAT_SUBJECT, { queue: this.heartbeatGroup, callback }),
    );
  }

  handle(msg: Msg): void {
    if (!tracingEnabled()) {
      this.handleMessage(msg);
      return;
    }
    // One CONSUMER (SERVER for a request) span per inbound message, child of the sender's span.
    let parent = ROOT_CONTEXT;
    try {
      parent = extractTraceContext(msg.headers);
    } catch {
      // Unreadable headers: dispatch refuses the message; its span starts a new trace.
    }
    const parsed = parseAgentSubject(msg.subject);
    const span = startMessagingSpan({
      operation: 'process',
      subject: msg.subject,
      template: parsed ? agentSubjectTemplate(parsed.agent, parsed.kind) : subjects.hubInbound,
      bodySize: msg.data.length,
      request: msg.reply !== undefined && msg.reply !== '',
      parent,
      attributes: {
        [ATTR.consumerGroup]: 'hub',
        ...(parsed ? { [ATTR.clusterKey]: parsed.key } : {}),
      },
    });
    try {
      context.with(trace.setSpan(parent, span), () => this.handleMessage(msg));
    } finally {
      span.end();
    }
  }

  private handleMessage(msg: Msg, synced = false): void {
    try {
      this.dispatch(msg);
    } catch (err) {
      if (!synced && this.mayBeBehind(err)) {
        this.afterSync(msg);
        return;
      }
      this.reject(msg, err);
    }
  }

  /**
   * A replica refuses for what a record says (none, another token or key, Expired) only once it holds
   * every write made before the message came: another replica may have just written the record (an
   * onboarding PUT answered there), and these are refusals the agent stops on for good
   * (DEFINITIVE_REGISTER_ERRORS, HALTING_ERRORS).
   */
  private mayBeBehind(err: unknown): boolean {
    return this.opts.replicas !== undefined && isArcError(err) && RECORD_REFUSALS.has(err.code);
  }

  private afterSync(msg: Msg): void {
    this.opts.replicas!.sync().then(
      () => this.handleMessage(msg, true),
      // The store cannot say (a broker failover): a retryable refusal, so the agent asks again.
      (err: unknown) => this.reject(msg, err),
    );
  }

  private reject(msg: Msg, err: unknown): void {
    const code: ErrorCode = isArcError(err) ? err.code : ERROR_CODES.InternalServerError;
    const message = err instanceof Error ? err.message : String(err);
    failActiveSpan(code, message);
    this.opts.metrics.rejected.inc({ reason: code });
    this.rejections.report('hub.message_rejected', message, undefined, {
      key: code,
      fields: { subject: msg.subject, reason: code },
    });
    if (msg.reply) {
      const reply: ErrorReply = { v: PROTOCOL_VERSION, type: 'error', code, message };
      msg.respond(encodeMessage(reply));
    }
  }

  /** Parsed subjects: a fleet has few (clusters × kinds); bounded all the same. */
  private readonly subjects = new Map<string, ParsedAgentSubject | undefined>();

  private parse(subject: string): ParsedAgentSubject | undefined {
    if (this.subjects.has(subject)) return this.subjects.get(subject);
    const parsed = parseAgentSubject(subject);
    if (this.subjects.size >= SUBJECT_CACHE_MAX) this.subjects.clear();
    this.subjects.set(subject, parsed);
    return parsed;
  }

  private dispatch(msg: Msg): void {
    const parsed = this.parse(msg.subject);
    if (!parsed)
      throw new MessageRejectedError(
        ERROR_CODES.InvalidMessage,
        `unknown subject ${msg.subject}`,
        msg.subject,
      );
    const body = decodeAgentMessage(parsed.kind, msg.data, msg.subject, this.opts.maxMessageBytes);
    if (body.type !== parsed.kind || body.agent !== parsed.agent)
      throw new MessageRejectedError(
        ERROR_CODES.InvalidMessage,
        `message ${body.agent}/${body.type} does not match its subject`,
        msg.subject,
      );
    const protocol = this.opts.protocol;
    if (body.type === 'register') {
      const reply = protocol.register(parsed.key, body);
      this.respondWhenPersisted(msg, parsed.key, this.withBrokerUser(parsed.key, body.agentPublicKey, reply));
      return;
    }
    const record = protocol.recordOf(parsed.key);
    switch (body.type) {
      case 'heartbeat':
        protocol.heartbeat(record, body);
        if (msg.reply && (this.opts.replicas?.leadership.isLeader() ?? true))
          msg.respond(encodeMessage({ v: PROTOCOL_VERSION, type: 'ack' }));
        return;
      case 'metadata': {
        this.respondWhenPersisted(msg, record.key, protocol.metadata(record, body));
        return;
      }
      case 'renew': {
        const reply = protocol.renew(record);
        const spki = record.desired.agentPublicKeyCertificate;
        this.respondWhenPersisted(msg, record.key, this.withBrokerUser(record.key, spki, reply));
        return;
      }
      case 'agent-health': {
        this.respondWhenPersisted(msg, record.key, protocol.agentHealth(record, body));
        return;
      }
      case 'config-pull': {
        const reply = desiredStateReplySchema.parse(this.opts.configuration.desiredState(record, body.agent));
        const encoded = encodeMessage(reply);
        // Counted, logged and answered as an error (handleMessage): the agent logs it and retries.
        if (encoded.byteLength > DESIRED_STATE_MAX_BYTES)
          throw new MessageRejectedError(
            ERROR_CODES.MessageTooLarge,
            `the desired state of ${record.ref.name} for ${body.agent} is ${encoded.byteLength} bytes, more than the ${DESIRED_STATE_MAX_BYTES} one message carries; remove settings or resources`,
            msg.subject,
          );
        if (msg.reply) msg.respond(encoded);
        return;
      }
      case 'flux-logs': {
        // Acknowledged once JetStream holds the entries; a failure is an error reply, and the agent resends.
        const fluxLogs = this.opts.fluxLogs;
        if (!fluxLogs)
          throw new MessageRejectedError(
            ERROR_CODES.InvalidMessage,
            'this hub keeps no Flux logs',
            msg.subject,
          );
        fluxLogs.ingest(record, body, msg.subject).then(
          (reply) => msg.respond(encodeMessage(reply)),
          (err: unknown) => this.reject(msg, err),
        );
        return;
      }
      case 'upgrade-check': {
        // Read-only: answered at once from the releases and the cluster's profile.
        const releases = this.opts.releases;
        if (!releases)
          throw new MessageRejectedError(
            ERROR_CODES.InvalidMessage,
            'this hub offers no agent releases',
            msg.subject,
          );
        if (msg.reply) msg.respond(encodeMessage(releases.plan(record, body)));
        return;
      }
      case 'config-status': {
        const configuration = this.opts.configuration;
        const reply = configuration.status(record, body, msg.subject);
        if (!msg.reply) return;
        configuration.persisted(record.key).then(
          () => msg.respond(encodeMessage(reply)),
          () => undefined,
        );
        return;
      }
    }
  }

  /**
   * A certificate, a metadata or an agent-health ack is sent once the change is in KV: an agent that has its answer
   * never resends, so an answer the hub could still lose in a crash would lose the change.
   */
  private respondWhenPersisted(msg: Msg, key: string, reply: HubReply | Promise<HubReply>): void {
    if (!msg.reply) return;
    Promise.all([this.opts.protocol.persisted(key), reply]).then(
      ([, answer]) => msg.respond(encodeMessage(answer)),
      // Closing: no answer; the agent times out and asks the next hub.
      () => undefined,
    );
  }

  /**
   * The identity reply with the cluster's broker user (valid until the certificate's expiry). Minting
   * cannot fail for a valid key; if it does, the agent gets a retryable error and asks again.
   */
  private async withBrokerUser(key: string, agentSpki: string, reply: IdentityReply): Promise<HubReply> {
    const broker = this.opts.broker;
    if (!broker) return reply;
    try {
      const natsUserJwt = await broker.clusterJwt(key, agentSpki, Date.parse(reply.notAfter));
      return { ...reply, natsUserJwt };
    } catch (err) {
      this.opts.metrics.rejected.inc({ reason: ERROR_CODES.InternalServerError });
      this.opts.logger.error({ event: 'hub.broker_user_failed', key, err }, 'could not mint the broker user');
      const message = 'the broker credentials could not be issued; retry';
      return { v: PROTOCOL_VERSION, type: 'error', code: ERROR_CODES.InternalServerError, message };
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.subs.map((s) => s.drain()));
  }
}
