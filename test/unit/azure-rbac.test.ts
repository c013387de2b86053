/**
 * Azure RBAC's decision (contract/azure-rbac.ts): each built-in role's documented permissions, allowed
 * and denied, at the cluster and at a namespace; the data action a request needs; group assignments.
 */
import { describe, expect, it } from 'vitest';
import {
  BUILT_IN_ROLES,
  RBAC_DENIED_REASON,
  authorize,
  dataActionOf,
  roleGuidOf,
  type KubeRequestAttributes,
  type RoleGrant,
} from '../../contract/index.js';

const USER = '11111111-1111-4111-8111-111111111111';
const GROUP = '22222222-2222-4222-8222-222222222222';
const role = (name: string): string => {
  const r = BUILT_IN_ROLES.find((x) => x.roleName === name);
  if (!r) throw new Error(name);
  return r.id;
};
const grant = (roleName: string, namespace: string | null = null, principalId = USER): RoleGrant => ({
  name: '33333333-3333-4333-8333-333333333333',
  principalId,
  roleId: role(roleName),
  namespace,
});
const req = (verb: string, resource: string, group = '', namespace?: string): KubeRequestAttributes => ({
  verb,
  group,
  resource,
  ...(namespace === undefined ? {} : { namespace }),
});
const allowed = (g: RoleGrant[], a: KubeRequestAttributes, groups: string[] = []): boolean =>
  authorize(g, { objectId: USER, groups }, a).allowed;

describe('the data action of a request', () => {
  it('names the group, the resource and read, write, delete or <verb>/action', () => {
    expect(dataActionOf(req('list', 'pods', '', 'apps'))).toBe(
      'Microsoft.Kubernetes/connectedClusters/pods/read',
    );
    expect(dataActionOf(req('patch', 'deployments', 'apps'))).toBe(
      'Microsoft.Kubernetes/connectedClusters/apps/deployments/write',
    );
    expect(dataActionOf(req('deletecollection', 'secrets'))).toBe(
      'Microsoft.Kubernetes/connectedClusters/secrets/delete',
    );
    expect(dataActionOf(req('impersonate', 'users'))).toBe(
      'Microsoft.Kubernetes/connectedClusters/users/impersonate/action',
    );
  });

  it('reads a role definition id with or without the subscription', () => {
    const id = role('Azure Arc Kubernetes Viewer');
    expect(roleGuidOf(`/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/${id}`)).toBe(id);
    expect(roleGuidOf(`/providers/Microsoft.Authorization/roleDefinitions/${id.toUpperCase()}`)).toBe(id);
    expect(roleGuidOf('/providers/Microsoft.Authorization/roleDefinitions/not-a-guid')).toBeUndefined();
  });
});

describe('the built-in roles', () => {
  it('Viewer reads workloads but not secrets, and writes nothing', () => {
    const g = [grant('Azure Arc Kubernetes Viewer')];
    expect(allowed(g, req('get', 'pods', '', 'apps'))).toBe(true);
    expect(allowed(g, req('list', 'deployments', 'apps', 'apps'))).toBe(true);
    expect(allowed(g, req('watch', 'namespaces'))).toBe(true);
    expect(allowed(g, req('get', 'secrets', '', 'apps'))).toBe(false);
    expect(allowed(g, req('create', 'configmaps', '', 'apps'))).toBe(false);
    expect(allowed(g, req('delete', 'pods', '', 'apps'))).toBe(false);
    expect(allowed(g, req('list', 'roles', 'rbac.authorization.k8s.io', 'apps'))).toBe(false);
  });

  it('Writer writes workloads and secrets, reads namespaces, and touches no roles or quotas', () => {
    const g = [grant('Azure Arc Kubernetes Writer')];
    expect(allowed(g, req('create', 'deployments', 'apps', 'apps'))).toBe(true);
    expect(allowed(g, req('delete', 'pods', '', 'apps'))).toBe(true);
    expect(allowed(g, req('get', 'secrets', '', 'apps'))).toBe(true);
    expect(allowed(g, req('list', 'namespaces'))).toBe(true);
    expect(allowed(g, req('create', 'namespaces'))).toBe(false);
    expect(allowed(g, req('update', 'resourcequotas', '', 'apps'))).toBe(false);
    expect(allowed(g, req('create', 'rolebindings', 'rbac.authorization.k8s.io', 'apps'))).toBe(false);
    expect(allowed(g, req('get', 'nodes'))).toBe(false);
  });

  it('Admin also manages roles and role bindings, but not namespaces, quotas or cluster roles', () => {
    const g = [grant('Azure Arc Kubernetes Admin')];
    expect(allowed(g, req('create', 'rolebindings', 'rbac.authorization.k8s.io', 'apps'))).toBe(true);
    expect(allowed(g, req('delete', 'roles', 'rbac.authorization.k8s.io', 'apps'))).toBe(true);
    expect(allowed(g, req('create', 'localsubjectaccessreviews', 'authorization.k8s.io', 'apps'))).toBe(true);
    expect(allowed(g, req('delete', 'namespaces'))).toBe(false);
    expect(allowed(g, req('patch', 'resourcequotas', '', 'apps'))).toBe(false);
    expect(allowed(g, req('create', 'clusterroles', 'rbac.authorization.k8s.io'))).toBe(false);
  });

  it('Cluster Admin may do anything', () => {
    const g = [grant('Azure Arc Kubernetes Cluster Admin')];
    for (const a of [
      req('delete', 'namespaces'),
      req('create', 'clusterroles', 'rbac.authorization.k8s.io'),
      req('list', 'nodes'),
      req('impersonate', 'users'),
      req('get', 'secrets', '', 'kube-system'),
    ])
      expect(allowed(g, a), JSON.stringify(a)).toBe(true);
  });
});

