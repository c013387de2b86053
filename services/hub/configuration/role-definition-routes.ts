/**
 * ARM routes of `Microsoft.Authorization/roleDefinitions`, at a subscription, a resource group or a
 * connected cluster (`{scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}]`): the built-in
 * Azure Arc Kubernetes roles and the tenant's custom roles, so `az role definition create|list|delete`
 * and `az role assignment create --role "<name>"` (which looks the role up by name first) work
 * unchanged. A custom role still assigned cannot be deleted; a changed one reaches guard at once.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ArcError,
  BUILT_IN_ROLES,
  ERROR_CODES,
  ROLE_ASSIGNMENT_API_VERSIONS,
  builtInRole,
  resourceId,
} from '../../../contract/index.js';
import { apiVersionOf, callerOf } from '../arm/request.js';
import { PARENT_CLUSTER_PATH } from '../arm/resource-path.js';
import type { Started } from '../startup.js';
import type { CustomRoles } from './custom-roles.js';
import {
  assignableAt,
  checkRoleDefinitionId,
  parseRoleDefinitionPut,
  renderBuiltInRole,
  renderCustomRole,
  roleNotFound,
} from './role-definitions.js';
import type { ConfigurationService } from './service.js';

export interface RoleDefinitionRoutesOptions {
  started: Started<{ configuration: ConfigurationService; customRoles: CustomRoles }>;
}

type Req = FastifyRequest<{ Params: { subscriptionId: string; roleId?: string }; Body: unknown }>;

const SCOPES = [
  '/subscriptions/:subscriptionId',
  '/subscriptions/:subscriptionId/resourceGroups/:resourceGroup',
  PARENT_CLUSTER_PATH,
];

/** `$filter`: `roleName eq '<name>'` or `type eq 'BuiltInRole'|'CustomRole'`, as az sends them. */
function filterOf(request: FastifyRequest): { roleName?: string; type?: string } {
  const raw = (request.query as Record<string, string | undefined>).$filter?.trim();
  if (raw === undefined || raw === '') return {};
  const byName = /^roleName\s+eq\s+'([^']*)'$/i.exec(raw)?.[1];
  if (byName !== undefined) return { roleName: byName.toLowerCase() };
  const byType = /^type\s+eq\s+'(BuiltInRole|CustomRole)'$/i.exec(raw)?.[1];
  if (byType !== undefined) return { type: byType.toLowerCase() };
  throw new ArcError(ERROR_CODES.InvalidParameter, `The filter '${raw}' is not supported.`, {
    status: 400,
    target: '$filter',
  });
}

/** The role a write names: a GUID, and not a built-in role (those are never changed or deleted). */
function customRoleId(request: Req, verb: 'changed' | 'deleted'): string {
  const id = checkRoleDefinitionId(request.params.roleId ?? '');
  if (builtInRole(id))
    throw new ArcError(
      ERROR_CODES.Conflict,
      `The role definition '${id}' is a built-in role; it cannot be ${verb}.`,
      {
        status: 409,
      },
    );
  return id;
}

export function registerRoleDefinitionRoutes(app: FastifyInstance, opts: RoleDefinitionRoutesOptions): void {
  const roles = (): CustomRoles => opts.started.get().customRoles;
  const configuration = (): ConfigurationService => opts.started.get().configuration;
  const version = (request: FastifyRequest): string => apiVersionOf(request, ROLE_ASSIGNMENT_API_VERSIONS);

  const list = async (request: Req): Promise<unknown> => {
    version(request);
    const sub = request.params.subscriptionId;
    const f = filterOf(request);
    const named = (roleName: string): boolean =>
      f.roleName === undefined || roleName.toLowerCase() === f.roleName;
    const builtIn =
      f.type === 'customrole'
        ? []
        : BUILT_IN_ROLES.filter((r) => named(r.roleName)).map((r) => renderBuiltInRole(sub, r));
    const custom =
      f.type === 'builtinrole'
        ? []
        : roles()
            .visibleIn(sub)
            .filter((r) => named(r.roleName))
            .map((r) => renderCustomRole(sub, r));
    return { value: [...builtIn, ...custom] };
  };
  const get = async (request: Req): Promise<unknown> => {
    version(request);
    const sub = request.params.subscriptionId;
    const id = request.params.roleId ?? '';
    const builtIn = builtInRole(id);
    if (builtIn) return renderBuiltInRole(sub, builtIn);
    const custom = roles().get(id);
    if (!custom) throw roleNotFound(id, 404);
    return renderCustomRole(sub, custom);
  };
  const put = async (request: Req, reply: FastifyReply): Promise<unknown> => {
    version(request);
    const id = customRoleId(request, 'changed');
    const input = parseRoleDefinitionPut(id, request.body);
    // Narrowing the assignable scopes may not orphan an assignment (ARM refuses it the same way).
    const orphaned = configuration()
      .clustersAssigning(id)
      .find((ref) => !assignableAt(input, resourceId(ref)));
    if (orphaned)
      throw new ArcError(
        ERROR_CODES.RoleScopeBeingRemovedContainsAssignments,
        `Role assignments found under scope '${resourceId(orphaned)}' which is being removed. Removing this scope from the role will orphan these assignments. Delete these assignments before removing the scope.`,
        { status: 400, target: 'properties.assignableScopes' },
      );
    const { record, created } = roles().put(id, input, callerOf(request));
    if (!created) configuration().roleChanged(id);
    void reply.code(created ? 201 : 200);
    return renderCustomRole(request.params.subscriptionId, record);
  };
  const remove = async (request: Req, reply: FastifyReply): Promise<unknown> => {
    version(request);
    const id = customRoleId(request, 'deleted');
    const assigning = configuration().clustersAssigning(id);
    if (assigning.length > 0)
      throw new ArcError(
        ERROR_CODES.RoleDefinitionHasAssignments,
        `There are existing role assignments referencing role (code: RoleDefinitionHasAssignments): ${assigning.length} connected cluster(s), e.g. '${assigning[0]?.name ?? ''}'.`,
        { status: 409 },
      );
    const removed = await roles().delete(id);
    if (!removed) {
      void reply.code(204);
      return undefined;
    }
    return renderCustomRole(request.params.subscriptionId, removed);
  };

  for (const scope of SCOPES) {
    const base = `${scope}/providers/Microsoft.Authorization/roleDefinitions`;
    app.get(base, list);
    app.get(`${base}/:roleId`, get);
    app.put(`${base}/:roleId`, put);
    app.delete(`${base}/:roleId`, remove);
  }
}
