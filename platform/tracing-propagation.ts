/**
 * W3C trace context carriers, split from tracing.ts because propagation is its own concern and works
 * whether or not the SDK runs. `traceparent` / `tracestate` travel in NATS message headers
 * (`injectTraceContext` / `extractTraceContext`) and, to carry the onboarding trace from
 * clusteridentityoperator to the other agents, in the identity secret (`traceFields` /
 * `contextFromTraceFields`). An invalid `traceparent` is ignored, as W3C requires: a new trace starts.
 */
import {
  ROOT_CONTEXT,
  defaultTextMapGetter,
  defaultTextMapSetter,
  type Context,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { MsgHdrs } from 'nats';

export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';

/** Always W3C Trace Context on the wire, whatever `OTEL_PROPAGATORS` says: it is our protocol. */
export const PROPAGATOR = new W3CTraceContextPropagator();

/** NATS headers as a propagation carrier (`MsgHdrs.get` answers '' for a missing key). */
export const natsHeaderGetter: TextMapGetter<MsgHdrs> = {
  keys: (carrier) => carrier.keys(),
  get: (carrier, key) => {
    const value = carrier.get(key);
    return value === '' ? undefined : value;
  },
};

export const natsHeaderSetter: TextMapSetter<MsgHdrs> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Writes `traceparent` (and `tracestate`) of `ctx`'s span into NATS headers; nothing without a span. */
export function injectTraceContext(ctx: Context, headers: MsgHdrs): void {
  PROPAGATOR.inject(ctx, headers, natsHeaderSetter);
}

/** The remote span context carried by NATS headers, on top of `base`; `base` when there is none or it is invalid. */
export function extractTraceContext(headers: MsgHdrs | undefined, base: Context = ROOT_CONTEXT): Context {
  return headers ? PROPAGATOR.extract(base, headers, natsHeaderGetter) : base;
}

/** W3C trace context as plain fields (stored in the identity secret). */
export interface TraceFields {
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

export function traceFields(ctx: Context): TraceFields {
  const carrier: Record<string, string> = {};
  PROPAGATOR.inject(ctx, carrier, defaultTextMapSetter);
  const out: { traceparent?: string; tracestate?: string } = {};
  if (carrier[HEADER_TRACEPARENT] !== undefined) out.traceparent = carrier[HEADER_TRACEPARENT];
  if (carrier[HEADER_TRACESTATE] !== undefined) out.tracestate = carrier[HEADER_TRACESTATE];
  return out;
}

export function contextFromTraceFields(fields: TraceFields, base: Context = ROOT_CONTEXT): Context {
  if (fields.traceparent === undefined) return base;
  const carrier: Record<string, string> = { [HEADER_TRACEPARENT]: fields.traceparent };
  if (fields.tracestate !== undefined) carrier[HEADER_TRACESTATE] = fields.tracestate;
  return PROPAGATOR.extract(base, carrier, defaultTextMapGetter);
}
