/**
 * `Microsoft.Authorization/roleAssignments` at a connected cluster's scope (`<cluster id>`) or at one of
 * its namespaces (`<cluster id>/namespaces/<ns>`), the way Azure RBAC on Arc-enabled Kubernetes scopes
 * them. They live in the cluster's configuration document, so they go when the cluster is deleted and
 * reach guard in its desired state. Synchronous like ARM's own (201 on create, no async operation).
 * Validation and the errors are ARM's: a name that is not a GUID, an unknown role, an assignment that
 * exists under another name, a PUT that would change an assignment. A custom role (role-definitions.ts)
 * is assignable within its assignable scopes.
 */
import { z } from 'zod';
import {
  ArcError,
  ERROR_CODES,
  builtInRole,
  isGuid,
  resourceId,
  roleDefinitionIdOf,
  roleGuidOf,
  type ClusterRef,
  type RoleGrant,
} from '../../../contract/index.js';
import { guidName, parseWith, propertiesOf } from './validation-shared.js';
import {
  assignableAt,
  dataPermissionsOf,
  roleNotFound,
  type RoleDefinitionRecord,
} from './role-definitions.js';

/** A custom role by its GUID (the tenant's roles, custom-roles.ts). */
export type CustomRoleLookup = (roleId: string) => RoleDefinitionRecord | undefined;

/** Refuses a role that does not exist, or a custom one not assignable at `scope`. */
export function checkRoleAssignable(roleId: string, scope: string, customRole: CustomRoleLookup): void {
  if (builtInRole(roleId)) return;
  const custom = customRole(roleId);
  if (!custom) throw roleNotFound(roleId, 400);
  if (!assignableAt(custom, scope))
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `The role definition '${custom.roleName}' (${roleId}) is not assignable at the scope '${scope}': its assignable scopes are ${custom.assignableScopes.map((s) => `'${s}'`).join(', ')}.`,
      { status: 400, target: 'properties.roleDefinitionId' },
    );
}

export const PRINCIPAL_TYPES = ['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device'] as const;

export interface RoleAssignmentRecord {
  /** The assignment's name, a GUID (lower-cased). */
  name: string;
  principalId: string;
  principalType: (typeof PRINCIPAL_TYPES)[number];
  roleId: string;
  /** Namespace scope; null: the cluster. */
  namespace: string | null;
  description: string | null;
  createdOn: string;
  createdBy: string;
}

export interface RoleAssignmentInput {
  readonly principalId: string;
  readonly principalType: RoleAssignmentRecord['principalType'];
  readonly roleId: string;
  readonly description: string | null;
}

const putSchema = z.object({
  roleDefinitionId: z.string().min(1).max(512),
  principalId: z.string().min(1).max(64),
  principalType: z.enum(PRINCIPAL_TYPES).default('User'),
  description: z.string().max(2048).nullable().optional(),
  // Accepted as ARM does, not evaluated: arcfleet's guard has no ABAC.
  condition: z.string().max(8192).nullable().optional(),
  conditionVersion: z.string().max(16).nullable().optional(),
  delegatedManagedIdentityResourceId: z.string().max(1024).nullable().optional(),
});

export function checkAssignmentName(name: string): string {
  return guidName(name, ERROR_CODES.InvalidRoleAssignmentId, 'role assignment');
}

export function parseRoleAssignmentPut(body: unknown): RoleAssignmentInput {
  const props = parseWith(putSchema, propertiesOf(body, true), 'properties');
  if (!isGuid(props.principalId))
    throw new ArcError(
      ERROR_CODES.InvalidPrincipalId,
      `A valid principal ID must be provided for role assignment. The principal ID '${props.principalId}' is not a GUID.`,
      { status: 400, target: 'properties.principalId' },
    );
  const roleId = roleGuidOf(props.roleDefinitionId);
  if (roleId === undefined) throw roleNotFound(props.roleDefinitionId, 400);
  return {
    principalId: props.principalId.toLowerCase(),
    principalType: props.principalType,
    roleId,
    description: props.description ?? null,
  };
}

/** The scope a record is at, as ARM names it. */
export function scopeOf(ref: ClusterRef, r: Pick<RoleAssignmentRecord, 'namespace'>): string {
  const cluster = resourceId(ref);
  return r.namespace === null ? cluster : `${cluster}/namespaces/${r.namespace}`;
}

export function renderRoleAssignment(ref: ClusterRef, r: RoleAssignmentRecord): Record<string, unknown> {
  const scope = scopeOf(ref, r);
  return {
    id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${r.name}`,
    name: r.name,
    type: 'Microsoft.Authorization/roleAssignments',
    properties: {
      roleDefinitionId: roleDefinitionIdOf(ref.subscriptionId, r.roleId),
      principalId: r.principalId,
      principalType: r.principalType,
      scope,
      condition: null,
      conditionVersion: null,
      description: r.description,
      createdOn: r.createdOn,
      updatedOn: r.createdOn,
      createdBy: r.createdBy,
      updatedBy: r.createdBy,
      delegatedManagedIdentityResourceId: null,
    },
  };
}

export function notFoundAssignment(name: string): ArcError {
  return new ArcError(ERROR_CODES.RoleAssignmentNotFound, `The role assignment '${name}' is not found.`, {
    status: 404,
  });
}

/**
 * Adds an assignment to `all` (keyed by name), or answers for an existing one: the same again is
 * kept as it is (`created: false`), a changed one is refused, the same grant under another name is
 * RoleAssignmentExists.
 */
export function putAssignment(
  all: Record<string, RoleAssignmentRecord>,
  name: string,
  namespace: string | null,
  input: RoleAssignmentInput,
  stamp: { nowIso: string; caller: string },
): { record: RoleAssignmentRecord; created: boolean } {
  const existing = all[name];
  if (existing) {
    const same =
      existing.principalId === input.principalId &&
      existing.roleId === input.roleId &&
      existing.namespace === namespace;
    if (!same)
      throw new ArcError(
        ERROR_CODES.RoleAssignmentUpdateNotPermitted,
        'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.',
        { status: 400 },
      );
    return { record: existing, created: false };
  }
  const twin = Object.values(all).find(
    (r) => r.principalId === input.principalId && r.roleId === input.roleId && r.namespace === namespace,
  );
  if (twin)
    throw new ArcError(ERROR_CODES.RoleAssignmentExists, 'The role assignment already exists.', {
      status: 409,
    });
  const record: RoleAssignmentRecord = {
    name,
    principalId: input.principalId,
    principalType: input.principalType,
    roleId: input.roleId,
    namespace,
    description: input.description,
    createdOn: stamp.nowIso,
    createdBy: stamp.caller,
  };
  all[name] = record;
  return { record, created: true };
}

/**
 * What guard is given: every assignment of the cluster, a custom role's permissions with each of its
 * grants (guard knows the built-in roles). An assignment of a role that is gone grants nothing.
 */
export function grantsOf(
  all: Record<string, RoleAssignmentRecord>,
  customRole: CustomRoleLookup,
): RoleGrant[] {
  const grants: RoleGrant[] = [];
  for (const r of Object.values(all)) {
    const grant = { name: r.name, principalId: r.principalId, roleId: r.roleId, namespace: r.namespace };
    if (builtInRole(r.roleId)) {
      grants.push(grant);
      continue;
    }
    const custom = customRole(r.roleId);
    if (custom)
      grants.push({ ...grant, custom: { roleName: custom.roleName, ...dataPermissionsOf(custom) } });
  }
  return grants;
}
