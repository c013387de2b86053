/**
 * The HTTP face of the emulated apiserver: every cluster of the store under `/clusters/<name>`, with
 * Kubernetes paths, verbs and Status errors below it; `/healthz`, `/readyz`, `/livez`, `/metrics` at
 * the root. Stored objects come from the cluster's ClusterObjects, derived ones from derived.ts; a
 * write is answered only once it is durable.
 *
 * This file routes: health and metrics at the root, then per cluster the discovery documents, and
 * hands a resource request to resource-verbs.ts (which picks read-verbs.ts or write-verbs.ts).
 * Status replies, the access log and the request metrics are in responses.ts.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { frameworkErrorOptions } from '../../platform/http-errors.js';
import { WRITE_FAILURE_GRACE_MS, writeHealth } from '../../platform/write-health.js';
import type { Logger } from '../../platform/log.js';
import type { KubeClusters } from './clusters.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import type { KubeApiMetrics } from './metrics.js';
import { serveOpenApi } from './openapi/serve.js';
import { serveResource } from './resource-verbs.js';
import { installResponses } from './responses.js';
import { parseRoute } from './routes.js';
import { frameworkStatus, KubeStatusError } from './status.js';
import type { WatchRegistry } from './watch.js';

export interface KubeApiOptions {
  readonly clusters: KubeClusters;
  readonly metrics: KubeApiMetrics;
  readonly logger: Logger;
  readonly ready: () => boolean;
  readonly watches: WatchRegistry;
  /** Real ms between recomputations of derived objects for open watches. */
  readonly watchPollIntervalMs: number;
}

const BODY_LIMIT = 3 * 1024 * 1024;

export function buildKubeApi(opts: KubeApiOptions): FastifyInstance {
  const { clusters, metrics, logger } = opts;
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: false,
    // A URL the router refuses, or a request Node cannot parse, is a Status like any other failure.
    ...frameworkErrorOptions(frameworkStatus, (status) => {
      metrics.requests.inc({ verb: 'other', resource: 'other', code: String(status) });
      metrics.rejections.inc({ reason: frameworkStatus(status, '').reason });
    }),
  });

  // Bodies are parsed here, not by fastify, so a bad one becomes a Status naming the problem.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const { info, sendStatus } = installResponses(app, metrics, logger);

  for (const path of ['/healthz', '/livez'])
    app.get(path, async (req, reply) => {
      info(req).verb = 'health';
      // Down when the cluster objects cannot be written (a full disk): the supervisor restarts it.
      const health = writeHealth(WRITE_FAILURE_GRACE_MS);
      return health.status === 200 ? reply.type('text/plain').send('ok') : reply.code(503).send(health.body);
    });
  app.get('/readyz', async (req, reply) => {
    info(req).verb = 'health';
    return opts.ready()
      ? reply.type('text/plain').send('ok')
      : reply.code(503).type('text/plain').send('not ready');
  });
  app.get('/metrics', async (req, reply) => {
    info(req).verb = 'metrics';
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const i = info(req);
    const [pathPart = '', queryPart = ''] = req.url.split('?', 2);
    const segments = pathPart
      .split('/')
      .filter((s) => s !== '')
      .map((s) => {
        try {
          return decodeURIComponent(s);
        } catch {
          throw KubeStatusError.badRequest(`malformed path segment "${s}"`);
        }
      });
    const clusterName = segments[1] ?? '';
    i.cluster = clusterName;
    const query = new URLSearchParams(queryPart);
    const route = parseRoute(segments.slice(2));
    if (route.kind !== 'resource') i.resource = 'discovery';
    if (route.kind === 'resource') i.resource = route.resource.plural;
    const cluster = await clusters.resolve(clusterName);
    if (!cluster)
      throw new KubeStatusError('NotFound', `cluster "${clusterName}" is not in the cluster store`, {
        name: clusterName,
        kind: 'clusters',
      });
    if (route.kind !== 'resource' && req.method !== 'GET') {
      throw new KubeStatusError(
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      );
    }
    switch (route.kind) {
      case 'notFound':
        throw new KubeStatusError('NotFound', 'the server could not find the requested resource');
      case 'health':
        i.verb = 'health';
        return reply.type('text/plain').send('ok');
      case 'version': {
        i.verb = 'get';
        const state = await cluster.state();
        return reply.send(versionInfo(state?.kubernetesVersion ?? '0.0.0'));
      }
      case 'apiVersions':
        i.verb = 'get';
        return reply.send(apiVersions(req.headers.host ?? '127.0.0.1'));
      case 'groupList':
        i.verb = 'get';
        return reply.send(apiGroupList());
      case 'group': {
        i.verb = 'get';
        const g = apiGroup(route.group);
        if (!g) throw new KubeStatusError('NotFound', 'the server could not find the requested resource');
        return reply.send(g);
      }
      case 'resourceList': {
        i.verb = 'get';
        const l = apiResourceList(route.group, route.version);
        if (!l) throw new KubeStatusError('NotFound', 'the server could not find the requested resource');
        return reply.send(l);
      }
      case 'openapiV2':
      case 'openapiV3':
        i.verb = 'get';
        return serveOpenApi(req, reply, route, clusterName);
      case 'resource':
        break;
    }
    return serveResource(opts, { req, reply, info: i, cluster, route, query });
  };
  app.all('/clusters/:cluster', handler);
  app.all('/clusters/:cluster/*', handler);
  app.setNotFoundHandler((req, reply) =>
    sendStatus(
      req,
      reply,
      new KubeStatusError(
        'NotFound',
        `no such path ${req.url.split('?')[0]}; clusters are under /clusters/<name>`,
      ).toStatus(),
    ),
  );
  return app;
}
