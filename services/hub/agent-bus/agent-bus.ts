/**
 * The hub's NATS boundary: every inbound agent message is size-checked, decoded, validated,
 * authenticated and dispatched. A bad message is rejected, counted by reason and logged; it never
 * throws out of here.
 */
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import type { Msg, NatsConnection, Subscription } from 'nats';
import {
  ArcError,
  ERROR_CODES,
  MessageRejectedError,
  isArcError,
  type ErrorCode,
  DESIRED_STATE_MAX_BYTES,
  agentMessageSchema,
  controlMessageSchema,
  decodeMessage,
  desiredStateReplySchema,
  encodeMessage,
  type ControlMessage,
  type ErrorReply,
  type HubReply,
  PROTOCOL_VERSION,
  parseAgentSubject,
  subjects,
  type ClusterRef,
} from '../../../contract/index.js';
import { HEADER_IDENTITY, HEADER_SIGNATURE } from '../../../platform/identity.js';
import type { Logger } from '../../../platform/log.js';
import {
  ATTR,
  agentSubjectTemplate,
  extractTraceContext,
  failActiveSpan,
  startMessagingSpan,
  tracingEnabled,
} from '../../../platform/tracing.js';
import type { ConfigurationService } from '../configuration/service.js';
import type { Hub } from '../connected-clusters/connected-clusters.js';
import type { HubMetrics } from '../metrics.js';

export interface AgentGatewayOptions {
  nc: NatsConnection;
  hub: () => Hub | undefined;
  /** Extensions / Flux configurations (`config-pull`, `config-status`); refused while undefined. */
  configuration?: () => ConfigurationService | undefined;
  metrics: HubMetrics;
  logger: Logger;
  maxMessageBytes: number;
}

export class AgentGateway {
  private sub: Subscription | undefined;

  constructor(private readonly opts: AgentGatewayOptions) {}

  start(): void {
    this.sub = this.opts.nc.subscribe(subjects.hubInbound, {
      queue: 'hub',
      callback: (err, msg) => {
        if (err) {
          this.opts.logger.warn({ event: 'hub.subscription_error', err }, 'subscription error');
          return;
        }
        this.handle(msg);
      },
    });
  }

  publishControl(ref: ClusterRef, message: ControlMessage): void {
    // Validate our own output too: the contract is checked on both sides.
    const checked = controlMessageSchema.parse(message);
    this.opts.nc.publish(subjects.control(ref), encodeMessage(checked));
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

  private handleMessage(msg: Msg): void {
    try {
      this.dispatch(msg);
    } catch (err) {
      const code: ErrorCode = isArcError(err) ? err.code : ERROR_CODES.InternalServerError;
      const message = err instanceof Error ? err.message : String(err);
      failActiveSpan(code, message);
      this.opts.metrics.rejected.inc({ reason: code });
      this.opts.logger.warn(
        { event: 'hub.message_rejected', subject: msg.subject, reason: code, detail: message },
        'agent message rejected',
      );
      if (msg.reply) {
        const reply: ErrorReply = { v: PROTOCOL_VERSION, type: 'error', code, message };
        msg.respond(encodeMessage(reply));
      }
    }
  }

  private dispatch(msg: Msg): void {
    const parsed = parseAgentSubject(msg.subject);
    if (!parsed)
      throw new MessageRejectedError(
        ERROR_CODES.InvalidMessage,
        `unknown subject ${msg.subject}`,
        msg.subject,
      );
    const body = decodeMessage(agentMessageSchema, msg.data, msg.subject, this.opts.maxMessageBytes);
    if (body.type !== parsed.kind || body.agent !== parsed.agent)
      throw new MessageRejectedError(
        ERROR_CODES.InvalidMessage,
        `message ${body.agent}/${body.type} does not match its subject`,
        msg.subject,
      );
    const hub = this.opts.hub();
    if (!hub)
      throw new ArcError(ERROR_CODES.ServiceUnavailable, 'the hub is still loading its projections', {
        status: 503,
      });
    const signature = msg.headers?.get(HEADER_SIGNATURE) || undefined;
    if (body.type === 'register') {
      const reply = hub.register(parsed.key, body, msg.subject, msg.data, signature);
      this.respondWhenPersisted(msg, parsed.key, reply);
      return;
    }
    const certificate = msg.headers?.get(HEADER_IDENTITY) || undefined;
    const { record, claims } = hub.authenticate(parsed.key, certificate, signature, msg.subject, msg.data);
    switch (body.type) {
      case 'heartbeat':
        hub.heartbeat(record, body);
        if (msg.reply) msg.respond(encodeMessage({ v: PROTOCOL_VERSION, type: 'ack' }));
        return;
      case 'metadata': {
        this.respondWhenPersisted(msg, record.key, hub.metadata(record, body));
        return;
      }
      case 'renew': {
        this.respondWhenPersisted(msg, record.key, hub.renew(record, claims));
        return;
      }
      case 'agent-health': {
        this.respondWhenPersisted(msg, record.key, hub.agentHealth(record, body));
        return;
      }
      case 'config-pull': {
        const reply = desiredStateReplySchema.parse(this.configuration().desiredState(record, body.agent));
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
      case 'config-status': {
        const configuration = this.configuration();
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

  private configuration(): ConfigurationService {
    const c = this.opts.configuration?.();
    if (!c)
      throw new ArcError(ERROR_CODES.ServiceUnavailable, 'the hub is still loading its configuration', {
        status: 503,
      });
    return c;
  }

  /**
   * A certificate, a metadata or an agent-health ack is sent once the change is in KV: an agent that has its answer
   * never resends, so an answer the hub could still lose in a crash would lose the change.
   */
  private respondWhenPersisted(msg: Msg, key: string, reply: HubReply): void {
    if (!msg.reply) return;
    const hub = this.opts.hub();
    if (!hub) return;
    hub.persisted(key).then(
      () => msg.respond(encodeMessage(reply)),
      // Closing: no answer; the agent times out and asks the next hub.
      () => undefined,
    );
  }

  async close(): Promise<void> {
    await this.sub?.drain();
  }
}
