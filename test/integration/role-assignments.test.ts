/**
 * Azure RBAC's ARM side on the hub: role assignments under a connected cluster and its namespaces
 * (create, read, list with filters, idempotent re-PUT, the ARM errors), the built-in role
 * definitions looked up by name as `az role assignment create --role` does, and the assignments going
 * with their cluster.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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
