/**
 * Tracing (OpenTelemetry), configured ONLY by the standard `OTEL_*` variables and OFF unless an OTLP
 * endpoint is set. Off, no SDK is loaded or created and every helper here is a cheap no-op (callers
 * check `tracingEnabled()` before doing any span work), so a message costs nothing extra.
 *
 * - `initTelemetry` starts `@opentelemetry/sdk-node` with an OTLP/HTTP span exporter (protobuf, or JSON
 *   with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) behind the SDK's batch span processor (`OTEL_BSP_*`)
 *   and sampler (`OTEL_TRACES_SAMPLER`). Telemetry never crashes a service: bad settings are logged and
 *   fall back, export failures go to one rate-limited handler, a failed start leaves tracing off.
 * - This file holds the start-up and the process-wide "is tracing on" state. What the variables ask for
 *   is tracing-settings.ts; W3C trace context in NATS headers and the identity secret is
 *   tracing-propagation.ts; span helpers (messaging spans and the like) are tracing-spans.ts.
 */
import { createRequire } from 'node:module';
import { DiagLogLevel, diag, trace, type DiagLogger, type Tracer } from '@opentelemetry/api';
import { diagLogLevelFromString, setGlobalErrorHandler } from '@opentelemetry/core';
import type * as OtlpHttpJson from '@opentelemetry/exporter-trace-otlp-http';
import type * as OtlpHttpProto from '@opentelemetry/exporter-trace-otlp-proto';
import type * as SdkNode from '@opentelemetry/sdk-node';
import type { Env } from './settings.js';
import type { Logger } from './log.js';
import { RateLimitedReporter } from './rate-limited-log.js';
import { PROPAGATOR } from './tracing-propagation.js';
import { OTEL_ENV, nonEmpty, tracingConfig, type TracingConfig } from './tracing-settings.js';

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
