/**
 * kube-aad-proxy's side of Azure RBAC: the SubjectAccessReview it sends guard for a request through
 * cluster connect to a cluster with Azure RBAC on, as the apiserver sends its authorizer webhook, and
 * guard's answer. guard not answering is a denial (Kubernetes denies when its authorizer fails).
 */
import {
  OBJECT_ID_EXTRA,
  type ClusterUserClaims,
  type KubeRequestAttributes,
  type SubjectAccessReview,
} from '../../contract/index.js';

export interface GuardAnswer {
  readonly allowed: boolean;
  readonly reason: string;
}

export type AskGuard = (
  cluster: string,
  claims: ClusterUserClaims,
  attrs: KubeRequestAttributes,
) => Promise<GuardAnswer>;

const REVIEW_TIMEOUT_MS = 5000;

export function reviewOf(claims: ClusterUserClaims, attrs: KubeRequestAttributes): SubjectAccessReview {
  return {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: claims.sub,
      groups: [...claims.groups],
      ...(claims.oid === undefined ? {} : { extra: { [OBJECT_ID_EXTRA]: [claims.oid] } }),
      resourceAttributes: {
        verb: attrs.verb,
        group: attrs.group,
        resource: attrs.resource,
        ...(attrs.subresource === undefined ? {} : { subresource: attrs.subresource }),
        ...(attrs.namespace === undefined ? {} : { namespace: attrs.namespace }),
        ...(attrs.name === undefined ? {} : { name: attrs.name }),
      },
    },
  };
}

/** Asks guard at `guardUrl` (its listener: every cluster under /clusters/<name>). */
export function guardClient(guardUrl: string | undefined): AskGuard {
  return async (cluster, claims, attrs) => {
    if (guardUrl === undefined)
      return { allowed: false, reason: 'no guard is configured (ARCFLEET_GUARD_URL)' };
    try {
      const res = await fetch(
        `${guardUrl}/clusters/${encodeURIComponent(cluster)}/apis/authorization.k8s.io/v1/subjectaccessreviews`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(reviewOf(claims, attrs)),
          signal: AbortSignal.timeout(REVIEW_TIMEOUT_MS),
        },
      );
      const body = (await res.json()) as {
        status?: { allowed?: boolean; reason?: string; evaluationError?: string };
      };
      const status = body.status ?? {};
      return {
        allowed: res.ok && status.allowed === true,
        reason: status.reason ?? status.evaluationError ?? `guard answered ${res.status}`,
      };
    } catch (err) {
      return {
        allowed: false,
        reason: `guard could not be reached: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  };
}
