/**
 * ARM routes of the configuration resources, children of a connected cluster:
 *   .../connectedClusters/{c}/providers/Microsoft.KubernetesConfiguration/extensions[/{name}]
 *   .../connectedClusters/{c}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations[/{name}]
 *   .../connectedClusters/{c}/providers/Microsoft.ServiceLinker/linkers[/{name}[/validateLinker]]
 * plus `.../{name}/operations/{id}` for the Azure-AsyncOperation of each write. Errors go through the
 * app's ARM error handler (arm-api.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CLUSTER_NAME_PATTERN, ArcError, ERROR_CODES, type ClusterRef } from '../../../contract/index.js';
import { renderExtension, renderFlux, renderLinker } from './render.js';
import { operationId, type ConfigurationService, type ResourceKind } from './service.js';
import {
  EXTENSION_NAME,
  LINKER_NAME,
  checkName,
  parseExtensionPatch,
  parseExtensionPut,
  parseFluxPatch,
  parseFluxPut,
  parseLinkerPut,
} from './validation.js';

export const CONFIGURATION_API_VERSIONS = ['2023-05-01', '2024-11-01'] as const;
export const LINKER_API_VERSIONS = ['2022-05-01', '2024-04-01'] as const;

export interface ConfigurationRoutesOptions {
  configuration: () => ConfigurationService | undefined;
  pageSize: number;
  retryAfterSeconds: number;
  publicUrl: string | undefined;
}

const CLUSTER =
  '/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/providers/Microsoft.Kubernetes/connectedClusters/:cluster';

interface Params {
  subscriptionId: string;
  resourceGroup: string;
  cluster: string;
  name?: string;
  operationId?: string;
}
type Req = FastifyRequest<{ Params: Params }>;

function apiVersion(request: FastifyRequest, supported: readonly string[]): string {
  const v = (request.query as Record<string, string | undefined>)['api-version'];
  if (v === undefined || v === '')
    throw new ArcError(
      ERROR_CODES.MissingApiVersionParameter,
      'The api-version query parameter (?api-version=) is required for all requests.',
      { status: 400, target: 'api-version' },
    );
  if (!supported.includes(v))
    throw new ArcError(
      ERROR_CODES.InvalidApiVersionParameter,
      `The api-version '${v}' is invalid. The supported versions are '${supported.join(',')}'.`,
      { status: 400, target: 'api-version' },
    );
  return v;
}

function refOf(p: Params): ClusterRef {
  if (!CLUSTER_NAME_PATTERN.test(p.cluster))
    throw new ArcError(ERROR_CODES.InvalidResourceName, `The resource name '${p.cluster}' is invalid.`, {
      status: 400,
      target: 'name',
    });
  return { subscriptionId: p.subscriptionId, resourceGroup: p.resourceGroup, name: p.cluster };
}

function callerOf(request: FastifyRequest): string {
  return String(request.headers['x-ms-client-principal-name'] ?? 'user@arcfleet.local');
}

interface KindSpec {
  kind: ResourceKind;
  path: string;
  versions: readonly string[];
  name: RegExp;
  nameMax: number;
  nameRule: string;
}

const SPECS: Record<ResourceKind, KindSpec> = {
  extension: {
    kind: 'extension',
    path: `${CLUSTER}/providers/Microsoft.KubernetesConfiguration/extensions`,
    versions: CONFIGURATION_API_VERSIONS,
    name: EXTENSION_NAME,
    nameMax: 253,
    nameRule: "1-253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
  },
  fluxConfiguration: {
    kind: 'fluxConfiguration',
    path: `${CLUSTER}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations`,
    versions: CONFIGURATION_API_VERSIONS,
    name: EXTENSION_NAME,
    nameMax: 253,
    nameRule: "1-253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
  },
  linker: {
    kind: 'linker',
    path: `${CLUSTER}/providers/Microsoft.ServiceLinker/linkers`,
    versions: LINKER_API_VERSIONS,
    name: LINKER_NAME,
    nameMax: 128,
    nameRule: "1-128 letters, digits, '.', '_' and '-'",
  },
};

export function registerConfigurationRoutes(app: FastifyInstance, opts: ConfigurationRoutesOptions): void {
  const service = (): ConfigurationService => {
    const s = opts.configuration();
    if (!s)
      throw new ArcError(ERROR_CODES.ServiceUnavailable, 'The hub is starting; retry shortly.', {
        status: 503,
      });
    return s;
  };
  const base = (request: FastifyRequest): string =>
    opts.publicUrl ?? `${request.protocol}://${request.headers.host ?? 'localhost'}`;

  const nameOf = (spec: KindSpec, p: Params): string => {
    const name = p.name ?? '';
    checkName(spec.kind, name, spec.name, spec.nameMax, spec.nameRule);
    return name;
  };

  /** Azure-AsyncOperation (and Location for DELETE) pointing at the resource's operation. */
  const lro = (
    spec: KindSpec,
    request: Req,
    reply: FastifyReply,
    r: { uid: string; generation: number },
    op: 'w' | 'd',
    version: string,
  ): void => {
    const path = request.url.split('?')[0]?.replace(/\/+$/, '') ?? '';
    const url = `${base(request)}${path}/operations/${operationId(r, op)}?api-version=${version}`;
    void reply.header('Azure-AsyncOperation', url).header('Retry-After', String(opts.retryAfterSeconds));
    if (op === 'd') void reply.header('Location', url);
  };

  const list = <T extends { name: string }>(
    spec: KindSpec,
    all: (s: ConfigurationService, ref: ClusterRef) => T[],
    render: (ref: ClusterRef, r: T) => unknown,
  ) =>
    async function (request: Req) {
      const version = apiVersion(request, spec.versions);
      const ref = refOf(request.params);
      const items = all(service(), ref);
      const skip = (request.query as Record<string, string | undefined>).$skipToken;
      const after = skip === undefined ? undefined : Buffer.from(skip, 'base64url').toString();
      const from = after === undefined ? 0 : items.findIndex((r) => r.name.toLowerCase() > after);
      const start = from < 0 ? items.length : from;
      const page = items.slice(start, start + opts.pageSize);
      const body: { value: unknown[]; nextLink?: string } = { value: page.map((r) => render(ref, r)) };
      const last = page[page.length - 1];
      if (last && start + opts.pageSize < items.length)
        body.nextLink = `${base(request)}${request.url.split('?')[0]}?api-version=${version}&$skipToken=${Buffer.from(last.name.toLowerCase()).toString('base64url')}`;
      return body;
    };

  const operation = (spec: KindSpec) =>
    async function (request: Req, reply: FastifyReply) {
      apiVersion(request, spec.versions);
      const ref = refOf(request.params);
      const name = nameOf(spec, request.params);
      const id = request.params.operationId ?? '';
      const op = service().operationStatus(ref, spec.kind, name, id);
      if (op.status === 'InProgress') void reply.header('Retry-After', String(opts.retryAfterSeconds));
      return {
        id: request.url.split('?')[0],
        name: id,
        status: op.status,
        ...(op.error ? { error: op.error } : {}),
      };
    };

  // ---- extensions ----
  const ext = SPECS.extension;
  app.get<{ Params: Params }>(
    ext.path,
    list(ext, (s, ref) => s.listExtensions(ref), renderExtension),
  );
  app.get<{ Params: Params }>(`${ext.path}/:name`, async (request) => {
    apiVersion(request, ext.versions);
    const ref = refOf(request.params);
    return renderExtension(ref, service().getExtension(ref, nameOf(ext, request.params)));
  });
  app.put<{ Params: Params }>(`${ext.path}/:name`, async (request, reply) => {
    const version = apiVersion(request, ext.versions);
    const ref = refOf(request.params);
    const name = nameOf(ext, request.params);
    const s = service();
    s.requireCluster(ref);
    const { record, created } = s.putExtension(ref, name, parseExtensionPut(request.body), callerOf(request));
    lro(ext, request, reply, record, 'w', version);
    return reply.status(created ? 201 : 200).send(renderExtension(ref, record));
  });
  app.patch<{ Params: Params }>(`${ext.path}/:name`, async (request, reply) => {
    const version = apiVersion(request, ext.versions);
    const ref = refOf(request.params);
    const name = nameOf(ext, request.params);
    const s = service();
    s.getExtension(ref, name);
    const record = s.patchExtension(ref, name, parseExtensionPatch(request.body), callerOf(request));
    lro(ext, request, reply, record, 'w', version);
    return reply.status(200).send(renderExtension(ref, record));
  });
  app.delete<{ Params: Params }>(`${ext.path}/:name`, async (request, reply) => {
    const version = apiVersion(request, ext.versions);
    const ref = refOf(request.params);
    const record = service().deleteExtension(ref, nameOf(ext, request.params), callerOf(request));
    if (!record) return reply.status(204).send();
    lro(ext, request, reply, record, 'd', version);
    return reply.status(202).send();
  });
  app.get<{ Params: Params }>(`${ext.path}/:name/operations/:operationId`, operation(ext));

  // ---- Flux configurations ----
  const flux = SPECS.fluxConfiguration;
  app.get<{ Params: Params }>(
    flux.path,
    list(flux, (s, ref) => s.listFlux(ref), renderFlux),
  );
  app.get<{ Params: Params }>(`${flux.path}/:name`, async (request) => {
    apiVersion(request, flux.versions);
    const ref = refOf(request.params);
    return renderFlux(ref, service().getFlux(ref, nameOf(flux, request.params)));
  });
  app.put<{ Params: Params }>(`${flux.path}/:name`, async (request, reply) => {
    const version = apiVersion(request, flux.versions);
    const ref = refOf(request.params);
    const name = nameOf(flux, request.params);
    const s = service();
    s.requireCluster(ref);
    const { record, created } = s.putFlux(ref, name, parseFluxPut(request.body), callerOf(request));
    lro(flux, request, reply, record, 'w', version);
    return reply.status(created ? 201 : 200).send(renderFlux(ref, record));
  });
  app.patch<{ Params: Params }>(`${flux.path}/:name`, async (request, reply) => {
    const version = apiVersion(request, flux.versions);
    const ref = refOf(request.params);
    const name = nameOf(flux, request.params);
    const s = service();
    s.getFlux(ref, name);
    const record = s.patchFlux(ref, name, parseFluxPatch(request.body), callerOf(request));
    lro(flux, request, reply, record, 'w', version);
    return reply.status(200).send(renderFlux(ref, record));
  });
  app.delete<{ Params: Params }>(`${flux.path}/:name`, async (request, reply) => {
    const version = apiVersion(request, flux.versions);
    const ref = refOf(request.params);
    const record = service().deleteFlux(ref, nameOf(flux, request.params), callerOf(request));
    if (!record) return reply.status(204).send();
    lro(flux, request, reply, record, 'd', version);
    return reply.status(202).send();
  });
  app.get<{ Params: Params }>(`${flux.path}/:name/operations/:operationId`, operation(flux));

  // ---- Service Connector linkers ----
  const lk = SPECS.linker;
  app.get<{ Params: Params }>(
    lk.path,
    list(lk, (s, ref) => s.listLinkers(ref), renderLinker),
  );
  app.get<{ Params: Params }>(`${lk.path}/:name`, async (request) => {
    apiVersion(request, lk.versions);
    const ref = refOf(request.params);
    return renderLinker(ref, service().getLinker(ref, nameOf(lk, request.params)));
  });
  app.put<{ Params: Params }>(`${lk.path}/:name`, async (request, reply) => {
    const version = apiVersion(request, lk.versions);
    const ref = refOf(request.params);
    const name = nameOf(lk, request.params);
    const s = service();
    s.requireCluster(ref);
    const input = parseLinkerPut(request.body);
    const { record, created } = s.putLinker(ref, name, input, callerOf(request));
    lro(lk, request, reply, record, 'w', version);
    return reply.status(created ? 201 : 200).send(renderLinker(ref, record));
  });
  app.delete<{ Params: Params }>(`${lk.path}/:name`, async (request, reply) => {
    apiVersion(request, lk.versions);
    const deleted = service().deleteLinker(refOf(request.params), nameOf(lk, request.params));
    return reply.status(deleted ? 200 : 204).send();
  });
  app.post<{ Params: Params }>(`${lk.path}/:name/validateLinker`, async (request) => {
    apiVersion(request, lk.versions);
    const ref = refOf(request.params);
    const s = service();
    const started = new Date(s.now()).toISOString();
    const { linker, result } = s.validateLinker(ref, nameOf(lk, request.params));
    const rendered = renderLinker(ref, linker);
    return {
      linkerName: linker.name,
      isConnectionAvailable: result.isConnectionAvailable,
      reportStartTimeUtc: started,
      reportEndTimeUtc: new Date(s.now()).toISOString(),
      sourceId: rendered.id.replace(/\/providers\/Microsoft\.ServiceLinker\/linkers\/[^/]+$/, ''),
      targetId: linker.targetService.id,
      authType: linker.authInfo.authType,
      validationDetail: result.details,
    };
  });
  app.get<{ Params: Params }>(`${lk.path}/:name/operations/:operationId`, operation(lk));
}
