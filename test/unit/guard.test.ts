/**
 * guard's decisions and what kube-aad-proxy asks it: the request attributes worked out from a path as
 * the apiserver's RequestInfo does, the SubjectAccessReview sent, guard's answer for allowed, denied,
 * unknown cluster and non-resource requests, and the apiserver's wording of a denial.
 */
import { describe, expect, it } from 'vitest';
import {
  forbiddenMessage,
  kubeRequestInfo,
  RBAC_DENIED_REASON,
  type RoleGrant,
} from '../../contract/index.js';
import { reviewStatus } from '../../services/guard/guard.js';
import { reviewOf } from '../../services/kube-aad-proxy/guard-client.js';

const OID = '11111111-1111-4111-8111-111111111111';
const claims = {
  v: 1 as const,
  typ: 'cluster-user' as const,
  iss: 'arcfleet-hub' as const,
  aud: 'k',
  sub: 'alice@contoso.com',
  oid: OID,
  groups: [],
  iat: 0,
  exp: 1,
  jti: 'j',
};
const viewer: RoleGrant = {
  name: '33333333-3333-4333-8333-333333333333',
  principalId: OID,
  roleId: '63f0a09d-1495-4db4-a681-037d84835eb4',
  namespace: 'apps',
};

describe('a request’s attributes', () => {
  it('are read from the path and method as the apiserver reads them', () => {
    expect(kubeRequestInfo('GET', '/api/v1/namespaces/apps/pods')).toEqual({
      kind: 'resource',
      verb: 'list',
      group: '',
      resource: 'pods',
      namespace: 'apps',
    });
    expect(kubeRequestInfo('GET', '/apis/apps/v1/namespaces/apps/deployments/web?watch=true')).toMatchObject({
      verb: 'get',
      group: 'apps',
      resource: 'deployments',
      name: 'web',
    });
    expect(kubeRequestInfo('GET', '/api/v1/pods?watch=1')).toMatchObject({ verb: 'watch', resource: 'pods' });
    expect(kubeRequestInfo('DELETE', '/api/v1/namespaces/apps/configmaps')).toMatchObject({
      verb: 'deletecollection',
    });
    expect(kubeRequestInfo('POST', '/api/v1/namespaces/apps/pods/web/exec')).toMatchObject({
      verb: 'create',
      subresource: 'exec',
      name: 'web',
    });
    expect(kubeRequestInfo('DELETE', '/api/v1/namespaces/apps')).toMatchObject({
      verb: 'delete',
      resource: 'namespaces',
      name: 'apps',
      namespace: 'apps',
    });
    expect(kubeRequestInfo('GET', '/api')).toEqual({ kind: 'non-resource', path: '/api', verb: 'get' });
    expect(kubeRequestInfo('GET', '/openapi/v2').kind).toBe('non-resource');
  });

  it('are denied in the apiserver’s words', () => {
    const info = kubeRequestInfo('GET', '/api/v1/namespaces/apps/pods');
    if (info.kind !== 'resource') throw new Error('resource');
    expect(forbiddenMessage('alice', info, RBAC_DENIED_REASON)).toBe(
      `pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "apps": ${RBAC_DENIED_REASON}`,
    );
    const node = kubeRequestInfo('GET', '/api/v1/nodes/n1');
    if (node.kind !== 'resource') throw new Error('resource');
    expect(forbiddenMessage('alice', node, 'no')).toBe(
      'nodes "n1" is forbidden: User "alice" cannot get resource "nodes" in API group "" at the cluster scope: no',
    );
  });
});

describe('guard’s answer', () => {
  const review = (path: string, method = 'GET') => {
    const info = kubeRequestInfo(method, path);
    if (info.kind !== 'resource') throw new Error('resource');
    return reviewOf(claims, info);
  };

  it('allows what an assignment to the user’s object id grants, and denies the rest with guard’s reason', () => {
    expect(reviewStatus(review('/api/v1/namespaces/apps/pods'), [viewer])).toMatchObject({
      outcome: 'allowed',
      status: { allowed: true },
    });
    expect(reviewStatus(review('/api/v1/namespaces/apps/configmaps', 'POST'), [viewer])).toEqual({
      outcome: 'denied',
      status: { allowed: false, denied: true, reason: RBAC_DENIED_REASON },
    });
  });

  it('refuses a cluster whose assignments it has not received, and lets discovery through', () => {
    expect(reviewStatus(review('/api/v1/namespaces/apps/pods'), undefined)).toMatchObject({
      outcome: 'no-policy',
      status: { allowed: false },
    });
    const discovery = {
      ...review('/api/v1/pods'),
      spec: { user: 'alice', groups: [], nonResourceAttributes: { path: '/api', verb: 'get' } },
    };
    expect(reviewStatus(discovery, undefined).status.allowed).toBe(true);
  });
});
