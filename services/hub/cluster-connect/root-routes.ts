/**
 * Why this file: Kubernetes paths at the hub's root (`/api`, `/apis`, `/openapi`, `/version`) go to the
 * cluster that the request's cluster-user token (from listClusterUserCredential) is for. kubectl sends
 * some requests without the kubeconfig server's path prefix (`kubectl get --raw /openapi/v2`, and any
 * client that follows a server-relative URL), and those arrive here. The token names the cluster; the
 * hub checks it is one it signed, so nobody routes requests at a cluster with a forged one; the cluster's
 * agent still checks the rest (expiry, the user), as for every cluster-connect request. The hub's own
 * root paths (`/healthz`, `/readyz`, `/metrics`, the page, ARM) are not Kubernetes paths and stay the hub's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clusterUserClaimsSchema, kubeStatus, type ClusterRef } from '../../../contract/index.js';
import { verifySignedClaims } from '../../../platform/identity.js';
import type { ClusterConnectOptions } from './proxy.js';

const ROOT_PATHS = ['/api', '/api/*', '/apis', '/apis/*', '/openapi/*', '/version'] as const;

interface Refusal {
  readonly code: 401 | 503;
  readonly message: string;
}

function refuse(reply: FastifyReply, { code, message }: Refusal): void {
  void reply
    .status(code)
    .header('content-type', 'application/json')
    .send(kubeStatus(code, code === 401 ? 'Unauthorized' : 'ServiceUnavailable', message));
}

const unauthorized = (message: string): Refusal => ({ code: 401, message });

/** The cluster a bearer token of listClusterUserCredential is for, when the hub signed it. */
function clusterOfToken(opts: ClusterConnectOptions, request: FastifyRequest): ClusterRef | Refusal {
  const started = opts.started.peek();
  if (!started) return { code: 503, message: 'The hub is starting; retry shortly.' };
  const header = request.headers.authorization ?? '';
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token)
    return unauthorized(
      'Kubernetes paths at the hub root need the bearer token of listClusterUserCredential (it names the cluster)',
    );
  const claims = clusterUserClaimsSchema.safeParse(
    verifySignedClaims(token, started.authority.publicKeySpki()),
  );
  if (!claims.success) return unauthorized('the bearer token is not a cluster user token this hub issued');
  const record = started.clusters.byKey(claims.data.aud);
  if (!record) return unauthorized('the cluster the token is for is no longer connected to this hub');
  return record.ref;
}

export function registerRootRoutes(
  scope: FastifyInstance,
  opts: ClusterConnectOptions,
  forward: (request: FastifyRequest, reply: FastifyReply, ref: ClusterRef) => Promise<void>,
): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const target = clusterOfToken(opts, request);
    if ('code' in target) {
      opts.onRequest?.(target.code === 401 ? 'unauthorized' : 'starting');
      return refuse(reply, target);
    }
    return forward(request, reply, target);
  };
  for (const path of ROOT_PATHS) scope.all(path, handler);
}
