/**
 * Tracing settings: what the standard `OTEL_*` variables ask for, read purely (no SDK, no I/O). Split
 * from tracing.ts so the rules for "is tracing on, where do spans go" can be read and tested on their
 * own; tracing.ts starts the SDK from the result. Tracing is OFF unless an OTLP endpoint is set.
 */
import type { Env } from './settings.js';

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

export function nonEmpty(env: Env, name: string): string | undefined {
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
