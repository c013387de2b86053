/**
 * The ARM-compatible HTTP API of Microsoft.Kubernetes/connectedClusters, plus /healthz, /readyz, /metrics.
 * Every error leaves as `{"error":{"code","message","target"?}}` with ARM's status.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  SUPPORTED_API_VERSIONS,
  CLUSTER_NAME_PATTERN,
  ArcError,
  ERROR_CODES,
  isArcError,
  type ClusterRef,
} from '../../../contract/index.js';
import type { ArcTimings } from '../../../platform/settings.js';
import type { Logger } from '../../../platform/log.js';
import { parsePatchBody, parsePutBody } from './validation.js';
import type { Hub } from './connected-clusters.js';
import type { HubMetrics } from '../metrics.js';
import type { EventLog } from './event-log.js';
import { renderResource } from './projection.js';

export interface ArmApiOptions {
  events: EventLog;
  hub: () => Hub | undefined;
  metrics: HubMetrics;
  logger: Logger;
  pageSize: number;
  /** Seconds suggested to LRO pollers. */
  retryAfterSeconds: number;
  /** Base URL for Azure-AsyncOperation and nextLink; taken from the request's Host when unset. */
  publicUrl: string | undefined;
  ready: () => boolean;
  /** Shown in the summary, so tools can reason in the fleet's own time (chaos scenarios). */
  timeScale: number;
  timings: ArcTimings;
}

const PROVIDER = 'providers/Microsoft.Kubernetes';
export const CLUSTER_PATH = `/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/${PROVIDER}/connectedClusters/:name`;

export interface ClusterParams {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export function apiVersionOf(request: FastifyRequest): string {
  const q = request.query as Record<string, string | undefined>;
  const v = q['api-version'];
  if (v === undefined || v === '')
    throw new ArcError(
      ERROR_CODES.MissingApiVersionParameter,
      'The api-version query parameter (?api-version=) is required for all requests.',
      { status: 400, target: 'api-version' },
    );
  if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(v))
    throw new ArcError(
      ERROR_CODES.InvalidApiVersionParameter,
      `The api-version '${v}' is invalid. The supported versions are '${SUPPORTED_API_VERSIONS.join(',')}'.`,
      { status: 400, target: 'api-version' },
    );
  return v;
}

export function refOf(params: ClusterParams): ClusterRef {
  if (!CLUSTER_NAME_PATTERN.test(params.name))
    throw new ArcError(
      ERROR_CODES.InvalidResourceName,
      `The resource name '${params.name}' is invalid. It must be 1-63 characters: letters, digits, '-' and '_', starting with a letter or digit.`,
      { status: 400, target: 'name' },
    );
  return { subscriptionId: params.subscriptionId, resourceGroup: params.resourceGroup, name: params.name };
}

export function baseUrl(opts: ArmApiOptions, request: FastifyRequest): string {
  return opts.publicUrl ?? `${request.protocol}://${request.headers.host ?? 'localhost'}`;
}

