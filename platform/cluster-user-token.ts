/**
 * kube-aad-proxy's role in cluster connect: check the bearer token the hub issued for a cluster user.
 * The claims' shape is the contract's (contract/cluster-connect.ts); the signature check is here.
 */
import { clusterUserClaimsSchema, type ClusterUserClaims } from '../contract/index.js';
import { verifySignedClaims } from './identity.js';

export type TokenCheck =
  | { readonly ok: true; readonly claims: ClusterUserClaims }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

/**
 * kube-aad-proxy's check: signed by the hub (else 401), not expired (401), and for this cluster: an
 * authentic token of another cluster names a user this cluster does not grant anything (403).
 */
export function checkClusterUserToken(
  authorization: string | undefined,
  issuerSpki: string | undefined,
  clusterKey: string,
  nowMs: number,
): TokenCheck {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return { ok: false, status: 401, message: 'Unauthorized: a bearer token is required' };
  if (issuerSpki === undefined)
    return { ok: false, status: 401, message: 'Unauthorized: the cluster has no issuer key to check tokens' };
  const parsed = clusterUserClaimsSchema.safeParse(verifySignedClaims(match[1], issuerSpki));
  if (!parsed.success) return { ok: false, status: 401, message: 'Unauthorized: the token is not valid' };
  const claims = parsed.data;
  if (claims.exp <= nowMs) return { ok: false, status: 401, message: 'Unauthorized: the token has expired' };
  if (claims.aud !== clusterKey)
    return { ok: false, status: 403, message: 'Forbidden: the token was issued for another cluster' };
  return { ok: true, claims };
}
