/**
 * The HTTP face of the emulated apiserver: every cluster of the store under `/clusters/<name>`, with
 * Kubernetes paths, verbs and Status errors below it; `/healthz`, `/readyz`, `/livez`, `/metrics` at
 * the root. Stored objects come from the cluster's ClusterObjects, derived ones from derived.ts; a
 * write is answered only once it is durable.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { KUBE_RESOURCES, groupVersion, type KubeResource } from '../../contract/index.js';
import type { Logger } from '../../platform/log.js';
import type { ClusterHandle, KubeClusters } from './clusters.js';
import { ARC_NAMESPACE } from './derived.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, versionInfo } from './discovery.js';
import type { KubeApiMetrics } from './metrics.js';
import { resourceKey } from './object-store.js';
import { jsonPatch, mergePatch } from './patch.js';
import { parseRoute } from './routes.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { KubeStatusError, successStatus, type KubeStatus } from './status.js';
import { parseJsonBody, validateObject } from './validate.js';
import { startWatch, type WatchRegistry } from './watch.js';
import { toTable, wantsTable } from './table.js';

export interface KubeApiOptions {
  readonly clusters: KubeClusters;
  readonly metrics: KubeApiMetrics;
  readonly logger: Logger;
  readonly ready: () => boolean;
  readonly watches: WatchRegistry;
  /** Real ms between recomputations of derived objects for open watches. */
  readonly watchPollIntervalMs: number;
}

/** What the access log and the metrics say about a request. */
interface RequestInfo {
  verb: string;
  resource: string;
  cluster?: string;
  namespace?: string;
  name?: string;
  reason?: string;
  message?: string;
}

const NAMESPACED = KUBE_RESOURCES.filter((r) => r.namespaced);
const BODY_LIMIT = 3 * 1024 * 1024;

export interface Selection {
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  matches(obj: KubeObject): boolean;
}

