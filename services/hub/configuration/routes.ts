/**
 * ARM routes of the configuration resources, children of a connected cluster:
 *   .../connectedClusters/{c}/providers/Microsoft.KubernetesConfiguration/extensions[/{name}]
 *   .../connectedClusters/{c}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations[/{name}]
 *   .../connectedClusters/{c}/providers/Microsoft.ServiceLinker/linkers[/{name}[/validateLinker]]
 * plus `.../{name}/operations/{id}` for the Azure-AsyncOperation of each write (legacy
 * sourceControlConfigurations: source-control-routes.ts; kinds and names: route-specs.ts). Errors go through the
 * app's ARM error handler (arm/app.ts); api-version, paths, paging and async-operation headers are arm/'s too.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ClusterRef } from '../../../contract/index.js';
import { asyncOperationHeaders, retryAfterWhileInProgress } from '../arm/async-operation.js';
import { pageOf } from '../arm/paging.js';
import { apiVersionOf, baseUrl, callerOf } from '../arm/request.js';
import { parentRefOf } from '../arm/resource-path.js';
import type { Started } from '../startup.js';
import { renderExtension, renderFlux, renderLinker } from './render.js';
import { operationId } from './arm-operations.js';
import { SPECS, nameOf, versionOf, type KindSpec, type Params, type Req } from './route-specs.js';
import type { ConfigurationService } from './service.js';
import { registerSourceControlRoutes } from './source-control-routes.js';
import { parseExtensionPatch, parseExtensionPut } from './validation-extension.js';
import { parseFluxPatch, parseFluxPut } from './validation-flux.js';
import { parseLinkerPut } from './validation-linker.js';

export interface ConfigurationRoutesOptions {
  started: Started<{ configuration: ConfigurationService }>;
  pageSize: number;
  retryAfterSeconds: number;
  publicUrl: string | undefined;
}

/** A versioned kind's own parts (routes.ts registers the same verbs for each). */
interface VersionedOps<R, Put, Patch> {
  list(s: ConfigurationService, ref: ClusterRef): R[];
  get(s: ConfigurationService, ref: ClusterRef, name: string): R;
  put(
    s: ConfigurationService,
    ref: ClusterRef,
    name: string,
    input: Put,
    caller: string,
  ): { record: R; created: boolean };
  patch(s: ConfigurationService, ref: ClusterRef, name: string, patch: Patch, caller: string): R;
  remove(s: ConfigurationService, ref: ClusterRef, name: string, caller: string): R | undefined;
  parsePut(body: unknown): Put;
  parsePatch(body: unknown): Patch;
  render(ref: ClusterRef, r: R): unknown;
}

