import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  ROOT_CONTEXT,
  TraceFlags,
  context,
  diag,
  propagation,
  trace,
  type Context,
} from '@opentelemetry/api';
import { headers } from 'nats';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RateLimitedReporter } from '../../platform/rate-limited-log.js';
import { initTelemetry, tracingEnabled } from '../../platform/tracing.js';
import {
  HEADER_TRACEPARENT,
  HEADER_TRACESTATE,
  contextFromTraceFields,
  extractTraceContext,
  injectTraceContext,
  traceFields,
} from '../../platform/tracing-propagation.js';
import { OTEL_ENV, OTEL_SDK_ENV, tracingConfig } from '../../platform/tracing-settings.js';
import { agentSubjectTemplate, startMessagingSpan } from '../../platform/tracing-spans.js';
import { identitySecretSchema } from '../../contract/index.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

function remoteParent(traceState?: string): Context {
  const ctx = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: false,
  });
  if (traceState === undefined) return ctx;
  const carrier = headers();
  carrier.set(HEADER_TRACEPARENT, `00-${TRACE_ID}-${SPAN_ID}-01`);
  carrier.set(HEADER_TRACESTATE, traceState);
  return extractTraceContext(carrier);
}

function captureLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

describe('W3C trace context in NATS headers', () => {
  it('round-trips traceparent through inject and extract', () => {
    const h = headers();
    injectTraceContext(remoteParent(), h);
    expect(h.get(HEADER_TRACEPARENT)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    const sc = trace.getSpanContext(extractTraceContext(h));
    expect(sc).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
  });

  it('carries tracestate along', () => {
    const h = headers();
    injectTraceContext(remoteParent('vendor=abc,other=x1'), h);
    expect(h.get(HEADER_TRACESTATE)).toBe('vendor=abc,other=x1');
    expect(trace.getSpanContext(extractTraceContext(h))?.traceState?.get('vendor')).toBe('abc');
  });

  it('injects nothing without a span and extracts nothing from headers without one', () => {
    const h = headers();
    injectTraceContext(ROOT_CONTEXT, h);
    expect(h.has(HEADER_TRACEPARENT)).toBe(false);
    expect(extractTraceContext(h)).toBe(ROOT_CONTEXT);
    expect(extractTraceContext(undefined)).toBe(ROOT_CONTEXT);
  });

  it.each([
    'garbage',
    `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
    `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
    `ff-${TRACE_ID}-${SPAN_ID}-01`,
    `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
    `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
  ])('ignores an invalid traceparent %s (a new trace starts)', (value) => {
    const h = headers();
    h.set(HEADER_TRACEPARENT, value);
    expect(trace.getSpanContext(extractTraceContext(h))).toBeUndefined();
  });

  it('round-trips through plain fields (the identity secret) and the secret schema accepts them', () => {
    const fields = traceFields(remoteParent('vendor=abc'));
    expect(fields).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, tracestate: 'vendor=abc' });
    expect(trace.getSpanContext(contextFromTraceFields(fields))).toMatchObject({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
    });
    expect(traceFields(ROOT_CONTEXT)).toEqual({});
    expect(contextFromTraceFields({})).toBe(ROOT_CONTEXT);
    const secret = {
      certificate: 'c',
      'azure-identity-certificate-expiration-time': '2027-01-01T00:00:00.000Z',
      issuedAt: '2026-01-01T00:00:00.000Z',
      state: 'Valid',
    };
    expect(identitySecretSchema.parse({ ...secret, ...fields })).toMatchObject(fields);
    expect(identitySecretSchema.parse(secret).traceparent).toBeUndefined();
  });

  it('names a low-cardinality destination template', () => {
    expect(agentSubjectTemplate('resource-sync-agent', 'heartbeat')).toBe(
      'arc.v1.{subscription}.{resourceGroup}.{cluster}.resource-sync-agent.heartbeat',
    );
  });
});

