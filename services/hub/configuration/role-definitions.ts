/**
 * `Microsoft.Authorization/roleDefinitions`: the four Azure Arc Kubernetes built-in roles, and custom
 * roles made the way `az role definition create --role-definition @role.json` makes them (a PUT of
 * `{roleName, description, permissions: [{actions, notActions, dataActions, notDataActions}],
 * assignableScopes}` under a new GUID). A custom role is the tenant's, not one subscription's: it is
 * seen from every subscription its assignable scopes name, and its name is unique in the tenant.
 * This file has the rules and the shapes; custom-roles.ts keeps them.
 */
import { z } from 'zod';
import {
  ArcError,
  ERROR_CODES,
  K8S_DATA_ACTION_PREFIX,
  MAX_ROLE_DATA_ACTIONS,
  roleDefinitionIdOf,
  type BuiltInRole,
} from '../../../contract/index.js';
import { guidName, parseWith, propertiesOf, requireObject } from './validation-shared.js';

export interface RolePermissions {
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

export interface RoleDefinitionRecord {
  v: 1;
  /** The role's GUID (lower-cased): its KV key too. */
  key: string;
  roleName: string;
  description: string;
  permissions: RolePermissions[];
  assignableScopes: string[];
  createdOn: string;
  updatedOn: string;
  createdBy: string;
  updatedBy: string;
}

export type RoleDefinitionInput = Pick<
  RoleDefinitionRecord,
  'roleName' | 'description' | 'permissions' | 'assignableScopes'
>;

/** The management-plane actions every Azure Arc Kubernetes built-in role has besides its data actions. */
const BUILT_IN_ACTIONS = [
  'Microsoft.Authorization/*/read',
  'Microsoft.Insights/alertRules/*',
  'Microsoft.Resources/deployments/write',
  'Microsoft.Resources/subscriptions/operationresults/read',
  'Microsoft.Resources/subscriptions/read',
  'Microsoft.Resources/subscriptions/resourceGroups/read',
  'Microsoft.Support/*',
];

/** An operation pattern: `Provider.Namespace/type[/...]/operation`, `*` anywhere. */
const OPERATION = /^[A-Za-z0-9*][A-Za-z0-9.*-]*(\/[A-Za-z0-9.*_-]+)+$/;
const operations = z.array(z.string().min(1).max(256)).max(MAX_ROLE_DATA_ACTIONS).default([]);
/** A subscription, a resource group or a resource: custom roles are never assignable at the root. */
const SCOPE = /^\/subscriptions\/[^/]+(\/resourceGroups\/[^/]+(\/providers\/.+)?)?$/i;

const putSchema = z.object({
  roleName: z.string().trim().min(1).max(512),
  description: z.string().max(2048).nullable().optional(),
  // Read-only or fixed in the body az sends; a custom role is always a CustomRole.
  type: z.literal('CustomRole').optional(),
  roleType: z.literal('CustomRole').optional(),
  permissions: z
    .array(
      z.object({
        actions: operations,
        notActions: operations,
        dataActions: operations,
        notDataActions: operations,
      }),
    )
    .min(1)
    .max(10),
  assignableScopes: z.array(z.string().min(1).max(1024)).min(1).max(50),
});

export function checkRoleDefinitionId(id: string): string {
  return guidName(id, ERROR_CODES.InvalidRoleDefinitionId, 'role definition');
}

function invalidOperation(op: string, why: string): ArcError {
  return new ArcError(
    ERROR_CODES.InvalidActionOrNotAction,
    `'${op}' does not match any of the actions supported by the providers.${why}`,
    { status: 400, target: 'properties.permissions' },
  );
}

/** A PUT body's role, validated as ARM does (operations, scopes); the name's uniqueness is checked on store. */
export function parseRoleDefinitionPut(id: string, body: unknown): RoleDefinitionInput {
  const name = requireObject(body).name;
  if (name !== undefined && name !== null && String(name).toLowerCase() !== id)
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `The role definition name '${String(name)}' in the body does not match the ID '${id}' in the URL.`,
      { status: 400, target: 'name' },
    );
  const props = parseWith(putSchema, propertiesOf(body, true), 'properties');
  for (const p of props.permissions) {
    for (const op of [...p.actions, ...p.notActions, ...p.dataActions, ...p.notDataActions])
      if (!OPERATION.test(op)) throw invalidOperation(op, '');
    for (const op of [...p.dataActions, ...p.notDataActions])
      if (!op.toLowerCase().startsWith('microsoft.kubernetes/'))
        throw invalidOperation(op, ` arcfleet emulates the data actions of ${K8S_DATA_ACTION_PREFIX}* only.`);
  }
  for (const scope of props.assignableScopes)
    if (!SCOPE.test(scope))
      throw new ArcError(
        ERROR_CODES.InvalidParameter,
        `The assignable scope '${scope}' is not valid: a custom role is assignable at subscriptions, resource groups or resources, not at the root ('/').`,
        { status: 400, target: 'properties.assignableScopes' },
      );
  return {
    roleName: props.roleName,
    description: props.description ?? '',
    permissions: props.permissions,
    assignableScopes: props.assignableScopes,
  };
}

