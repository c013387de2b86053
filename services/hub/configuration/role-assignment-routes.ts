/**
 * ARM routes of Azure RBAC role assignments on a connected cluster:
 *   {cluster id}[/namespaces/{ns}]/providers/Microsoft.Authorization/roleAssignments[/{name}]
 * The role definitions they name are role-definition-routes.ts'.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ArcError,
  ERROR_CODES,
  ROLE_ASSIGNMENT_API_VERSIONS,
  type ClusterRef,
} from '../../../contract/index.js';
import { pageOf } from '../arm/paging.js';
import { apiVersionOf, baseUrl, callerOf } from '../arm/request.js';
import { PARENT_CLUSTER_PATH, parentRefOf, type ParentClusterParams } from '../arm/resource-path.js';
import type { Started } from '../startup.js';
import type { ConfigurationService } from './service.js';
import {
  checkAssignmentName,
  parseRoleAssignmentPut,
  renderRoleAssignment,
  type RoleAssignmentRecord,
} from './role-assignments.js';

export interface RoleAssignmentRoutesOptions {
  started: Started<{ configuration: ConfigurationService }>;
  pageSize: number;
  publicUrl: string | undefined;
}

type Params = ParentClusterParams & { namespace?: string; name?: string; roleId?: string };
type Req = FastifyRequest<{ Params: Params; Body: unknown }>;

const AUTHZ = 'providers/Microsoft.Authorization';
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
function namespaceOf(params: Params): string | null {
  if (params.namespace === undefined) return null;
  if (params.namespace.length > 63 || !NAMESPACE.test(params.namespace))
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `The namespace '${params.namespace}' in the scope is not a valid Kubernetes namespace name.`,
      { status: 400, target: 'scope' },
    );
  return params.namespace;
}

/** `$filter`: `atScope()` and `principalId eq '<id>'`, alone or joined with `and`, as ARM takes them. */
function filterOf(request: FastifyRequest): { atScope: boolean; principalId?: string } {
  const raw = (request.query as Record<string, string | undefined>).$filter?.trim();
  if (raw === undefined || raw === '') return { atScope: false };
  const out: { atScope: boolean; principalId?: string } = { atScope: false };
  for (const part of raw.split(/\s+and\s+/i)) {
    const principal = /^principalId\s+eq\s+'([^']+)'$/i.exec(part.trim());
    if (/^atScope\(\)$/i.test(part.trim())) out.atScope = true;
    else if (principal?.[1] !== undefined) out.principalId = principal[1].toLowerCase();
    else
      throw new ArcError(ERROR_CODES.InvalidParameter, `The filter '${raw}' is not supported.`, {
        status: 400,
        target: '$filter',
      });
  }
  return out;
}

export function registerRoleAssignmentRoutes(app: FastifyInstance, opts: RoleAssignmentRoutesOptions): void {
  const service = (): ConfigurationService => opts.started.get().configuration;
  const version = (request: FastifyRequest): string => apiVersionOf(request, ROLE_ASSIGNMENT_API_VERSIONS);

  const list = async (request: Req): Promise<unknown> => {
    const apiVersion = version(request);
    const ref = parentRefOf(request.params);
    const namespace = namespaceOf(request.params);
    const filter = filterOf(request);
    // At a namespace: its own and the cluster's (above it); at the cluster: every one, unless atScope().
    const all = service()
      .listRoleAssignments(ref)
      .filter((r) =>
        namespace !== null
          ? r.namespace === null || r.namespace === namespace
          : !filter.atScope || r.namespace === null,
      )
      .filter((r) => filter.principalId === undefined || r.principalId === filter.principalId)
      .sort((a, b) => a.name.localeCompare(b.name));
    return pageOf(request, all, {
      pageSize: opts.pageSize,
      apiVersion,
      baseUrl: baseUrl(opts.publicUrl, request),
      keyOf: (r: RoleAssignmentRecord) => r.name,
      render: (r) => renderRoleAssignment(ref, r),
    });
  };
  const get = async (request: Req): Promise<unknown> => {
    version(request);
    const ref = parentRefOf(request.params);
    const name = checkAssignmentName(request.params.name ?? '');
    return renderRoleAssignment(ref, service().getRoleAssignment(ref, namespaceOf(request.params), name));
  };
  const put = async (request: Req, reply: FastifyReply): Promise<unknown> => {
    version(request);
    const ref: ClusterRef = parentRefOf(request.params);
    const name = checkAssignmentName(request.params.name ?? '');
    const namespace = namespaceOf(request.params);
    const input = parseRoleAssignmentPut(request.body);
    const { record, created } = service().putRoleAssignment(ref, namespace, name, input, callerOf(request));
    void reply.code(created ? 201 : 200);
    return renderRoleAssignment(ref, record);
  };
  const remove = async (request: Req, reply: FastifyReply): Promise<unknown> => {
    version(request);
    const ref = parentRefOf(request.params);
    const name = checkAssignmentName(request.params.name ?? '');
    const removed = service().deleteRoleAssignment(ref, namespaceOf(request.params), name);
    if (!removed) {
      void reply.code(204);
      return undefined;
    }
    return renderRoleAssignment(ref, removed);
  };

  for (const scope of [PARENT_CLUSTER_PATH, `${PARENT_CLUSTER_PATH}/namespaces/:namespace`]) {
    const base = `${scope}/${AUTHZ}/roleAssignments`;
    app.get(base, list);
    app.get(`${base}/:name`, get);
    app.put(`${base}/:name`, put);
    app.delete(`${base}/:name`, remove);
  }
}
