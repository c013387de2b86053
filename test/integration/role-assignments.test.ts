/**
 * Azure RBAC's ARM side on the hub: role assignments under a connected cluster and its namespaces
 * (create, read, list with filters, idempotent re-PUT, the ARM errors), the built-in role
 * definitions looked up by name as `az role assignment create --role` does, custom role definitions
 * (az role definition: create, update, assign, refuse to delete while assigned), and the assignments
 * going with their cluster.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterRef } from '../../contract/index.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import type { ArmErrorBody } from '../helpers/arm.js';
import { TestFleet } from '../helpers/fleet.js';
import { DIST_DIR } from '../helpers/paths.js';
import { objectIdOf } from '../../platform/fleet-issuer.js';

const run = promisify(execFile);
const CLI = join(DIST_DIR, 'cli', 'main.js');

const API = '2022-04-01';
const VIEWER = '63f0a09d-1495-4db4-a681-037d84835eb4';
const WRITER = '5b999177-9696-4545-85c7-50de3797e5a1';
const USER = 'aaaaaaaa-1111-4111-8111-111111111111';

let fleet: TestFleet;
let ref: ClusterRef;

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 0, agents: false, connect: false });
  await fleet.arm.createGroup(fleet.subscriptionId, 'rbac-rg');
  ref = { subscriptionId: fleet.subscriptionId, resourceGroup: 'rbac-rg', name: 'rbac-cluster' };
  const put = await fleet.arm.put(ref, {
    location: 'westeurope',
    identity: { type: 'SystemAssigned' },
    properties: {
      agentPublicKeyCertificate: generateAgentKeyPair().publicKey,
      aadProfile: { enableAzureRBAC: true },
    },
  });
  expect(put.status, put.text).toBe(201);
});

afterAll(async () => {
  await fleet?.stop();
});

const scope = (namespace?: string): string =>
  `${fleet.arm.clusterPath(ref)}${namespace === undefined ? '' : `/namespaces/${namespace}`}`;
const assignment = (name: string, namespace?: string): string =>
  `${scope(namespace)}/providers/Microsoft.Authorization/roleAssignments/${name}`;
const body = (role: string, principalId = USER): object => ({
  properties: {
    roleDefinitionId: `/subscriptions/${ref.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
    principalId,
    principalType: 'User',
  },
});
const call = (method: string, path: string, b?: object, query?: Record<string, string>) =>
  fleet.arm.request(method, path, {
    apiVersion: API,
    ...(b ? { body: b } : {}),
    ...(query ? { query } : {}),
  });
const errorCode = (res: { body: unknown }): string | undefined => (res.body as ArmErrorBody).error?.code;

describe('role assignments under a connected cluster', () => {
  it('creates one at the cluster (201), answers a re-PUT with 200, reads and lists it', async () => {
    const name = randomUUID();
    const created = await call('PUT', assignment(name), body(VIEWER));
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      id: `${scope()}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      name,
      type: 'Microsoft.Authorization/roleAssignments',
      properties: {
        roleDefinitionId: `/subscriptions/${ref.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${VIEWER}`,
        principalId: USER,
        principalType: 'User',
        scope: scope(),
      },
    });
    expect((await call('PUT', assignment(name), body(VIEWER))).status).toBe(200);
    expect((await call('GET', assignment(name))).body).toEqual(created.body);
    const list = await call('GET', `${scope()}/providers/Microsoft.Authorization/roleAssignments`);
    expect((list.body as { value: { name: string }[] }).value.map((a) => a.name)).toContain(name);
  });

  it('scopes one to a namespace, listed there with the cluster’s and filtered by principal or scope', async () => {
    const name = randomUUID();
    const other = 'bbbbbbbb-2222-4222-8222-222222222222';
    expect((await call('PUT', assignment(name, 'apps'), body(WRITER, other))).status).toBe(201);
    const got = await call('GET', assignment(name, 'apps'));
    expect(got.body).toMatchObject({ properties: { scope: `${scope()}/namespaces/apps` } });
    // Not the same resource at the cluster's scope.
    expect(errorCode(await call('GET', assignment(name)))).toBe('RoleAssignmentNotFound');
    const names = async (path: string, query?: Record<string, string>): Promise<string[]> =>
      (
        (await call('GET', path, undefined, query)).body as {
          value: { properties: { principalId: string } }[];
        }
      ).value.map((a) => a.properties.principalId);
    const atNamespace = await names(`${scope('apps')}/providers/Microsoft.Authorization/roleAssignments`);
    expect(atNamespace).toEqual(expect.arrayContaining([USER, other]));
    expect(
      await names(`${scope()}/providers/Microsoft.Authorization/roleAssignments`, {
        $filter: `principalId eq '${other}'`,
      }),
    ).toEqual([other]);
    expect(
      await names(`${scope()}/providers/Microsoft.Authorization/roleAssignments`, { $filter: 'atScope()' }),
    ).not.toContain(other);
    const removed = await call('DELETE', assignment(name, 'apps'));
    expect(removed.status).toBe(200);
    expect((await call('DELETE', assignment(name, 'apps'))).status).toBe(204);
  });

  it('answers ARM’s errors: a bad name, principal or role, a duplicate, a change, a bad namespace', async () => {
    expect(errorCode(await call('PUT', assignment('not-a-guid'), body(VIEWER)))).toBe(
      'InvalidRoleAssignmentId',
    );
    expect(errorCode(await call('PUT', assignment(randomUUID()), body(VIEWER, 'someone')))).toBe(
      'InvalidPrincipalId',
    );
    const unknownRole = await call('PUT', assignment(randomUUID()), body(randomUUID()));
    expect({ status: unknownRole.status, code: errorCode(unknownRole) }).toEqual({
      status: 400,
      code: 'RoleDefinitionDoesNotExist',
    });
    const name = randomUUID();
    const principal = 'cccccccc-3333-4333-8333-333333333333';
    expect((await call('PUT', assignment(name), body(WRITER, principal))).status).toBe(201);
    const twin = await call('PUT', assignment(randomUUID()), body(WRITER, principal));
    expect({ status: twin.status, code: errorCode(twin) }).toEqual({
      status: 409,
      code: 'RoleAssignmentExists',
    });
    expect(errorCode(await call('PUT', assignment(name), body(VIEWER, principal)))).toBe(
      'RoleAssignmentUpdateNotPermitted',
    );
    expect(errorCode(await call('PUT', assignment(randomUUID(), 'Bad_NS'), body(VIEWER)))).toBe(
      'InvalidParameter',
    );
    expect(errorCode(await call('GET', assignment(randomUUID())))).toBe('RoleAssignmentNotFound');
    const badVersion = await fleet.arm.request('GET', assignment(name), { apiVersion: '2021-10-01' });
    expect(errorCode(badVersion)).toBe('InvalidApiVersionParameter');
    const noCluster = { ...ref, name: 'no-such-cluster' };
    const orphan = await call(
      'PUT',
      `${fleet.arm.clusterPath(noCluster)}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`,
      body(VIEWER),
    );
    expect({ status: orphan.status, code: errorCode(orphan) }).toEqual({
      status: 404,
      code: 'ResourceNotFound',
    });
  });

  it('serves the four built-in role definitions, by name as az looks them up', async () => {
    const all = await call(
      'GET',
      `/subscriptions/${ref.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions`,
    );
    const roles = (all.body as { value: { properties: { roleName: string } }[] }).value.map(
      (r) => r.properties.roleName,
    );
    expect(roles.sort()).toEqual([
      'Azure Arc Kubernetes Admin',
      'Azure Arc Kubernetes Cluster Admin',
      'Azure Arc Kubernetes Viewer',
      'Azure Arc Kubernetes Writer',
    ]);
    const byName = await call(
      'GET',
      `${scope()}/providers/Microsoft.Authorization/roleDefinitions`,
      undefined,
      {
        $filter: "roleName eq 'Azure Arc Kubernetes Viewer'",
      },
    );
    expect(byName.body).toMatchObject({
      value: [
        {
          name: VIEWER,
          properties: {
            type: 'BuiltInRole',
            permissions: [
              { dataActions: expect.arrayContaining(['Microsoft.Kubernetes/connectedClusters/pods/read']) },
            ],
          },
        },
      ],
    });
  });

  it('are made, listed and deleted with the CLI, as az role assignment does it', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [
        CLI,
        'role',
        'assignment',
        ...args,
        '--data-dir',
        fleet.dataDir,
        '--resource-group',
        'rbac-rg',
      ]);
    const created = JSON.parse(
      (
        await cli(
          'create',
          '--role',
          'azure arc kubernetes writer',
          '--assignee',
          'alice@contoso.com',
          '--cluster',
          ref.name,
          '--namespace',
          'team-a',
        )
      ).stdout,
    ) as { name: string; properties: { principalId: string; scope: string } };
    expect(created.properties).toMatchObject({
      principalId: objectIdOf('alice@contoso.com'),
      scope: `${scope()}/namespaces/team-a`,
    });
    const listed = (await cli('list', '--cluster', ref.name, '--namespace', 'team-a')).stdout;
    expect(listed).toMatch(
      new RegExp(`${created.name}\\s+Azure Arc Kubernetes Writer\\s+${objectIdOf('alice@contoso.com')}`),
    );
    expect(
      (await cli('delete', '--cluster', ref.name, '--namespace', 'team-a', '--name', created.name)).stdout,
    ).toContain(`deleted role assignment ${created.name}`);
    const unknown = await cli('create', '--role', 'Owner', '--assignee', 'bob', '--cluster', ref.name).catch(
      (err: { stderr: string }) => err,
    );
    expect((unknown as { stderr: string }).stderr).toContain("Role 'Owner' doesn't exist");
  });

  it('keeps custom roles as az role definition makes them: created, found by name, assigned, updated, deleted', async () => {
    const definitions = `/subscriptions/${ref.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions`;
    const id = randomUUID();
    const role = (
      roleName: string,
      dataActions: string[],
      scopes = [`/subscriptions/${ref.subscriptionId}`],
    ) => ({
      properties: {
        roleName,
        description: 'Reads deployments',
        type: 'CustomRole',
        permissions: [{ actions: [], notActions: [], dataActions, notDataActions: [] }],
        assignableScopes: scopes,
      },
    });
    const reader = role('Deployment Reader', [
      'Microsoft.Kubernetes/connectedClusters/apps/deployments/read',
    ]);
    const created = await call('PUT', `${definitions}/${id}`, { ...reader, name: id });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      name: id,
      properties: { roleName: 'Deployment Reader', type: 'CustomRole' },
    });
    const byName = await call(
      'GET',
      `${scope()}/providers/Microsoft.Authorization/roleDefinitions`,
      undefined,
      {
        $filter: "roleName eq 'deployment reader'",
      },
    );
    expect((byName.body as { value: { name: string }[] }).value.map((r) => r.name)).toEqual([id]);
    const customOnly = await call('GET', definitions, undefined, { $filter: "type eq 'CustomRole'" });
    expect((customOnly.body as { value: unknown[] }).value).toHaveLength(1);

    // ARM's refusals: the same name again, a built-in's name, a data action no provider has, the root scope.
    const other = `${definitions}/${randomUUID()}`;
    const twin = await call('PUT', other, role('deployment READER', []));
    expect([twin.status, errorCode(twin)]).toEqual([409, 'RoleDefinitionWithSameNameExists']);
    expect(errorCode(await call('PUT', other, role('Azure Arc Kubernetes Viewer', [])))).toBe(
      'RoleDefinitionWithSameNameExists',
    );
    expect(errorCode(await call('PUT', other, role('Blob Reader', ['Microsoft.Storage/blobs/read'])))).toBe(
      'InvalidActionOrNotAction',
    );
    expect(errorCode(await call('PUT', other, role('Root Role', [], ['/'])))).toBe('InvalidParameter');
    expect(errorCode(await call('PUT', `${definitions}/not-a-guid`, role('X', [])))).toBe(
      'InvalidRoleDefinitionId',
    );

    // Assignable at the cluster (inside its subscription); not where its scopes do not reach.
    const name = randomUUID();
    expect((await call('PUT', assignment(name), body(id))).status).toBe(201);
    const narrow = randomUUID();
    const narrowed = role(
      'Elsewhere Reader',
      ['Microsoft.Kubernetes/connectedClusters/pods/read'],
      [`/subscriptions/${ref.subscriptionId}/resourceGroups/other-rg`],
    );
    expect((await call('PUT', `${definitions}/${narrow}`, { ...narrowed, name: narrow })).status).toBe(201);
    const outside = await call('PUT', assignment(randomUUID()), body(narrow));
    expect([outside.status, errorCode(outside)]).toEqual([400, 'InvalidParameter']);
    expect((await call('DELETE', `${definitions}/${narrow}`)).status).toBe(200);

    // Narrowing its scopes away from the cluster would orphan the assignment: refused.
    const orphaning = await call(
      'PUT',
      `${definitions}/${id}`,
      role(
        'Deployment Reader',
        ['Microsoft.Kubernetes/connectedClusters/apps/deployments/read'],
        [`/subscriptions/${ref.subscriptionId}/resourceGroups/other-rg`],
      ),
    );
    expect([orphaning.status, errorCode(orphaning)]).toEqual([
      400,
      'RoleScopeBeingRemovedContainsAssignments',
    ]);
    // An update keeps the id and creation; in use, the role cannot be deleted.
    const updated = await call(
      'PUT',
      `${definitions}/${id}`,
      role('Deployment Reader', [
        'Microsoft.Kubernetes/connectedClusters/apps/deployments/read',
        'Microsoft.Kubernetes/connectedClusters/pods/read',
      ]),
    );
    expect(updated.status).toBe(200);
    const inUse = await call('DELETE', `${definitions}/${id}`);
    expect([inUse.status, errorCode(inUse)]).toEqual([409, 'RoleDefinitionHasAssignments']);
    expect((await call('DELETE', assignment(name))).status).toBe(200);
    expect((await call('DELETE', `${definitions}/${id}`)).status).toBe(200);
    expect((await call('DELETE', `${definitions}/${id}`)).status).toBe(204);
    expect([(await call('GET', `${definitions}/${id}`)).status]).toEqual([404]);
  });

  it('makes, assigns and deletes a custom role with the CLI, from the file az takes', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [
        CLI,
        'role',
        ...args,
        '--data-dir',
        fleet.dataDir,
        '--resource-group',
        'rbac-rg',
      ]);
    const file = join(fleet.dataDir, 'pod-reader.json');
    await writeFile(
      file,
      JSON.stringify({
        Name: 'Pod Reader',
        Description: 'Reads pods',
        Actions: [],
        NotActions: [],
        DataActions: ['Microsoft.Kubernetes/connectedClusters/pods/read'],
        NotDataActions: [],
        AssignableScopes: [`/subscriptions/${ref.subscriptionId}`],
      }),
    );
    const created = JSON.parse(
      (await cli('definition', 'create', '--role-definition', `@${file}`)).stdout,
    ) as {
      name: string;
    };
    expect((await cli('definition', 'list', '--custom-role-only')).stdout).toMatch(
      new RegExp(`${created.name}\\s+Pod Reader\\s+CustomRole\\s+1`),
    );
    const assigned = JSON.parse(
      (
        await cli(
          'assignment',
          'create',
          '--role',
          'pod reader',
          '--assignee',
          'carol',
          '--cluster',
          ref.name,
        )
      ).stdout,
    ) as { name: string; properties: { roleDefinitionId: string } };
    expect(assigned.properties.roleDefinitionId).toMatch(new RegExp(`/roleDefinitions/${created.name}$`));
    expect((await cli('assignment', 'list', '--cluster', ref.name)).stdout).toMatch(
      new RegExp(`${assigned.name}\\s+Pod Reader`),
    );
    const refused = await cli('definition', 'delete', '--name', 'Pod Reader').catch(
      (err: { stderr: string }) => err,
    );
    expect((refused as { stderr: string }).stderr).toContain('RoleDefinitionHasAssignments');
    await cli('assignment', 'delete', '--cluster', ref.name, '--name', assigned.name);
    expect((await cli('definition', 'delete', '--name', 'Pod Reader')).stdout).toContain(
      'deleted role definition Pod Reader',
    );
  });

  it('go with the cluster: a cluster connected again under the name starts without them', async () => {
    const name = randomUUID();
    expect(
      (await call('PUT', assignment(name), body(WRITER, 'dddddddd-4444-4444-8444-444444444444'))).status,
    ).toBe(201);
    await fleet.arm.deleteAndWait(ref);
    const again = await fleet.arm.put(ref, {
      location: 'westeurope',
      identity: { type: 'SystemAssigned' },
      properties: { agentPublicKeyCertificate: generateAgentKeyPair().publicKey },
    });
    expect(again.status, again.text).toBe(201);
    expect(errorCode(await call('GET', assignment(name)))).toBe('RoleAssignmentNotFound');
    const list = await call('GET', `${scope()}/providers/Microsoft.Authorization/roleAssignments`);
    expect((list.body as { value: unknown[] }).value).toEqual([]);
  });
});