/** Whether a scope is one of the role's assignable scopes or lies under one (ARM ids compare case-insensitively). */
export function assignableAt(role: Pick<RoleDefinitionRecord, 'assignableScopes'>, scope: string): boolean {
  const s = scope.toLowerCase();
  return role.assignableScopes.some((a) => {
    const prefix = a.toLowerCase().replace(/\/+$/, '');
    return s === prefix || s.startsWith(`${prefix}/`);
  });
}

/** Whether the role is seen from a subscription: one of its assignable scopes is in it. */
export function visibleIn(
  role: Pick<RoleDefinitionRecord, 'assignableScopes'>,
  subscriptionId: string,
): boolean {
  const sub = `/subscriptions/${subscriptionId.toLowerCase()}`;
  return role.assignableScopes.some((a) => a.toLowerCase() === sub || a.toLowerCase().startsWith(`${sub}/`));
}

/** A custom role's data permissions, merged over its permission blocks (what guard is given). */
export function dataPermissionsOf(r: RoleDefinitionRecord): {
  dataActions: string[];
  notDataActions: string[];
} {
  return {
    dataActions: r.permissions.flatMap((p) => p.dataActions),
    notDataActions: r.permissions.flatMap((p) => p.notDataActions),
  };
}

export function renderBuiltInRole(subscriptionId: string, role: BuiltInRole): Record<string, unknown> {
  return {
    id: roleDefinitionIdOf(subscriptionId, role.id),
    name: role.id,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: role.roleName,
      type: 'BuiltInRole',
      description: role.description,
      assignableScopes: ['/'],
      permissions: [
        { actions: BUILT_IN_ACTIONS, notActions: [], dataActions: role.dataActions, notDataActions: [] },
      ],
      createdOn: '2020-05-14T00:00:00.0000000Z',
      updatedOn: '2021-11-11T00:00:00.0000000Z',
      createdBy: null,
      updatedBy: null,
    },
  };
}

export function renderCustomRole(subscriptionId: string, r: RoleDefinitionRecord): Record<string, unknown> {
  return {
    id: roleDefinitionIdOf(subscriptionId, r.key),
    name: r.key,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: r.roleName,
      type: 'CustomRole',
      description: r.description,
      assignableScopes: r.assignableScopes,
      permissions: r.permissions,
      createdOn: r.createdOn,
      updatedOn: r.updatedOn,
      createdBy: r.createdBy,
      updatedBy: r.updatedBy,
    },
  };
}

export function roleNotFound(id: string, status: 400 | 404): ArcError {
  return new ArcError(
    ERROR_CODES.RoleDefinitionDoesNotExist,
    `The specified role definition with ID '${id}' does not exist.`,
    { status, ...(status === 400 ? { target: 'properties.roleDefinitionId' } : {}) },
  );
}