describe('tracing configuration (OTEL_* only)', () => {
  it('is off without an endpoint', () => {
    const c = tracingConfig({}, 'hub');
    expect(c).toMatchObject({ enabled: false, serviceName: 'hub', warnings: [] });
    expect(c.offReason).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('appends /v1/traces to the base endpoint; the traces endpoint is used as is and wins', () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }, 'hub')).toMatchObject({
      enabled: true,
      tracesUrl: 'http://127.0.0.1:4318/v1/traces',
      protocol: 'http/protobuf',
    });
    expect(
      tracingConfig(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom',
        },
        'hub',
      ).tracesUrl,
    ).toBe('http://b:9999/custom');
  });

  it('takes OTEL_SERVICE_NAME over the service name, and http/json when asked', () => {
    expect(
      tracingConfig(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
          OTEL_SERVICE_NAME: 'my-hub',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        },
        'hub',
      ),
    ).toMatchObject({ serviceName: 'my-hub', protocol: 'http/json' });
    expect(
      tracingConfig(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
        },
        'hub',
      ).protocol,
    ).toBe('http/protobuf');
  });

  it('is off when disabled or the exporter is none, even with an endpoint', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318' };
    expect(tracingConfig({ ...endpoint, OTEL_SDK_DISABLED: 'TRUE' }, 'hub').enabled).toBe(false);
    expect(tracingConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }, 'hub').enabled).toBe(false);
  });

  it('warns and falls back on bad values', () => {
    const grpc = tracingConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      'hub',
    );
    expect(grpc).toMatchObject({ enabled: true, protocol: 'http/protobuf' });
    expect(grpc.warnings.join()).toMatch(/grpc.*not supported/);
    const zipkin = tracingConfig(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_EXPORTER: 'zipkin' },
      'hub',
    );
    expect(zipkin.enabled).toBe(true);
    expect(zipkin.warnings.join()).toMatch(/only otlp/);
    for (const bad of ['not a url', 'ftp://a:4318'])
      expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: bad }, 'hub')).toMatchObject({
        enabled: false,
        warnings: [expect.stringMatching(/tracing stays off/)],
      });
  });

  it('documents every variable in docs/configuration.md', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const name of [...Object.values(OTEL_ENV), ...OTEL_SDK_ENV])
      expect(doc, name).toMatch(new RegExp(`^\\| \`${name}\`\\s*\\|`, 'm'));
  });
});

describe('initTelemetry with tracing off', () => {
  it('creates no SDK and does not even load it', async () => {
    const { logger, lines } = captureLogger();
    const telemetry = initTelemetry('hub', { env: {}, logger });
    expect(telemetry.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    const cache = createRequire(import.meta.url).cache;
    expect(Object.keys(cache).filter((k) => k.includes('@opentelemetry/sdk-node'))).toEqual([]);
    await telemetry.shutdown();
    expect(lines.map((l) => l.event)).toEqual(['telemetry.off']);
  });

  it('logs a bad setting as a warning and stays off', () => {
    const { logger, lines } = captureLogger();
    const telemetry = initTelemetry('hub', { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' }, logger });
    expect(telemetry.enabled).toBe(false);
    expect(lines[0]).toMatchObject({ event: 'telemetry.config_ignored', level: 40 });
  });
});

describe('RateLimitedReporter', () => {
  it('writes one line per key and interval and counts the suppressed repeats', () => {
    const { logger, lines } = captureLogger();
    let now = 0;
    const r = new RateLimitedReporter(logger, 60_000, () => now);
    expect(r.report('telemetry.export_failed', 'connect ECONNREFUSED')).toBe(true);
    expect(r.report('telemetry.export_failed', 'connect ECONNREFUSED')).toBe(false);
    expect(r.report('telemetry.export_failed', 'connect ECONNREFUSED')).toBe(false);
    expect(r.report('telemetry.diag', 'other')).toBe(true);
    now = 60_000;
    expect(r.report('telemetry.export_failed', 'connect ECONNREFUSED')).toBe(true);
    expect(lines.map((l) => [l.event, l.suppressed])).toEqual([
      ['telemetry.export_failed', 0],
      ['telemetry.diag', 0],
      ['telemetry.export_failed', 2],
    ]);
  });
});

// Last: loads the SDK into this worker (the "does not even load it" check above runs first).
describe('initTelemetry with an endpoint', () => {
  afterAll(() => {
    trace.disable();
    context.disable();
    propagation.disable();
    diag.disable();
  });

  it('starts the SDK (http/protobuf by default), records spans, and shuts down once without throwing', async () => {
    const { logger, lines } = captureLogger();
    const telemetry = initTelemetry('hub', {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      logger,
      shutdownTimeoutMs: 1000,
    });
    expect(telemetry.enabled).toBe(true);
    expect(tracingEnabled()).toBe(true);
    expect(lines.find((l) => l.event === 'telemetry.started')).toMatchObject({
      serviceName: 'hub',
      protocol: 'http/protobuf',
      tracesUrl: 'http://127.0.0.1:9/v1/traces',
    });
    // Not ended, so nothing is queued for export: no network in a unit test.
    const span = startMessagingSpan({
      operation: 'publish',
      subject: 'arc.v1.s.rg.c.resource-sync-agent.heartbeat',
      template: agentSubjectTemplate('resource-sync-agent', 'heartbeat'),
      bodySize: 10,
    });
    expect(span.isRecording()).toBe(true);
    expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    await Promise.all([telemetry.shutdown(), telemetry.shutdown()]);
    expect(tracingEnabled()).toBe(false);
    expect(lines.filter((l) => l.event === 'telemetry.shutdown_failed')).toEqual([]);
  });
});
