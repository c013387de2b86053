/**
 * ARM routes of legacy Flux v1 `sourceControlConfigurations` under a connected cluster: GET, LIST, PUT
 * and DELETE, all synchronous (no operations, no PATCH), as the legacy API defines them.
 */
import type { FastifyInstance } from 'fastify';
import type { ResourceShape } from '../../../contract/api-versions.js';
import type { ClusterRef } from '../../../contract/index.js';
import { pageOf } from '../arm/paging.js';
import { apiVersionOf, baseUrl, callerOf } from '../arm/request.js';
import { parentRefOf } from '../arm/resource-path.js';
import type { SourceControlRecord } from './records.js';
import { renderSourceControl } from './render.js';
import { SPECS, nameOf, versionOf, type Params } from './route-specs.js';
import type { ConfigurationService } from './service.js';
import { parseSourceControlPut } from './validation-source-control.js';

export function registerSourceControlRoutes(
  app: FastifyInstance,
  opts: { service: () => ConfigurationService; pageSize: number; publicUrl: string | undefined },
): void {
  const { service } = opts;
  const scc = SPECS.sourceControlConfiguration;
  /** 2019-11-01-preview defined enableHelmOperator as the strings "true" / "false". */
  const sccView = (version: Pick<ResourceShape, 'apiVersion' | 'project'>, ref: ClusterRef) =>
    function (r: SourceControlRecord) {
      const body = version.project(renderSourceControl(ref, r)) as { properties: Record<string, unknown> };
      if (version.apiVersion === '2019-11-01-preview')
        body.properties.enableHelmOperator = String(body.properties.enableHelmOperator);
      return body;
    };
  app.get<{ Params: Params }>(scc.path, async (request) => {
    const version = versionOf(scc, request);
    const ref = parentRefOf(request.params);
    return pageOf(request, service().listSourceControl(ref), {
      pageSize: opts.pageSize,
      apiVersion: version.apiVersion,
      baseUrl: baseUrl(opts.publicUrl, request),
      keyOf: (r) => r.name.toLowerCase(),
      render: sccView(version, ref),
    });
  });
  app.get<{ Params: Params }>(`${scc.path}/:name`, async (request) => {
    const version = versionOf(scc, request);
    const ref = parentRefOf(request.params);
    return sccView(version, ref)(service().getSourceControl(ref, nameOf(scc, request.params)));
  });
  app.put<{ Params: Params }>(`${scc.path}/:name`, async (request, reply) => {
    const version = versionOf(scc, request);
    const ref = parentRefOf(request.params);
    const name = nameOf(scc, request.params);
    const s = service();
    s.requireCluster(ref);
    const input = parseSourceControlPut(version.accept(request.body), name);
    const { record, created } = s.putSourceControl(ref, name, input, callerOf(request));
    return reply.status(created ? 201 : 200).send(sccView(version, ref)(record));
  });
  app.delete<{ Params: Params }>(`${scc.path}/:name`, async (request, reply) => {
    apiVersionOf(request, scc.versions);
    const ref = parentRefOf(request.params);
    const record = service().deleteSourceControl(ref, nameOf(scc, request.params), callerOf(request));
    return reply.status(record ? 200 : 204).send();
  });
}
