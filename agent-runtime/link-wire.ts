/**
 * The wire-level pieces of an `AgentLink`, apart from its life cycle: tracing of outbound messages,
 * turning a NATS request into a `RequestResult` that never throws, and the control subscription.
 * Plain functions over a connection, so the link class stays about credentials and closing.
 */
import { context, trace, type Context, type Span } from '@opentelemetry/api';
import { headers, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';
import {
  controlMessageSchema,
  decodeMessage,
  hubReplySchema,
  subjects,
  type AgentName,
  type ClusterRef,
  type ControlMessage,
  type HubReply,
  type MessageKind,
} from '../contract/index.js';
import type { Logger } from '../platform/log.js';
import { tracingEnabled } from '../platform/tracing.js';
import { injectTraceContext } from '../platform/tracing-propagation.js';
import { ATTR, agentSubjectTemplate, startMessagingSpan } from '../platform/tracing-spans.js';

export type RequestFailure = 'timeout' | 'no-responders' | 'invalid-reply' | 'closed' | 'failed';

export type RequestResult =
  | { readonly ok: true; readonly reply: HubReply }
  | { readonly ok: false; readonly reason: RequestFailure; readonly error: Error };

/**
 * Starts the messaging span of an outbound message and puts its context in the headers, so the hub's
 * span continues the agent's trace. Undefined with tracing off (no cost per message).
 */
/** Headers for an outbound message's trace context; none (no header bytes at all) without tracing. */
export function traceHeaders(): MsgHdrs | undefined {
  return tracingEnabled() ? headers() : undefined;
}

export function traceOutbound(
  pair: { readonly agentName: AgentName; readonly ref: ClusterRef },
  operation: 'publish' | 'send',
  kind: MessageKind,
  subject: string,
  payload: Uint8Array,
  headers: MsgHdrs | undefined,
  parent: Context | undefined,
): Span | undefined {
  if (!tracingEnabled() || !headers) return undefined;
  const base = parent ?? context.active();
  const span = startMessagingSpan({
    operation,
    subject,
    template: agentSubjectTemplate(pair.agentName, kind),
    bodySize: payload.length,
    parent: base,
    attributes: { [ATTR.clusterName]: pair.ref.name },
  });
  injectTraceContext(trace.setSpan(base, span), headers);
  return span;
}

export interface ExchangeOptions {
  readonly timeoutMs: number;
  readonly maxReplyBytes: number;
  readonly logger: Logger;
  /** Whether the link was closed (a failure then reads `closed`, whatever nats.js called it). */
  readonly isClosed: () => boolean;
}

/** One request/reply, classified: agents decide retry or give-up from `reason`, never from exceptions. */
export async function exchange(
  nc: NatsConnection,
  subject: string,
  payload: Uint8Array,
  headers: MsgHdrs | undefined,
  opts: ExchangeOptions,
): Promise<RequestResult> {
  let data: Uint8Array;
  try {
    const msg = await nc.request(subject, payload, {
      timeout: opts.timeoutMs,
      ...(headers ? { headers } : {}),
    });
    data = msg.data;
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    const code = (err as { code?: unknown }).code;
    const reason: RequestFailure =
      code === 'TIMEOUT'
        ? 'timeout'
        : code === '503'
          ? 'no-responders'
          : code === 'CONNECTION_CLOSED' || opts.isClosed()
            ? 'closed'
            : 'failed';
    return { ok: false, reason, error };
  }
  try {
    return { ok: true, reply: decodeMessage(hubReplySchema, data, subject, opts.maxReplyBytes) };
  } catch (err) {
    opts.logger.warn({ event: 'link.reply_invalid', subject, err }, 'invalid reply from the hub');
    return { ok: false, reason: 'invalid-reply', error: err as Error };
  }
}

/**
 * Subscribes to the cluster's control subject. Invalid messages are counted (`onInvalid`) and logged,
 * never passed on; a throwing handler is logged, so one bad message cannot kill the subscription.
 */
export function subscribeControl(
  nc: NatsConnection,
  ref: ClusterRef,
  opts: {
    readonly logger: Logger;
    readonly maxMessageBytes: number;
    readonly onControl: ((message: ControlMessage) => void) | undefined;
    readonly onInvalid: () => number;
  },
): Subscription {
  const subject = subjects.control(ref);
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) {
        opts.logger.warn({ event: 'link.control_error', subject, err }, 'control subscription error');
        return;
      }
      let control: ControlMessage;
      try {
        control = decodeMessage(controlMessageSchema, msg.data, subject, opts.maxMessageBytes);
      } catch (e) {
        const count = opts.onInvalid();
        opts.logger.warn(
          { event: 'link.control_invalid', subject, count, err: e },
          'invalid control message ignored',
        );
        return;
      }
      try {
        opts.onControl?.(control);
      } catch (e) {
        opts.logger.error({ event: 'link.control_handler_failed', subject, err: e }, 'control handler threw');
      }
    },
  });
}