export function registerConfigurationRoutes(app: FastifyInstance, opts: ConfigurationRoutesOptions): void {
  const service = (): ConfigurationService => opts.started.get().configuration;

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
    const url = `${baseUrl(opts.publicUrl, request)}${path}/operations/${operationId(r, op)}?api-version=${version}`;
    asyncOperationHeaders(reply, url, opts.retryAfterSeconds, { location: op === 'd' });
  };

  const list = <T extends { name: string }>(
    spec: KindSpec,
    all: (s: ConfigurationService, ref: ClusterRef) => T[],
    render: (ref: ClusterRef, r: T) => unknown,
  ) =>
    async function (request: Req) {
      const version = versionOf(spec, request);
      const ref = parentRefOf(request.params);
      return pageOf(request, all(service(), ref), {
        pageSize: opts.pageSize,
        apiVersion: version.apiVersion,
        baseUrl: baseUrl(opts.publicUrl, request),
        keyOf: (r) => r.name.toLowerCase(),
        render: (r) => version.project(render(ref, r)),
      });
    };

  const operation = (spec: KindSpec) =>
    async function (request: Req, reply: FastifyReply) {
      apiVersionOf(request, spec.versions);
      const ref = parentRefOf(request.params);
      const name = nameOf(spec, request.params);
      const id = request.params.operationId ?? '';
      const op = service().operationStatus(ref, spec.kind, name, id);
      retryAfterWhileInProgress(reply, op.status, opts.retryAfterSeconds);
      return {
        id: request.url.split('?')[0],
        name: id,
        status: op.status,
        ...(op.error ? { error: op.error } : {}),
      };
    };

  /**
   * GET, PUT, PATCH, DELETE, LIST and the operation status of a versioned kind (extensions, Flux
   * configurations): the same steps for both, each kind's own service calls, parsers and rendering.
   */
  const registerVersioned = <R extends { name: string; uid: string; generation: number }, Put, Patch>(
    spec: KindSpec,
    ops: VersionedOps<R, Put, Patch>,
  ): void => {
    const one = `${spec.path}/:name`;
    app.get<{ Params: Params }>(spec.path, list(spec, ops.list, ops.render));
    app.get<{ Params: Params }>(one, async (request) => {
      const version = versionOf(spec, request);
      const ref = parentRefOf(request.params);
      return version.project(ops.render(ref, ops.get(service(), ref, nameOf(spec, request.params))));
    });
    app.put<{ Params: Params }>(one, async (request, reply) => {
      const version = versionOf(spec, request);
      const ref = parentRefOf(request.params);
      const name = nameOf(spec, request.params);
      const s = service();
      s.requireCluster(ref);
      const input = ops.parsePut(version.accept(request.body));
      const { record, created } = ops.put(s, ref, name, input, callerOf(request));
      lro(spec, request, reply, record, 'w', version.apiVersion);
      return reply.status(created ? 201 : 200).send(version.project(ops.render(ref, record)));
    });
    app.patch<{ Params: Params }>(one, async (request, reply) => {
      const version = versionOf(spec, request);
      const ref = parentRefOf(request.params);
      const name = nameOf(spec, request.params);
      const s = service();
      ops.get(s, ref, name);
      const record = ops.patch(s, ref, name, ops.parsePatch(version.accept(request.body)), callerOf(request));
      lro(spec, request, reply, record, 'w', version.apiVersion);
      return reply.status(200).send(version.project(ops.render(ref, record)));
    });
    app.delete<{ Params: Params }>(one, async (request, reply) => {
      const version = apiVersionOf(request, spec.versions);
      const ref = parentRefOf(request.params);
      const record = ops.remove(service(), ref, nameOf(spec, request.params), callerOf(request));
      if (!record) return reply.status(204).send();
      lro(spec, request, reply, record, 'd', version);
      return reply.status(202).send();
    });
    app.get<{ Params: Params }>(`${one}/operations/:operationId`, operation(spec));
  };

  registerVersioned(SPECS.extension, {
    list: (s, ref) => s.listExtensions(ref),
    get: (s, ref, name) => s.getExtension(ref, name),
    put: (s, ref, name, input, caller) => s.putExtension(ref, name, input, caller),
    patch: (s, ref, name, patch, caller) => s.patchExtension(ref, name, patch, caller),
    remove: (s, ref, name, caller) => s.deleteExtension(ref, name, caller),
    parsePut: parseExtensionPut,
    parsePatch: parseExtensionPatch,
    render: renderExtension,
  });
  registerVersioned(SPECS.fluxConfiguration, {
    list: (s, ref) => s.listFlux(ref),
    get: (s, ref, name) => s.getFlux(ref, name),
    put: (s, ref, name, input, caller) => s.putFlux(ref, name, input, caller),
    patch: (s, ref, name, patch, caller) => s.patchFlux(ref, name, patch, caller),
    remove: (s, ref, name, caller) => s.deleteFlux(ref, name, caller),
    parsePut: parseFluxPut,
    parsePatch: parseFluxPatch,
    render: renderFlux,
  });

  registerSourceControlRoutes(app, { service, pageSize: opts.pageSize, publicUrl: opts.publicUrl });

  // ---- Service Connector linkers ----
  const lk = SPECS.linker;
  app.get<{ Params: Params }>(
    lk.path,
    list(lk, (s, ref) => s.listLinkers(ref), renderLinker),
  );
  app.get<{ Params: Params }>(`${lk.path}/:name`, async (request) => {
    apiVersionOf(request, lk.versions);
    const ref = parentRefOf(request.params);
    return renderLinker(ref, service().getLinker(ref, nameOf(lk, request.params)));
  });
  app.put<{ Params: Params }>(`${lk.path}/:name`, async (request, reply) => {
    const version = apiVersionOf(request, lk.versions);
    const ref = parentRefOf(request.params);
    const name = nameOf(lk, request.params);
    const s = service();
    s.requireCluster(ref);
    const input = parseLinkerPut(request.body);
    const { record, created } = s.putLinker(ref, name, input, callerOf(request));
    lro(lk, request, reply, record, 'w', version);
    return reply.status(created ? 201 : 200).send(renderLinker(ref, record));
  });
  app.delete<{ Params: Params }>(`${lk.path}/:name`, async (request, reply) => {
    apiVersionOf(request, lk.versions);
    const deleted = service().deleteLinker(parentRefOf(request.params), nameOf(lk, request.params));
    return reply.status(deleted ? 200 : 204).send();
  });
  app.post<{ Params: Params }>(`${lk.path}/:name/validateLinker`, async (request) => {
    apiVersionOf(request, lk.versions);
    const ref = parentRefOf(request.params);
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
