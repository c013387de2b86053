/**
 * The hub's HTTP server with ARM's conventions, shared by every route on it: JSON bodies only, every
 * error as `{"error":{"code","message","target"?}}` with ARM's status, a JSON 404 for unknown routes,
 * and request count and duration per route.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Counter, Histogram } from 'prom-client';
import { ERROR_CODES, isArcError } from '../../../contract/index.js';
import {
  keepConnectionAndDrain,
  frameworkErrorOptions,
  type ErrorBody,
} from '../../../platform/http-errors.js';
import type { Logger } from '../../../platform/log.js';
import { keepIdleConnections } from '../../../platform/http-keep-alive.js';

export interface ArmAppOptions {
  metrics: { apiRequests: Counter<'route' | 'code'>; apiDuration: Histogram<'route'> };
  logger: Logger;
  /** `Retry-After` seconds on a 503 (default 1; ARCFLEET_HUB_RETRY_AFTER). */
  retryAfterSeconds?: number;
  /** PEM key and certificate: the server speaks HTTPS; none: plain HTTP. */
  tls?: { key: string; cert: string } | undefined;
}

/** Largest request body: a record must fit one JetStream KV value (1 MiB) anyway. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** ARM's body for what fails before a route runs: an unparseable request or URL. */
export const armFrameworkError: ErrorBody = (status, message) => ({
  error: { code: status === 408 ? ERROR_CODES.RequestTimeout : ERROR_CODES.InvalidParameter, message },
});

export function createArmApp(opts: ArmAppOptions): FastifyInstance {
  const tls = opts.tls;
  const app = Fastify({
    // One factory for both: the routes, hooks and the live feed's `upgrade` listener see one server type.
    serverFactory: (handler) =>
      keepIdleConnections(
        (tls ? createHttpsServer(tls, handler) : createHttpServer(handler)) as unknown as Server,
      ),
    logger: false,
    // Operation ids carry the resource's key (connected-clusters/operations.ts): longer than fastify's 100.
    // `//subscriptions/...` is what the Azure SDKs send for a `/{scope}/...` path given a resource id as
    // the scope (@azure/arm-authorization); ARM takes it, so does the hub.
    routerOptions: {
      caseSensitive: false,
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: true,
      maxParamLength: 1000,
    },
    bodyLimit: MAX_BODY_BYTES,
    // A URL the router refuses, or a request Node cannot parse, is answered like any ARM error.
    ...frameworkErrorOptions(armFrameworkError, (status) =>
      opts.metrics.apiRequests.inc({ route: 'unparsed', code: String(status) }),
    ),
  });

  // ARM takes JSON only; without this fastify would parse text/plain and answer 400 instead of 415.
  app.removeContentTypeParser('text/plain');

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    opts.metrics.apiRequests.inc({ route, code: String(reply.statusCode) });
    opts.metrics.apiDuration.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    if (isArcError(err)) {
      // ARM clients (the Azure SDKs) retry a 503 after Retry-After: a replica catching up, a broker
      // failing over.
      if (err.status === 503) void reply.header('Retry-After', String(opts.retryAfterSeconds ?? 1));
      return reply.status(err.status).send(err.toArm());
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return reply.status(415).send({
        error: {
          code: ERROR_CODES.UnsupportedMediaType,
          message: 'The request content type must be application/json.',
        },
      });
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      keepConnectionAndDrain(reply);
      return reply.status(413).send({
        error: {
          code: ERROR_CODES.RequestEntityTooLarge,
          message: `The request content is larger than the ${MAX_BODY_BYTES} bytes the API takes.`,
        },
      });
    }
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

  return app;
}