export function buildArmApi(opts: ArmApiOptions): FastifyInstance {
  const app = Fastify({
    logger: false,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
    bodyLimit: 1024 * 1024,
  });

  // ARM takes JSON only; without this fastify would parse text/plain and answer 400 instead of 415.
  app.removeContentTypeParser('text/plain');

  const hubOrThrow = (): Hub => {
    const hub = opts.hub();
    if (!hub)
      throw new ArcError(ERROR_CODES.ServiceUnavailable, 'The hub is starting; retry shortly.', {
        status: 503,
      });
    return hub;
  };

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    opts.metrics.apiRequests.inc({ route, code: String(reply.statusCode) });
    opts.metrics.apiDuration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    if (isArcError(err)) return reply.status(err.status).send(err.toArm());
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.status(415).send({
        error: {
          code: ERROR_CODES.UnsupportedMediaType,
          message: 'The request content type must be application/json.',
        },
      });
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500)
      return reply.status(400).send({
        error: {
          code: ERROR_CODES.InvalidRequestContent,
          message: `The request content was invalid: ${e.message}`,
        },
      });
    opts.logger.error({ event: 'api.internal_error', err, url: request.url }, 'internal error');
    return reply
      .status(500)
      .send({ error: { code: ERROR_CODES.InternalServerError, message: 'An internal error occurred.' } });
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
  app.get('/readyz', async (_request, reply) => {
    if (!opts.ready() || !opts.hub())
      return reply
        .status(503)
        .send({ error: { code: ERROR_CODES.ServiceUnavailable, message: 'not ready' } });
    return { status: 'ready' };
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).send(body);
  });

  // arcfleet's own API (not ARM): the transitions feed, for chaos tests and the CLI.
  app.get('/arcfleet/v1/events', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const since = Number(q.since ?? '0');
    const limit = Number(q.limit ?? '1000');
    if (!Number.isInteger(since) || since < 0)
      throw new ArcError(ERROR_CODES.InvalidParameter, "'since' must be a whole number >= 0", {
        status: 400,
        target: 'since',
      });
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new ArcError(ERROR_CODES.InvalidParameter, "'limit' must be a whole number from 1 to 10000", {
        status: 400,
        target: 'limit',
      });
    return opts.events.since(since, limit);
  });
  app.get('/arcfleet/v1/summary', async () => {
    const counts = hubOrThrow().counts();
    return {
      total: [...counts.byStatus.values()].reduce((a, b) => a + b, 0),
      connectivityStatus: Object.fromEntries(counts.byStatus),
      provisioningState: Object.fromEntries(counts.byProvisioningState),
      timeScale: opts.timeScale,
      timings: opts.timings,
    };
  });

  app.put<{ Params: ClusterParams }>(CLUSTER_PATH, async (request, reply) => {
    const apiVersion = apiVersionOf(request);
    const ref = refOf(request.params);
    const desired = parsePutBody(request.body);
    const caller = String(request.headers['x-ms-client-principal-name'] ?? 'user@arcfleet.local');
    const result = hubOrThrow().put(ref, desired, caller);
    const r = result.record;
    const opUrl = `${baseUrl(opts, request)}/subscriptions/${ref.subscriptionId}/${PROVIDER}/locations/${r.desired.location}/operationStatuses/${r.operation.id}?api-version=${apiVersion}`;
    void reply.header('Azure-AsyncOperation', opUrl).header('Retry-After', String(opts.retryAfterSeconds));
    if (result.bootstrapToken !== undefined)
      void reply.header('x-arcfleet-bootstrap-token', result.bootstrapToken);
    return reply.status(result.created ? 201 : 200).send(renderResource(r));
  });

  app.get<{ Params: ClusterParams }>(CLUSTER_PATH, async (request) => {
    apiVersionOf(request);
    return renderResource(hubOrThrow().require(refOf(request.params)));
  });

  app.patch<{ Params: ClusterParams }>(CLUSTER_PATH, async (request) => {
    apiVersionOf(request);
    const ref = refOf(request.params);
    const hub = hubOrThrow();
    hub.require(ref);
    return renderResource(hub.patch(ref, parsePatchBody(request.body)));
  });

  app.delete<{ Params: ClusterParams }>(CLUSTER_PATH, async (request, reply) => {
    apiVersionOf(request);
    const deleted = await hubOrThrow().delete(refOf(request.params));
    return reply.status(deleted ? 200 : 204).send();
  });

  const list = (scope: 'resourceGroup' | 'subscription') =>
    async function (
      request: FastifyRequest<{ Params: { subscriptionId: string; resourceGroup?: string } }>,
      _reply: FastifyReply,
    ) {
      const apiVersion = apiVersionOf(request);
      const q = request.query as Record<string, string | undefined>;
      const all = hubOrThrow().list(
        request.params.subscriptionId,
        scope === 'resourceGroup' ? request.params.resourceGroup : undefined,
      );
      const skip = q.$skipToken;
      const start =
        skip === undefined ? 0 : all.findIndex((r) => r.key > Buffer.from(skip, 'base64url').toString());
      const from = start < 0 ? all.length : start;
      const page = all.slice(from, from + opts.pageSize);
      const last = page[page.length - 1];
      const body: { value: unknown[]; nextLink?: string } = { value: page.map(renderResource) };
      if (last && from + opts.pageSize < all.length) {
        const path = request.url.split('?')[0];
        body.nextLink = `${baseUrl(opts, request)}${path}?api-version=${apiVersion}&$skipToken=${Buffer.from(last.key).toString('base64url')}`;
      }
      return body;
    };
  app.get(
    `/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/${PROVIDER}/connectedClusters`,
    list('resourceGroup'),
  );
  app.get(`/subscriptions/:subscriptionId/${PROVIDER}/connectedClusters`, list('subscription'));

  app.get<{ Params: { subscriptionId: string; location: string; operationId: string } }>(
    `/subscriptions/:subscriptionId/${PROVIDER}/locations/:location/operationStatuses/:operationId`,
    async (request, reply) => {
      apiVersionOf(request);
      const record = hubOrThrow().operation(request.params.operationId);
      if (!record)
        throw new ArcError(
          ERROR_CODES.ResourceNotFound,
          `The operation '${request.params.operationId}' was not found.`,
          { status: 404 },
        );
      const op = record.operation;
      if (op.status === 'InProgress') void reply.header('Retry-After', String(opts.retryAfterSeconds));
      return {
        id: request.url.split('?')[0],
        name: op.id,
        resourceId: renderResource(record).id,
        status: op.status,
        startTime: op.startTime,
        ...(op.endTime === undefined ? {} : { endTime: op.endTime }),
      };
    },
  );

  return app;
}
