/**
 * Why this file: a request for a Kubernetes resource (as opposed to discovery) is dispatched to its
 * verb here: the HTTP method, the watch parameter and whether a name is given pick watch, list,
 * create, get, update, patch or delete; subresources are refused with a Status.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeApiOptions } from './api.js';
import type { ClusterHandle } from './clusters.js';
import { resourceKey } from './object-store.js';
import { getObject, list, select } from './read-verbs.js';
import { header, type RequestInfo } from './responses.js';
import type { Route } from './routes.js';
import { KubeStatusError } from './status.js';
import { toTable, wantsTable } from './table.js';
import { startWatch } from './watch.js';
import { parseFieldValidation } from './openapi/field-validation.js';
import { patch } from './patch-verbs.js';
import { create, remove, update, type WriteOptions } from './write-verbs.js';

/** The product of a User-Agent (`kubectl` of `kubectl/v1.32.0 (linux/amd64) kubernetes/...`): a write's default manager. */
function productOf(userAgent: string | undefined): string {
  const product = (userAgent ?? '').split('/')[0]?.trim() ?? '';
  return product === '' ? 'unknown' : product.slice(0, 128);
}

/** `dryRun` (only `All` exists), `fieldValidation`, `fieldManager` and `force` of a write. */
function writeOptions(query: URLSearchParams, userAgent: string | undefined): WriteOptions {
  const dryRun = query.getAll('dryRun');
  const unsupported = dryRun.find((v) => v !== 'All');
  if (unsupported !== undefined)
    throw KubeStatusError.badRequest(`dryRun: Unsupported value: "${unsupported}": supported values: "All"`);
  const fieldManager = query.get('fieldManager');
  if (fieldManager !== null && (fieldManager.length > 128 || !/^[\x20-\x7e]*$/.test(fieldManager)))
    throw KubeStatusError.badRequest('fieldManager must be at most 128 printable ASCII characters');
  const force = query.get('force');
  if (force !== null && force !== 'true' && force !== 'false')
    throw KubeStatusError.badRequest(`force must be true or false, not "${force}"`);
  return {
    dryRun: dryRun.length > 0,
    fieldValidation: parseFieldValidation(query.get('fieldValidation')),
    warnings: [],
    manager: fieldManager || productOf(userAgent),
    explicitManager: fieldManager !== null && fieldManager !== '',
    force: force === 'true',
  };
}

/** A written object, with the write's warnings as RFC 7234 `Warning` headers (kubectl prints them). */
function sendWritten(reply: FastifyReply, write: WriteOptions, obj: unknown): FastifyReply {
  if (write.warnings.length > 0)
    reply.header('warning', write.warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', '));
  return reply.send(obj);
}

/** A request below `/clusters/<name>` that addresses a resource (a collection or one object). */
export interface ResourceRequest {
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
  readonly info: RequestInfo;
  readonly cluster: ClusterHandle;
  readonly route: Extract<Route, { kind: 'resource' }>;
  readonly query: URLSearchParams;
}

export async function serveResource(opts: KubeApiOptions, request: ResourceRequest): Promise<unknown> {
  const { metrics, logger } = opts;
  const { req, reply, info: i, cluster, route, query } = request;
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
  // Reads ignore the write parameters, as the real apiserver does.
  const write = writeOptions(
    req.method === 'GET' ? new URLSearchParams() : query,
    header(req, 'user-agent')[0],
  );
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
        return sendWritten(
          reply.code(201),
          write,
          await create(cluster, r, namespace, req.body as Buffer | undefined, write),
        );
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
      return sendWritten(
        reply,
        write,
        await update(cluster, r, namespace, name, req.body as Buffer | undefined, write),
      );
    case 'PATCH':
      i.verb = 'patch';
      {
        const patched = await patch(
          cluster,
          r,
          namespace,
          name,
          header(req, 'content-type')[0] ?? '',
          req.body as Buffer | undefined,
          write,
        );
        // A server-side apply that creates the object answers 201, as a create does.
        return sendWritten(reply.code(patched.created ? 201 : 200), write, patched);
      }
    case 'DELETE': {
      i.verb = 'delete';
      return reply.send(await remove(cluster, r, namespace, name, write));
    }
    default:
      throw new KubeStatusError('MethodNotAllowed', `${req.method} is not supported on ${r.plural}/${name}`);
  }
}