describe('scopes and principals', () => {
  it('a namespace assignment covers that namespace only, and no cluster-scoped resource', () => {
    const g = [grant('Azure Arc Kubernetes Writer', 'apps')];
    expect(allowed(g, req('create', 'configmaps', '', 'apps'))).toBe(true);
    expect(allowed(g, req('get', 'pods', '', 'other'))).toBe(false);
    expect(allowed(g, req('list', 'namespaces'))).toBe(false);
  });

  it('an assignment to one of the user’s groups counts; one to someone else does not', () => {
    expect(
      allowed([grant('Azure Arc Kubernetes Viewer', null, GROUP)], req('get', 'pods', '', 'a'), [GROUP]),
    ).toBe(true);
    const other = grant('Azure Arc Kubernetes Cluster Admin', null, '44444444-4444-4444-8444-444444444444');
    const decision = authorize([other], { objectId: USER, groups: [] }, req('get', 'pods', '', 'a'));
    expect(decision).toEqual({ allowed: false, reason: RBAC_DENIED_REASON });
  });
});

describe('custom roles', () => {
  const K8S = 'Microsoft.Kubernetes/connectedClusters';
  const custom = (
    dataActions: string[],
    notDataActions: string[] = [],
    namespace: string | null = null,
  ): RoleGrant => ({
    name: '55555555-5555-4555-8555-555555555555',
    principalId: USER,
    roleId: '66666666-6666-4666-8666-666666666666',
    namespace,
    custom: { roleName: 'Deployment Reader', dataActions, notDataActions },
  });

  it('allow what their data actions cover, as their grant carries them', () => {
    const g = [custom([`${K8S}/apps/deployments/read`])];
    expect(allowed(g, req('list', 'deployments', 'apps', 'web'))).toBe(true);
    expect(allowed(g, req('get', 'pods', '', 'web'))).toBe(false);
    expect(allowed(g, req('delete', 'deployments', 'apps', 'web'))).toBe(false);
    expect(
      authorize(g, { objectId: USER, groups: [] }, req('get', 'deployments', 'apps', 'web')).reason,
    ).toBe('allowed by role assignment 55555555-5555-4555-8555-555555555555 (Deployment Reader)');
  });

  it('take out what their not-data actions name, wildcards and all', () => {
    const g = [custom([`${K8S}/*`], [`${K8S}/secrets/*`, `${K8S}/*/delete`])];
    expect(allowed(g, req('create', 'configmaps', '', 'a'))).toBe(true);
    expect(allowed(g, req('get', 'secrets', '', 'a'))).toBe(false);
    expect(allowed(g, req('delete', 'pods', '', 'a'))).toBe(false);
    // Another assignment that allows it still does: not-data actions subtract within a role only.
    expect(allowed([...g, grant('Azure Arc Kubernetes Writer')], req('get', 'secrets', '', 'a'))).toBe(true);
  });

  it('an unknown role id without permissions grants nothing', () => {
    const { custom: _dropped, ...bare } = custom([`${K8S}/*`]);
    expect(allowed([bare], req('get', 'pods', '', 'a'))).toBe(false);
  });
});
