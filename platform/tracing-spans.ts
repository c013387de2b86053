/**
 * Span helpers, split from tracing.ts so that code which records spans does not pull in the SDK's
 * start-up: messaging spans follow the OpenTelemetry messaging semantic conventions
 * (`startMessagingSpan`), plus INTERNAL spans, failure marking and events on the active span. All are
 * cheap no-ops with tracing off (callers check `tracingEnabled()` before doing any span work).
 */
import {
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { getTracer, tracingEnabled } from './tracing.js';

export const ATTR = {
  messagingSystem: 'messaging.system',
  destinationName: 'messaging.destination.name',
  destinationTemplate: 'messaging.destination.template',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  bodySize: 'messaging.message.body.size',
  consumerGroup: 'messaging.consumer.group.name',
  clientId: 'messaging.client.id',
  errorType: 'error.type',
  clusterKey: 'arcfleet.cluster.key',
  clusterName: 'arcfleet.cluster.name',
} as const;

/** Low-cardinality destination of an agent → hub subject: the cluster key is a template part. */
export function agentSubjectTemplate(agent: string, kind: string): string {
  return `arc.v1.{subscription}.{resourceGroup}.{cluster}.${agent}.${kind}`;
}

/**
 * `publish`: fire-and-forget (PRODUCER); `send`: a request expecting a reply (CLIENT); `process`: the
 * hub handling one inbound message (CONSUMER, or SERVER for a request).
 */
export type MessagingOperation = 'publish' | 'send' | 'process';

export interface MessagingSpanOptions {
  readonly operation: MessagingOperation;
  readonly subject: string;
  readonly template: string;
  readonly bodySize: number;
  /** For `process`: the message expects a reply. */
  readonly request?: boolean;
  /** Parent context (default: the active one). */
  readonly parent?: Context | undefined;
  readonly attributes?: Attributes;
}

export function startMessagingSpan(o: MessagingSpanOptions): Span {
  const kind =
    o.operation === 'publish'
      ? SpanKind.PRODUCER
      : o.operation === 'send'
        ? SpanKind.CLIENT
        : o.request
          ? SpanKind.SERVER
          : SpanKind.CONSUMER;
  return getTracer().startSpan(
    `${o.operation} ${o.template}`,
    {
      kind,
      attributes: {
        [ATTR.messagingSystem]: 'nats',
        [ATTR.destinationName]: o.subject,
        [ATTR.destinationTemplate]: o.template,
        [ATTR.operationType]: o.operation === 'process' ? 'process' : 'send',
        [ATTR.operationName]: o.operation,
        [ATTR.bodySize]: o.bodySize,
        ...o.attributes,
      },
    },
    o.parent ?? context.active(),
  );
}

/** Starts an INTERNAL span (a step of a flow, e.g. the onboarding) under `parent`. */
export function startInternalSpan(name: string, parent: Context, attributes?: Attributes): Span {
  return getTracer().startSpan(
    name,
    { kind: SpanKind.INTERNAL, ...(attributes ? { attributes } : {}) },
    parent,
  );
}

/** Marks a span failed with a stable error type (e.g. an error code or a request failure reason). */
export function failSpan(span: Span | undefined, errorType: string, message?: string): void {
  if (!span) return;
  span.setAttribute(ATTR.errorType, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, ...(message === undefined ? {} : { message }) });
}

/** Adds an event to the active span, if any (no-op when tracing is off). */
export function spanEvent(name: string, attributes?: Attributes): void {
  if (!tracingEnabled()) return;
  trace.getActiveSpan()?.addEvent(name, attributes);
}

/** Fails the active span, if any (no-op when tracing is off). */
export function failActiveSpan(errorType: string, message?: string): void {
  if (!tracingEnabled()) return;
  failSpan(trace.getActiveSpan(), errorType, message);
}