function header(req: FastifyRequest, name: string): string[] {
  const v = req.headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function readonlyError(r: KubeResource, name: string): KubeStatusError {
  const what = r.group === '' ? r.plural : `${r.plural}.${r.group}`;
  return new KubeStatusError(
    'MethodNotAllowed',
    `${what} "${name}" is derived by the emulator from the cluster store and is read-only`,
    { name, group: r.group, kind: r.plural },
  );
}

function sortObjects(items: KubeObject[]): KubeObject[] {
  return items.sort((a, b) => {
    const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
    const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

export function buildKubeApi(opts: KubeApiOptions): FastifyInstance {
  const { clusters, metrics, logger } = opts;
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, return503OnClosing: false });
  const infos = new WeakMap<FastifyRequest, RequestInfo>();
  const info = (req: FastifyRequest): RequestInfo => {
    let i = infos.get(req);
    if (!i) infos.set(req, (i = { verb: 'other', resource: 'other' }));
    return i;
  };

  // Bodies are parsed here, not by fastify, so a bad one becomes a Status naming the problem.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

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
    return sendStatus(req, reply, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: err instanceof Error ? err.message : String(err),
      reason: code === 413 ? 'BadRequest' : code >= 500 ? 'InternalError' : 'BadRequest',
      code,
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

  for (const path of ['/healthz', '/livez'])
    app.get(path, async (req, reply) => {
      info(req).verb = 'health';
      return reply.type('text/plain').send('ok');
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
      case 'resource':
        break;
    }
    const r = route.resource;
    const namespace = r.namespaced ? route.namespace : undefined;
    const name = route.name;
    if (namespace) i.namespace = namespace;
    if (name) i.name = name;
    if (route.subresource !== undefined)
      throw new KubeStatusError(
        'NotFound',
        `the server could not find the requested resource (${r.plural}/${route.subresource})`,
      );
    if (query.has('dryRun') && req.method !== 'GET')
      throw KubeStatusError.badRequest('dryRun is not supported by the emulated apiserver');
    const watch = query.get('watch');
    if (req.method === 'GET' && (watch === 'true' || watch === '1')) {
      i.verb = 'watch';
      const selection = select(r, namespace, name, query);
      const rvParam = query.get('resourceVersion') ?? '';
      const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '1800');
      if (rvParam !== '' && !/^\d+$/.test(rvParam))
        throw KubeStatusError.badRequest(`invalid resourceVersion "${rvParam}": must be a number`);
      return startWatch({
        req,
        reply,
        cluster,
        resource: r,
        selection,
        fromResourceVersion: rvParam === '' ? undefined : Number(rvParam),
        timeoutMs:
          Number.isFinite(timeoutSeconds) && timeoutSeconds > 0
            ? Math.min(timeoutSeconds, 3600) * 1000
            : 1_800_000,
        pollIntervalMs: opts.watchPollIntervalMs,
        derived: () => cluster.derived(resourceKey(r)),
        registry: opts.watches,
        metrics,
        logger,
      });
    }
    if (name === undefined) {
      switch (req.method) {
        case 'GET': {
          i.verb = 'list';
          const body = await list(cluster, r, select(r, namespace, undefined, query));
          if (!wantsTable(header(req, 'accept'))) return reply.send(body);
          return reply.send(toTable(r.kind, body.items, body.metadata.resourceVersion, Date.now()));
        }
        case 'POST':
          i.verb = 'create';
          return reply.code(201).send(await create(cluster, r, namespace, req.body as Buffer | undefined));
        default:
          i.verb = req.method === 'DELETE' ? 'deletecollection' : 'other';
          throw new KubeStatusError(
            'MethodNotAllowed',
            `${req.method} is not supported on the collection ${r.plural}`,
          );
      }
    }
    switch (req.method) {
      case 'GET': {
        i.verb = 'get';
        const obj = await getObject(cluster, r, namespace, name);
        if (!obj) throw KubeStatusError.notFound(r.plural, name, r.group);
        if (!wantsTable(header(req, 'accept'))) return reply.send(obj);
        return reply.send(toTable(r.kind, [obj], obj.metadata.resourceVersion ?? '', Date.now()));
      }
      case 'PUT':
        i.verb = 'update';
        return reply.send(await update(cluster, r, namespace, name, req.body as Buffer | undefined));
      case 'PATCH':
        i.verb = 'patch';
        return reply.send(
          await patch(
            cluster,
            r,
            namespace,
            name,
            header(req, 'content-type')[0] ?? '',
            req.body as Buffer | undefined,
          ),
        );
      case 'DELETE': {
        i.verb = 'delete';
        return reply.send(await remove(cluster, r, namespace, name));
      }
      default:
        throw new KubeStatusError(
          'MethodNotAllowed',
          `${req.method} is not supported on ${r.plural}/${name}`,
        );
    }
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

function select(
  r: KubeResource,
  namespace: string | undefined,
  name: string | undefined,
  query: URLSearchParams,
): Selection {
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
  return {
    namespace,
    name,
    matches: (obj) =>
      (namespace === undefined || !r.namespaced || obj.metadata.namespace === namespace) &&
      (name === undefined || obj.metadata.name === name) &&
      matchesLabels(labels, obj.metadata.labels) &&
      matchesFields(fields, obj.metadata),
  };
}

async function derivedOf(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
): Promise<KubeObject[]> {
  const all = await cluster.derived(resourceKey(r));
  return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
}

async function getObject(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
): Promise<KubeObject | undefined> {
  return (
    cluster.objects.get(r, namespace, name) ??
    (await derivedOf(cluster, r, namespace)).find((o) => o.metadata.name === name)
  );
}

async function list(
  cluster: ClusterHandle,
  r: KubeResource,
  selection: Selection,
): Promise<{
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string };
  items: KubeObject[];
}> {
  const rv = cluster.objects.resourceVersion;
  const items = [
    ...(await derivedOf(cluster, r, selection.namespace)),
    ...cluster.objects.list(r, selection.namespace),
  ].filter(selection.matches);
  return {
    kind: `${r.kind}List`,
    apiVersion: groupVersion(r),
    metadata: { resourceVersion: String(rv) },
    items: sortObjects(items),
  };
}

async function namespaceExists(cluster: ClusterHandle, namespace: string): Promise<boolean> {
  const nsResource = KUBE_RESOURCES.find((x) => x.group === '' && x.plural === 'namespaces') as KubeResource;
  return (await getObject(cluster, nsResource, undefined, namespace)) !== undefined;
}

async function create(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  body: Buffer | undefined,
): Promise<KubeObject> {
  if (r.group === '' && r.plural === 'nodes')
    throw new KubeStatusError(
      'MethodNotAllowed',
      'nodes are derived from the node pools of the cluster (cluster.json) and cannot be created',
      {
        kind: 'nodes',
      },
    );
  if (r.namespaced && namespace === undefined)
    throw KubeStatusError.badRequest(
      `${r.plural} are namespaced: create them under /namespaces/<namespace>/${r.plural}`,
    );
  const obj = validateObject(r, parseJsonBody(body), { namespace });
  if (namespace !== undefined && !(await namespaceExists(cluster, namespace)))
    throw KubeStatusError.notFound('namespaces', namespace);
  if ((await derivedOf(cluster, r, namespace)).some((o) => o.metadata.name === obj.metadata.name))
    throw KubeStatusError.alreadyExists(r.plural, obj.metadata.name, r.group);
  const created = cluster.objects.create(r, obj);
  await cluster.persist();
  return created;
}

async function checkStoredOrReadonly(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
): Promise<KubeObject> {
  const current = cluster.objects.get(r, namespace, name);
  if (current) return current;
  if ((await derivedOf(cluster, r, namespace)).some((o) => o.metadata.name === name))
    throw readonlyError(r, name);
  throw KubeStatusError.notFound(r.plural, name, r.group);
}

async function update(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
  body: Buffer | undefined,
): Promise<KubeObject> {
  const obj = validateObject(r, parseJsonBody(body), { namespace, name });
  await checkStoredOrReadonly(cluster, r, namespace, name);
  const updated = cluster.objects.update(r, obj);
  await cluster.persist();
  return updated;
}

async function patch(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
  contentType: string,
  body: Buffer | undefined,
): Promise<KubeObject> {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const apply =
    type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json'
      ? mergePatch
      : type === 'application/json-patch+json'
        ? jsonPatch
        : undefined;
  if (!apply)
    throw new KubeStatusError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format (${type || 'no content-type'}); accepted: application/merge-patch+json, application/strategic-merge-patch+json, application/json-patch+json (server-side apply is not emulated)`,
    );
  const patchBody = parseJsonBody(body);
  const current = await checkStoredOrReadonly(cluster, r, namespace, name);
  const patched = apply(current, patchBody);
  const obj = validateObject(r, patched, { namespace, name });
  // A patch is applied to what it read: it conflicts only when it names a resourceVersion itself.
  const wanted = (patchBody as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata
    ?.resourceVersion;
  obj.metadata.resourceVersion = typeof wanted === 'string' ? wanted : current.metadata.resourceVersion;
  const updated = cluster.objects.update(r, obj);
  await cluster.persist();
  return updated;
}

async function remove(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
): Promise<KubeStatus> {
  if (r.group === '' && r.plural === 'namespaces' && name === ARC_NAMESPACE)
    throw new KubeStatusError(
      'Forbidden',
      `namespaces "${name}" is forbidden: the Arc agents' namespace cannot be deleted`,
      {
        name,
        kind: 'namespaces',
      },
    );
  await checkStoredOrReadonly(cluster, r, namespace, name);
  const gone = cluster.objects.delete(r, namespace, name, NAMESPACED);
  await cluster.persist();
  return successStatus({
    name,
    group: r.group,
    kind: r.plural,
    ...(gone.metadata.uid ? { uid: gone.metadata.uid } : {}),
  });
}
