/**
 * The gateway's control API (fastify): rules per cluster, chaos actions on targets, /metrics.
 * Errors are ARM-style `{error:{code,message}}`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseDuration } from '../../platform/duration.js';
import {
  AGENT_NAMES,
  agentsOf,
  ArcError,
  ENDPOINT_CLASSES,
  ERROR_CODES,
  isArcError,
  SELECTOR_KEYS,
  type Targets,
} from '../../contract/index.js';
import { keepConnectionAndDrain, frameworkErrorOptions } from '../../platform/http-errors.js';
import type { Logger } from '../../platform/log.js';
import type { Gateway } from './gateway.js';
import type { GatewayMetrics } from './metrics.js';
import type { Mode } from './rules.js';

const CLUSTER = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const Duration = z.string().refine((s) => {
  try {
    return parseDuration(s) > 0;
  } catch {
    return false;
  }
}, 'not a duration (examples: 500ms, 60s, 15m)');
const ClusterName = z.string().regex(CLUSTER, 'not a cluster name');

const ModeBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('open') }),
  z.object({ kind: z.literal('drop') }),
  z.object({ kind: z.literal('reject') }),
  z.object({
    kind: z.literal('latency'),
    latencyMs: z.number().int().min(0).max(60_000),
    jitterMs: z.number().int().min(0).max(60_000).default(0),
  }),
  z.object({ kind: z.literal('bandwidth'), bytesPerSecond: z.number().int().min(1).max(1e10) }),
  z.object({
    kind: z.literal('flap'),
    cut: Duration,
    open: Duration,
    cutMode: z.enum(['drop', 'reject']).default('drop'),
  }),
]);
type ModeBody = z.infer<typeof ModeBody>;

const TargetsBody = z.union([
  z.object({ clusters: z.array(ClusterName).min(1).max(100_000) }).strict(),
  z
    .object({
      selector: z
        .object(Object.fromEntries(SELECTOR_KEYS.map((k) => [k, z.string().min(1).optional()])))
        .strict(),
    })
    .strict(),
  z.object({ percent: z.number().min(0).max(100), seed: z.number().int().default(1) }).strict(),
  z.object({ all: z.literal(true) }).strict(),
]);

/** What a rule blocks or slows: endpoint classes and agents (contract/endpoints.ts); neither: everything. */
const Reach = {
  endpoints: z.array(z.enum(ENDPOINT_CLASSES)).min(1).max(ENDPOINT_CLASSES.length).optional(),
  agents: z.array(z.enum(AGENT_NAMES)).min(1).max(AGENT_NAMES.length).optional(),
};

/** The agents a body names, or undefined for the whole cluster. */
function reachOf(b: {
  endpoints?: readonly (typeof ENDPOINT_CLASSES)[number][];
  agents?: readonly (typeof AGENT_NAMES)[number][];
}): string[] | undefined {
  return b.endpoints === undefined && b.agents === undefined
    ? undefined
    : agentsOf(b.endpoints ?? [], b.agents ?? []);
}

const ChaosBody = z
  .object({
    action: z.enum(['cut', 'restore', 'latency', 'bandwidth', 'flap']),
    targets: TargetsBody,
    ...Reach,
    mode: z.enum(['drop', 'reject']).default('drop'),
    latencyMs: z.number().int().min(0).max(60_000).optional(),
    jitterMs: z.number().int().min(0).max(60_000).optional(),
    bytesPerSecond: z.number().int().min(1).max(1e10).optional(),
    cut: Duration.optional(),
    open: Duration.optional(),
    for: Duration.optional(),
  })
  .strict();

const PutModeBody = z.object({ mode: ModeBody, for: Duration.optional(), ...Reach }).strict();
const RestoreQuery = z
  .object({
    endpoint: z.union([z.enum(ENDPOINT_CLASSES), z.array(z.enum(ENDPOINT_CLASSES))]).optional(),
    agent: z.union([z.enum(AGENT_NAMES), z.array(z.enum(AGENT_NAMES))]).optional(),
  })
  .strict();
const asList = <T>(v: T | T[] | undefined): T[] | undefined =>
  v === undefined ? undefined : Array.isArray(v) ? v : [v];

function toMode(m: ModeBody): Mode {
  if (m.kind !== 'flap') return m;
  return { kind: 'flap', cutMs: parseDuration(m.cut), openMs: parseDuration(m.open), cutMode: m.cutMode };
}

function invalid(message: string, target?: string): ArcError {
  return new ArcError(ERROR_CODES.InvalidRequestContent, message, { status: 400, target });
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  throw invalid(`${path === '' ? 'body' : path}: ${issue?.message ?? 'invalid'}`, path || undefined);
}

