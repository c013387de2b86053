/**
 * The process endpoints: `/healthz` (the process answers and can write its files), `/readyz` (NATS connected and the
 * projections loaded: 503 until then) and `/metrics` (Prometheus).
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { ERROR_CODES } from '../../contract/index.js';
import { WRITE_FAILURE_GRACE_MS, writeHealth } from '../../platform/write-health.js';
import type { Started } from './startup.js';

export function registerHealth(
  app: FastifyInstance,
  opts: { started: Started<unknown>; registry: Registry },
): void {
  app.get('/healthz', async (_request, reply) => {
    const health = writeHealth(WRITE_FAILURE_GRACE_MS);
    return reply.status(health.status).send(health.body);
  });
  app.get('/readyz', async (_request, reply) => {
    if (opts.started.peek() === undefined)
      return reply
        .status(503)
        .send({ error: { code: ERROR_CODES.ServiceUnavailable, message: 'not ready' } });
    return { status: 'ready' };
  });
  app.get('/metrics', async (_request, reply) => {
    const body = await opts.registry.metrics();
    return reply.type(opts.registry.contentType).send(body);
  });
}
