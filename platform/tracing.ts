/**
 * Tracing (OpenTelemetry), configured ONLY by the standard `OTEL_*` variables and OFF unless an OTLP
 * endpoint is set. Off, no SDK is loaded or created and every helper here is a cheap no-op (callers
 * check `tracingEnabled()` before doing any span work), so a message costs nothing extra.
 *
 * - `initTelemetry` starts `@opentelemetry/sdk-node` with an OTLP/HTTP span exporter (protobuf, or JSON
 *   with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) behind the SDK's batch span processor (`OTEL_BSP_*`)
 *   and sampler (`OTEL_TRACES_SAMPLER`). Telemetry never crashes a service: bad settings are logged and
 *   fall back, export failures go to one rate-limited handler, a failed start leaves tracing off.
 * - W3C trace context (`traceparent`, `tracestate`) travels in NATS message headers
 *   (`injectTraceContext` / `extractTraceContext`) and, to carry the onboarding trace from
 *   clusteridentityoperator to the other agents, in the identity secret (`traceFields` /
 *   `contextFromTraceFields`). An invalid `traceparent` is ignored, as W3C requires: a new trace starts.
 * - Messaging spans follow the OpenTelemetry messaging semantic conventions (`startMessagingSpan`).
 */
import { createRequire } from 'node:module';
import {
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  trace,
  type Attributes,
  type Context,
  type DiagLogger,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import {
  W3CTraceContextPropagator,
  diagLogLevelFromString,
  setGlobalErrorHandler,
} from '@opentelemetry/core';
import type * as OtlpHttpJson from '@opentelemetry/exporter-trace-otlp-http';
import type * as OtlpHttpProto from '@opentelemetry/exporter-trace-otlp-proto';
import type * as SdkNode from '@opentelemetry/sdk-node';
import type { MsgHdrs } from 'nats';
import type { Env } from './settings.js';
import type { Logger } from './log.js';

/** The standard variables this module reads itself (the SDK and exporter read the others). */
export const OTEL_ENV = {
  sdkDisabled: 'OTEL_SDK_DISABLED',
  endpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  tracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  protocol: 'OTEL_EXPORTER_OTLP_PROTOCOL',
  tracesProtocol: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  tracesExporter: 'OTEL_TRACES_EXPORTER',
  serviceName: 'OTEL_SERVICE_NAME',
  logLevel: 'OTEL_LOG_LEVEL',
} as const;

/** Read by the SDK or the exporter; documented beside `OTEL_ENV` in docs/configuration.md. */
export const OTEL_SDK_ENV = [
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_RESOURCE_ATTRIBUTES',
] as const;

export type OtlpHttpProtocol = 'http/protobuf' | 'http/json';

export interface TracingConfig {
  readonly enabled: boolean;
  /** `OTEL_SERVICE_NAME`, else the service's own name. */
  readonly serviceName: string;
  readonly protocol: OtlpHttpProtocol;
  /** Where spans are sent (the traces URL), when enabled. */
  readonly tracesUrl: string | undefined;
  /** Why tracing is off, when it is. */
  readonly offReason: string | undefined;
  /** Settings that were ignored or replaced, one sentence each (logged as warnings). */
  readonly warnings: readonly string[];
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && v.trim().toLowerCase() === 'true';
}

function nonEmpty(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** Pure: what the `OTEL_*` variables ask for. Bad values become warnings and fall back. */
export function tracingConfig(env: Env, defaultServiceName: string): TracingConfig {
  const warnings: string[] = [];
  const serviceName = nonEmpty(env, OTEL_ENV.serviceName) ?? defaultServiceName;
  let protocol: OtlpHttpProtocol = 'http/protobuf';
  const protocolVar = nonEmpty(env, OTEL_ENV.tracesProtocol) ? OTEL_ENV.tracesProtocol : OTEL_ENV.protocol;
  const askedProtocol = nonEmpty(env, protocolVar);
  if (askedProtocol === 'http/json') protocol = 'http/json';
  else if (askedProtocol !== undefined && askedProtocol !== 'http/protobuf')
    warnings.push(`${protocolVar}="${askedProtocol}" is not supported (OTLP/HTTP only); using http/protobuf`);
  const off = (offReason: string): TracingConfig => ({
    enabled: false,
    serviceName,
    protocol,
    tracesUrl: undefined,
    offReason,
    warnings,
  });

  if (isTrue(env[OTEL_ENV.sdkDisabled])) return off(`${OTEL_ENV.sdkDisabled}=true`);
  const exporters = (nonEmpty(env, OTEL_ENV.tracesExporter) ?? 'otlp')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (exporters.length === 1 && exporters[0] === 'none') return off(`${OTEL_ENV.tracesExporter}=none`);
  if (exporters.some((e) => e !== 'otlp'))
    warnings.push(`${OTEL_ENV.tracesExporter}="${exporters.join(',')}": only otlp is supported; using otlp`);

  const tracesEndpoint = nonEmpty(env, OTEL_ENV.tracesEndpoint);
  const baseEndpoint = nonEmpty(env, OTEL_ENV.endpoint);
  const endpointVar = tracesEndpoint !== undefined ? OTEL_ENV.tracesEndpoint : OTEL_ENV.endpoint;
  const endpoint = tracesEndpoint ?? baseEndpoint;
  if (endpoint === undefined)
    return off(`neither ${OTEL_ENV.tracesEndpoint} nor ${OTEL_ENV.endpoint} is set`);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    warnings.push(`${endpointVar}="${endpoint}" is not a URL; tracing stays off`);
    return off(`${endpointVar} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    warnings.push(`${endpointVar}="${endpoint}" is not an http(s) URL; tracing stays off`);
    return off(`${endpointVar} is not an http(s) URL`);
  }
  const tracesUrl = tracesEndpoint !== undefined ? url.href : `${url.href.replace(/\/+$/, '')}/v1/traces`;
  return { enabled: true, serviceName, protocol, tracesUrl, offReason: undefined, warnings };
}

// ---------------------------------------------------------------------------------------------
// Process-wide state
// ---------------------------------------------------------------------------------------------

let active = false;

/** True once `initTelemetry` started an SDK (and until its shutdown). */
export function tracingEnabled(): boolean {
  return active;
}

export function getTracer(): Tracer {
  return trace.getTracer('arcfleet');
}

export interface Telemetry {
  readonly enabled: boolean;
  readonly config: TracingConfig;
  /** Flushes pending spans (bounded) and stops the SDK; never throws; safe to call twice. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  /** The variables (the SDK and the exporter read `process.env` themselves: pass `process.env`). */
  readonly env: Env;
  readonly logger: Logger;
  /** Real ms a shutdown waits for the last export (default 3000). */
  readonly shutdownTimeoutMs?: number;
}

/**
 * Logs at most one line per key and interval, with the number of suppressed repeats; so an
 * unreachable collector costs one warning a minute, not one per batch.
 */
export class RateLimitedReporter {
  private readonly seen = new Map<string, { atMs: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns true when the line was written. */
  report(event: string, message: string, err?: unknown): boolean {
    const key = `${event}\u0000${message.slice(0, 120)}`;
    const nowMs = this.now();
    const last = this.seen.get(key);
    if (last && nowMs - last.atMs < this.intervalMs) {
      last.suppressed++;
      return false;
    }
    if (this.seen.size >= 200) this.seen.clear();
    this.seen.set(key, { atMs: nowMs, suppressed: 0 });
    this.logger.warn(
      { event, detail: message, suppressed: last?.suppressed ?? 0, ...(err === undefined ? {} : { err }) },
      message,
    );
    return true;
  }
}

function diagAdapter(logger: Logger, reporter: RateLimitedReporter): DiagLogger {
  const text = (message: string, args: unknown[]): string =>
    args.length === 0
      ? message
      : `${message} ${args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`;
  const quiet = (message: string, ...args: unknown[]): void =>
    logger.debug({ event: 'telemetry.diag', detail: text(message, args) }, 'opentelemetry');
  return {
    error: (message, ...args) => void reporter.report('telemetry.diag', text(message, args)),
    warn: (message, ...args) => void reporter.report('telemetry.diag', text(message, args)),
    info: quiet,
    debug: quiet,
    verbose: quiet,
  };
}

const OFF_SHUTDOWN = (): Promise<void> => Promise.resolve();

/**
 * Starts tracing when an OTLP endpoint is configured; otherwise returns at once without loading the
 * SDK. Call it first in a service's main, and `shutdown()` on SIGTERM.
 */
export function initTelemetry(defaultServiceName: string, opts: TelemetryOptions): Telemetry {
  const { logger } = opts;
  const config = tracingConfig(opts.env, defaultServiceName);
  for (const w of config.warnings) logger.warn({ event: 'telemetry.config_ignored', detail: w }, w);
  if (!config.enabled) {
    logger.debug({ event: 'telemetry.off', reason: config.offReason }, 'tracing off');
    return { enabled: false, config, shutdown: OFF_SHUTDOWN };
  }
  try {
    return startSdk(config, opts);
  } catch (err) {
    active = false;
    logger.warn({ event: 'telemetry.start_failed', err }, 'tracing could not start; continuing without it');
    return { enabled: false, config, shutdown: OFF_SHUTDOWN };
  }
}

function startSdk(config: TracingConfig, opts: TelemetryOptions): Telemetry {
  const { logger } = opts;
  // Loaded only here: with tracing off the SDK is never required, let alone created.
  const load = createRequire(import.meta.url);
  const { NodeSDK } = load('@opentelemetry/sdk-node') as typeof SdkNode;
  const exporter =
    config.protocol === 'http/json'
      ? new (load('@opentelemetry/exporter-trace-otlp-http') as typeof OtlpHttpJson).OTLPTraceExporter()
      : new (load('@opentelemetry/exporter-trace-otlp-proto') as typeof OtlpHttpProto).OTLPTraceExporter();
  const reporter = new RateLimitedReporter(logger);
  const diagLevel = diagLogLevelFromString(nonEmpty(opts.env, OTEL_ENV.logLevel)) ?? DiagLogLevel.WARN;
  const setDiag = (): void => {
    diag.setLogger(diagAdapter(logger, reporter), { logLevel: diagLevel, suppressOverrideMessage: true });
  };
  setDiag();
  setGlobalErrorHandler((err) => {
    const message = err instanceof Error ? err.message : typeof err === 'string' ? err : JSON.stringify(err);
    reporter.report('telemetry.export_failed', `span export failed: ${message}`);
  });
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    traceExporter: exporter,
    textMapPropagator: PROPAGATOR,
    instrumentations: [],
    // Tracing only: metrics are Prometheus (/metrics), logs are JSON on stdout.
    metricReaders: [],
    logRecordProcessors: [],
  });
  // The SDK installs a console logger for OTEL_LOG_LEVEL; ours keeps the logs JSON.
  setDiag();
  sdk.start();
  active = true;
  logger.info(
    {
      event: 'telemetry.started',
      serviceName: config.serviceName,
      protocol: config.protocol,
      tracesUrl: config.tracesUrl,
    },
    `tracing to ${config.tracesUrl}`,
  );
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    config,
    shutdown: () =>
      (stopping ??= (async () => {
        active = false;
        const timeoutMs = opts.shutdownTimeoutMs ?? 3000;
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            sdk.shutdown(),
            new Promise<void>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
              timer.unref();
            }),
          ]);
        } catch (err) {
          logger.warn({ event: 'telemetry.shutdown_failed', err }, 'last spans may be lost');
        } finally {
          clearTimeout(timer);
        }
      })()),
  };
}

// ---------------------------------------------------------------------------------------------
// W3C trace context carriers
// ---------------------------------------------------------------------------------------------

export const HEADER_TRACEPARENT = 'traceparent';
export const HEADER_TRACESTATE = 'tracestate';

/** Always W3C Trace Context on the wire, whatever `OTEL_PROPAGATORS` says: it is our protocol. */
const PROPAGATOR = new W3CTraceContextPropagator();

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

// ---------------------------------------------------------------------------------------------
// Messaging spans (OpenTelemetry messaging semantic conventions)
// ---------------------------------------------------------------------------------------------

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
  if (!active) return;
  trace.getActiveSpan()?.addEvent(name, attributes);
}

/** Fails the active span, if any (no-op when tracing is off). */
export function failActiveSpan(errorType: string, message?: string): void {
  if (!active) return;
  failSpan(trace.getActiveSpan(), errorType, message);
}