function chaosMode(b: z.infer<typeof ChaosBody>): Mode {
  switch (b.action) {
    case 'cut':
      return { kind: b.mode };
    case 'restore':
      return { kind: 'open' };
    case 'latency':
      if (b.latencyMs === undefined) throw invalid('latency needs latencyMs', 'latencyMs');
      return { kind: 'latency', latencyMs: b.latencyMs, jitterMs: b.jitterMs ?? 0 };
    case 'bandwidth':
      if (b.bytesPerSecond === undefined) throw invalid('bandwidth needs bytesPerSecond', 'bytesPerSecond');
      return { kind: 'bandwidth', bytesPerSecond: b.bytesPerSecond };
    case 'flap':
      if (b.cut === undefined || b.open === undefined)
        throw invalid('flap needs cut and open durations', 'cut');
      return { kind: 'flap', cutMs: parseDuration(b.cut), openMs: parseDuration(b.open), cutMode: b.mode };
  }
}

export function buildGatewayApi(opts: {
  gateway: Gateway;
  metrics: GatewayMetrics;
  logger: Logger;
}): FastifyInstance {
  const { gateway, metrics, logger } = opts;
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    // A URL the router refuses, or a request Node cannot parse, is answered like any API error.
    ...frameworkErrorOptions(
      (status, message) => ({
        error: {
          code: status === 413 ? ERROR_CODES.RequestEntityTooLarge : ERROR_CODES.InvalidParameter,
          message,
        },
      }),
      (status) => metrics.apiRequests.inc({ code: String(status) }),
    ),
  });

  app.addHook('onResponse', async (_request, reply) => {
    metrics.apiRequests.inc({ code: String(reply.statusCode) });
  });
  app.setErrorHandler((err: unknown, request, reply) => {
    if (isArcError(err)) {
      logger.info({ event: 'egress.api_rejected', code: err.code, message: err.message }, 'request rejected');
      return reply.status(err.status).send(err.toArm());
    }
    const e = err as { statusCode?: number; message?: string };
    if (e.statusCode === 413) keepConnectionAndDrain(reply);
    if (e.statusCode !== undefined && e.statusCode < 500)
      return reply
        .status(e.statusCode)
        .send({ error: { code: ERROR_CODES.InvalidRequestContent, message: e.message ?? 'bad request' } });
    logger.error({ event: 'egress.api_error', err }, 'request failed');
    return reply
      .status(500)
      .send({ error: { code: ERROR_CODES.InternalServerError, message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({
      error: {
        code: ERROR_CODES.NotFound,
        message: `No route for ${request.method} ${request.url.split('?')[0]}.`,
      },
    });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
  app.get('/v1/rules', async () => ({ value: gateway.list() }));
  app.get<{ Params: { name: string } }>('/v1/clusters/:name', async (request) => {
    const name = parse(ClusterName, request.params.name);
    return gateway.view(name);
  });
  app.put<{ Params: { name: string } }>('/v1/clusters/:name/mode', async (request) => {
    const name = parse(ClusterName, request.params.name);
    const body = parse(PutModeBody, request.body);
    const forMs = body.for === undefined ? undefined : parseDuration(body.for);
    const agents = reachOf(body);
    const [view] = gateway.setMode([name], toMode(body.mode), forMs, agents);
    logger.info(
      { event: 'egress.rule_set', cluster: name, agents, mode: body.mode.kind, forMs },
      `${name}${agents ? ` (${agents.join(', ')})` : ''}: ${body.mode.kind}`,
    );
    return view;
  });
  // Without a query: every rule of the cluster; `?endpoint=identity&agent=…`: only those.
  app.delete<{ Params: { name: string } }>('/v1/clusters/:name/mode', async (request) => {
    const name = parse(ClusterName, request.params.name);
    const q = parse(RestoreQuery, request.query);
    const agents = reachOf({ endpoints: asList(q.endpoint), agents: asList(q.agent) });
    gateway.restore([name], agents);
    logger.info({ event: 'egress.rule_restored', cluster: name, agents }, `${name}: open`);
    return gateway.view(name);
  });
  app.post('/v1/chaos', async (request) => {
    const body = parse(ChaosBody, request.body);
    const all = 'all' in body.targets;
    const clusters = 'all' in body.targets ? [] : await gateway.select(body.targets as Targets);
    const mode = chaosMode(body);
    const forMs = body.for === undefined ? undefined : parseDuration(body.for);
    const agents = reachOf(body);
    let affected: string[];
    if (body.action === 'restore') affected = gateway.restore(all ? 'all' : clusters, agents);
    else {
      if (all) throw invalid(`${body.action} needs explicit targets`, 'targets');
      gateway.setMode(clusters, mode, forMs, agents);
      affected = clusters;
    }
    logger.info(
      {
        event: 'egress.chaos',
        action: body.action,
        mode: mode.kind,
        clusters: affected.length,
        agents,
        forMs,
      },
      `chaos ${body.action}: ${affected.length} clusters${agents ? ` (${agents.join(', ')})` : ''}`,
    );
    return {
      action: body.action,
      mode,
      clusters: affected,
      ...(agents === undefined ? {} : { agents }),
      rules: gateway.list(),
    };
  });
  return app;
}
