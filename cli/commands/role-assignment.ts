/**
 * `arcfleet role assignment create|list|delete`: Azure RBAC role assignments at a cluster or one of its
 * namespaces, as `az role assignment create --role … --assignee … --scope <cluster id>[/namespaces/<ns>]`
 * makes them. `--assignee` takes a user name and uses the object id the fleet's token issuer gives that
 * user (what Entra would look up); `--assignee-object-id` takes one as is. `--role` is a built-in or a
 * custom role (role-definition.ts), by name or id, looked up at the hub as az does.
 */
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { ArcError, ERROR_CODES, roleDefinitionIdOf } from '../../contract/index.js';
import { objectIdOf } from '../../platform/fleet-issuer.js';
import { loadContext, type FleetContext } from '../context.js';
import { table } from '../format.js';
import { fleetOptions, outputOption, parseOutput, type GlobalOpts, type Print } from './options.js';
import { registerRoleDefinitionCommands, roleOf } from './role-definition.js';

interface ScopeOpts extends GlobalOpts {
  readonly cluster: string;
  readonly namespace?: string;
}

export interface CreateOpts {
  readonly role: string;
  readonly assignee?: string;
  readonly assigneeObjectId?: string;
  readonly assigneePrincipalType: string;
  readonly namespace?: string;
  readonly name?: string;
}

export async function createAssignment(ctx: FleetContext, cluster: string, o: CreateOpts): Promise<string> {
  if ((o.assignee === undefined) === (o.assigneeObjectId === undefined))
    throw new ArcError(ERROR_CODES.InvalidParameter, 'give one of --assignee and --assignee-object-id', {
      status: 400,
    });
  const ref = await ctx.ref(cluster);
  const role = await roleOf(ctx, ref.subscriptionId, o.role);
  const principalId = o.assigneeObjectId ?? objectIdOf(o.assignee as string);
  const created = await ctx.client.authorization.putRoleAssignment(ref, o.namespace, o.name ?? randomUUID(), {
    roleDefinitionId: roleDefinitionIdOf(ref.subscriptionId, role.name),
    principalId,
    principalType: o.assigneePrincipalType,
  });
  return JSON.stringify(created, null, 2);
}

export async function listAssignments(
  ctx: FleetContext,
  o: ScopeOpts,
  output: 'json' | 'table',
): Promise<string> {
  const ref = await ctx.ref(o.cluster);
  const all = await ctx.client.authorization.listRoleAssignments(ref, o.namespace);
  if (output === 'json') return JSON.stringify(all, null, 2);
  const names = new Map(
    (await ctx.client.authorization.listRoleDefinitions(ref.subscriptionId)).map((r) => [
      r.name,
      r.properties.roleName,
    ]),
  );
  const rows = all.map((a) => {
    const roleId = a.properties.roleDefinitionId.split('/').at(-1) ?? '';
    return [a.name, names.get(roleId) ?? roleId, a.properties.principalId, a.properties.scope];
  });
  return table(['NAME', 'ROLE', 'PRINCIPAL', 'SCOPE'], rows);
}

export function registerRoleCommands(program: Command, print: Print): void {
  const role = program.command('role').description('Azure RBAC on connected clusters (as az role)');
  registerRoleDefinitionCommands(role, print);
  const assignment = role
    .command('assignment')
    .description('role assignments at a cluster or one of its namespaces');
  fleetOptions(assignment.command('create'))
    .requiredOption(
      '--role <role>',
      'a role’s name or id, e.g. "Azure Arc Kubernetes Viewer" or a custom role',
    )
    .requiredOption('--cluster <name>', 'the connected cluster (the scope)')
    .option('--namespace <ns>', 'scope the assignment to one namespace of the cluster')
    .option('--assignee <user>', 'a user name of the fleet’s token issuer (its object id is looked up)')
    .option('--assignee-object-id <oid>', 'an object id, as is')
    .option('--assignee-principal-type <type>', 'User, Group or ServicePrincipal', 'User')
    .option('--name <guid>', 'the assignment’s name (default: a new GUID)')
    .action(async (o: GlobalOpts & CreateOpts & { cluster: string }) => {
      print(await createAssignment(await loadContext(o), o.cluster, o));
    });
  outputOption(fleetOptions(assignment.command('list')), 'table')
    .requiredOption('--cluster <name>', 'the connected cluster')
    .option('--namespace <ns>', 'one namespace: its assignments and the cluster’s')
    .action(async (o: ScopeOpts) => {
      print(await listAssignments(await loadContext(o), o, parseOutput(o.output ?? 'table')));
    });
  fleetOptions(assignment.command('delete'))
    .requiredOption('--cluster <name>', 'the connected cluster')
    .option('--namespace <ns>', 'the namespace the assignment is scoped to')
    .requiredOption('--name <guid>', 'the assignment’s name')
    .action(async (o: ScopeOpts & { name: string }) => {
      const ctx = await loadContext(o);
      const status = await ctx.client.authorization.deleteRoleAssignment(
        await ctx.ref(o.cluster),
        o.namespace,
        o.name,
      );
      print(status === 204 ? `no role assignment ${o.name}` : `deleted role assignment ${o.name}`);
    });
}
