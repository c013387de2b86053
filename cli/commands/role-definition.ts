/**
 * `arcfleet role definition create|update|list|delete`: the tenant's custom roles, as `az role definition`
 * makes them. `create` takes the JSON file az takes (`--role-definition @role.json`: Name, Description,
 * Actions, NotActions, DataActions, NotDataActions, AssignableScopes) or the same as options; a role is
 * created under a new GUID at its first assignable scope's subscription (default: the fleet's).
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { ArcError, ERROR_CODES, isGuid } from '../../contract/index.js';
import type { RoleDefinition, RoleDefinitionPut } from '../../fleet/clients/authorization-client.js';
import { loadContext, type FleetContext } from '../context.js';
import { table } from '../format.js';
import { fleetOptions, outputOption, parseOutput, type GlobalOpts, type Print } from './options.js';

/** az's role definition file (its keys in either case, as az reads them). */
const roleFileSchema = z.object({
  name: z.string().min(1),
  description: z.string().optional(),
  actions: z.array(z.string()).default([]),
  notactions: z.array(z.string()).default([]),
  dataactions: z.array(z.string()).default([]),
  notdataactions: z.array(z.string()).default([]),
  assignablescopes: z.array(z.string()).optional(),
});

export interface DefinitionOpts extends GlobalOpts {
  readonly roleDefinition?: string;
  readonly name?: string;
  readonly description?: string;
  readonly dataActions?: string[];
  readonly notDataActions?: string[];
  readonly assignableScopes?: string[];
}

/** A role by name (case-insensitive, as az takes it) or by its GUID, as the hub has it. */
export async function roleOf(
  ctx: FleetContext,
  subscriptionId: string,
  nameOrId: string,
): Promise<RoleDefinition> {
  const authorization = ctx.client.authorization;
  const role = isGuid(nameOrId)
    ? await authorization.getRoleDefinition(subscriptionId, nameOrId).catch(() => undefined)
    : (await authorization.listRoleDefinitions(subscriptionId, nameOrId))[0];
  if (role) return role;
  const names = (await authorization.listRoleDefinitions(subscriptionId)).map(
    (r) => `'${r.properties.roleName}'`,
  );
  throw new ArcError(
    ERROR_CODES.RoleDefinitionDoesNotExist,
    `Role '${nameOrId}' doesn't exist. The roles are: ${names.join(', ')}.`,
    { status: 400 },
  );
}

/** The role a `create` or `update` asks for: the file's, else the options'. */
export async function definitionOf(o: DefinitionOpts, subscriptionId: string): Promise<RoleDefinitionPut> {
  if (o.roleDefinition !== undefined) {
    const path = o.roleDefinition.replace(/^@/, '');
    const raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    const lowered = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
    const parsed = roleFileSchema.safeParse(lowered);
    if (!parsed.success)
      throw new ArcError(
        ERROR_CODES.InvalidParameter,
        `${path}: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
        {
          status: 400,
        },
      );
    const f = parsed.data;
    return {
      roleName: f.name,
      description: f.description ?? '',
      permissions: [
        {
          actions: f.actions,
          notActions: f.notactions,
          dataActions: f.dataactions,
          notDataActions: f.notdataactions,
        },
      ],
      assignableScopes: f.assignablescopes ?? [`/subscriptions/${subscriptionId}`],
    };
  }
  if (o.name === undefined || o.dataActions === undefined)
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      'give --role-definition FILE, or --name and --data-actions',
      {
        status: 400,
      },
    );
  return {
    roleName: o.name,
    description: o.description ?? '',
    permissions: [
      { actions: [], notActions: [], dataActions: o.dataActions, notDataActions: o.notDataActions ?? [] },
    ],
    assignableScopes: o.assignableScopes ?? [`/subscriptions/${subscriptionId}`],
  };
}

/** The subscription a role is written at: its first assignable scope's. */
function subscriptionOf(role: RoleDefinitionPut, fallback: string): string {
  return /^\/subscriptions\/([^/]+)/i.exec(role.assignableScopes[0] ?? '')?.[1] ?? fallback;
}

export async function createDefinition(
  ctx: FleetContext,
  o: DefinitionOpts,
  update: boolean,
): Promise<string> {
  const role = await definitionOf(o, ctx.subscriptionId);
  const sub = subscriptionOf(role, ctx.subscriptionId);
  // `update` names an existing role (by its name, or by --name when given with a file); create a new GUID.
  const id = update ? (await roleOf(ctx, sub, role.roleName)).name : randomUUID();
  return JSON.stringify(await ctx.client.authorization.putRoleDefinition(sub, id, role), null, 2);
}

export function registerRoleDefinitionCommands(role: Command, print: Print): void {
  const definition = role.command('definition').description('role definitions: built-in and custom roles');
  const writeOptions = (cmd: Command): Command =>
    fleetOptions(cmd)
      .option('--role-definition <file>', 'a role as az takes it (@role.json: Name, DataActions, ...)')
      .option('--name <name>', 'the role’s name')
      .option('--description <text>', 'what the role is for')
      .option(
        '--data-actions <actions...>',
        'e.g. Microsoft.Kubernetes/connectedClusters/apps/deployments/read',
      )
      .option('--not-data-actions <actions...>', 'data actions taken out again')
      .option('--assignable-scopes <scopes...>', 'where it may be assigned (default: the subscription)');
  writeOptions(definition.command('create')).action(async (o: DefinitionOpts) => {
    print(await createDefinition(await loadContext(o), o, false));
  });
  writeOptions(definition.command('update')).action(async (o: DefinitionOpts) => {
    print(await createDefinition(await loadContext(o), o, true));
  });
  outputOption(fleetOptions(definition.command('list')), 'table')
    .option('--custom-role-only', 'custom roles only')
    .option('--name <name>', 'one role, by name')
    .action(async (o: GlobalOpts & { customRoleOnly?: boolean; name?: string }) => {
      const ctx = await loadContext(o);
      const all = (await ctx.client.authorization.listRoleDefinitions(ctx.subscriptionId, o.name)).filter(
        (r) => !o.customRoleOnly || r.properties.type === 'CustomRole',
      );
      if (parseOutput(o.output ?? 'table') === 'json') return print(JSON.stringify(all, null, 2));
      print(
        table(
          ['NAME', 'ROLE', 'TYPE', 'DATA ACTIONS'],
          all.map((r) => [
            r.name,
            r.properties.roleName,
            r.properties.type,
            String(r.properties.permissions.reduce((n, p) => n + p.dataActions.length, 0)),
          ]),
        ),
      );
    });
  fleetOptions(definition.command('delete'))
    .requiredOption('--name <name>', 'the role’s name or id')
    .action(async (o: GlobalOpts & { name: string }) => {
      const ctx = await loadContext(o);
      const found = await roleOf(ctx, ctx.subscriptionId, o.name);
      const status = await ctx.client.authorization.deleteRoleDefinition(ctx.subscriptionId, found.name);
      print(
        status === 204
          ? `no role definition ${o.name}`
          : `deleted role definition ${found.properties.roleName}`,
      );
    });
}
