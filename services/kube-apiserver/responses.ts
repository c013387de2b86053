/**
 * Why this file: every reply of the emulated apiserver shares the same bookkeeping, kept apart from
 * routing and the verbs. It records what each request was (verb, resource, cluster, namespace, name)
 * for the access log and the request metrics, turns every error (a KubeStatusError or fastify's own)
 * into a Kubernetes Status body, and writes the access log line once the response is sent.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { keepConnectionAndDrain } from '../../platform/http-errors.js';
import type { Logger } from '../../platform/log.js';
import type { KubeApiMetrics } from './metrics.js';
import { frameworkStatus, KubeStatusError, type KubeStatus } from './status.js';

/** What the access log and the metrics say about a request. */
export interface RequestInfo {
  verb: string;
  resource: string;
  cluster?: string;
  namespace?: string;
  name?: string;
  reason?: string;
  message?: string;
}

export function header(req: FastifyRequest, name: string): string[] {
  const v = req.headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The request bookkeeping and Status replies of one apiserver, shared by its routes. */
export interface KubeResponses {
  info(req: FastifyRequest): RequestInfo;
  sendStatus(req: FastifyRequest, reply: FastifyReply, status: KubeStatus): FastifyReply;
}

/** Installs the Status error handler and the access log / metrics hook on `app`. */
export function installResponses(
  app: FastifyInstance,
  metrics: KubeApiMetrics,
  logger: Logger,
): KubeResponses {
  const bodyLimit = app.initialConfig.bodyLimit;
  const infos = new WeakMap<FastifyRequest, RequestInfo>();
  const info = (req: FastifyRequest): RequestInfo => {
    let i = infos.get(req);
    if (!i) infos.set(req, (i = { verb: 'other', resource: 'other' }));
    return i;
  };

  const sendStatus = (req: FastifyRequest, reply: FastifyReply, status: KubeStatus): FastifyReply => {
    const i = info(req);
    if (status.reason) {
      i.reason = status.reason;
      i.message = status.message;
      if (status.code < 500) metrics.rejections.inc({ reason: status.reason });
    }
    return reply.code(status.code).header('content-type', 'application/json').send(status);
  };

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof KubeStatusError) return sendStatus(req, reply, err.toStatus());
    const code =
      typeof (err as { statusCode?: unknown }).statusCode === 'number'
        ? (err as { statusCode: number }).statusCode
        : 500;
    if (code >= 500)
      logger.error({ event: 'kube-apiserver.internal_error', err, url: req.url }, 'request failed');
    if (code === 413) {
      keepConnectionAndDrain(reply);
      return sendStatus(req, reply, frameworkStatus(413, `Request entity too large: limit is ${bodyLimit}`));
    }
    return sendStatus(req, reply, {
      ...frameworkStatus(code, err instanceof Error ? err.message : String(err)),
      ...(code >= 500 && { reason: 'InternalError' as const }),
    });
  });

  app.addHook('onResponse', async (req, reply) => {
    const i = info(req);
    const code = String(reply.statusCode);
    metrics.requests.inc({ verb: i.verb, resource: i.resource, code });
    if (i.verb !== 'watch') metrics.duration.observe({ verb: i.verb }, reply.elapsedTime / 1000);
    if (i.cluster === undefined) return;
    const user = header(req, 'impersonate-user')[0];
    const groups = header(req, 'impersonate-group');
    logger.info(
      {
        event: 'kube-apiserver.request',
        method: req.method,
        path: req.url.split('?')[0],
        cluster: i.cluster,
        verb: i.verb,
        resource: i.resource,
        ...(i.namespace ? { namespace: i.namespace } : {}),
        ...(i.name ? { name: i.name } : {}),
        code: reply.statusCode,
        ...(i.reason ? { reason: i.reason, message: i.message } : {}),
        ...(user ? { user } : {}),
        ...(groups.length > 0 ? { groups } : {}),
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      `${req.method} ${req.url} ${reply.statusCode}`,
    );
  });
  return { info, sendStatus };
}
