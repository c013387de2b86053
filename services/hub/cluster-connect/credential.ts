/**
 * `POST .../connectedClusters/{name}/listClusterUserCredential`: a kubeconfig whose server is this hub's
 * cluster-connect endpoint (proxy.ts) and whose token, signed by the hub like an AAD token, is scoped to
 * that cluster and user. The cluster checks the token, not the hub (kube-aad-proxy's role).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { stringify } from 'yaml';
import { ArcError, ERROR_CODES, type ClusterUserClaims } from '../../../contract/index.js';
import { baseUrl, apiVersionOf } from '../arm/request.js';
import { CLUSTER_PATH, refOf, type ClusterParams } from '../arm/resource-path.js';
import { CONNECT_PREFIX, type ClusterConnectOptions } from './proxy.js';

const credentialBodySchemaKeys = new Set(['authenticationMethod', 'clientProxy']);

/**
 * Whom the kubeconfig's token names: the ARM caller, from the verified bearer token (arm/auth.ts), with
 * its groups; the cluster impersonates exactly that. A hub without token checks names a fixed user with
 * no groups: no request header can choose them.
 */
function userOf(request: FastifyRequest): { user: string; oid?: string; groups: string[] } {
  const caller = request.caller;
  if (!caller) return { user: 'clusterUser', groups: [] };
  return { user: caller.name, oid: caller.objectId, groups: [...caller.groups] };
}

export function registerUserCredential(app: FastifyInstance, opts: ClusterConnectOptions): void {
  app.post<{ Params: ClusterParams }>(`${CLUSTER_PATH}/listClusterUserCredential`, async (request) => {
    apiVersionOf(request);
    const ref = refOf(request.params);
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body))
      throw new ArcError(ERROR_CODES.InvalidRequestContent, 'The request body must be a JSON object.', {
        status: 400,
      });
    for (const k of Object.keys(body))
      if (!credentialBodySchemaKeys.has(k))
        throw new ArcError(ERROR_CODES.InvalidRequestContent, `The property '${k}' is not allowed.`, {
          status: 400,
          target: k,
        });
    const method = body['authenticationMethod'] ?? 'Token';
    if (method !== 'Token' && method !== 'AAD')
      throw new ArcError(
        ERROR_CODES.InvalidParameter,
        `authenticationMethod must be 'Token' or 'AAD', not ${JSON.stringify(method)}.`,
        { status: 400, target: 'authenticationMethod' },
      );
    const clientProxy = body['clientProxy'] ?? false;
    if (typeof clientProxy !== 'boolean')
      throw new ArcError(ERROR_CODES.InvalidParameter, 'clientProxy must be a boolean.', {
        status: 400,
        target: 'clientProxy',
      });
    const { clusters, authority } = opts.started.get();
    const record = clusters.require(ref);
    const { user, oid, groups } = userOf(request);
    const now = opts.clock.now();
    const claims: ClusterUserClaims = {
      v: 1,
      typ: 'cluster-user',
      iss: 'arcfleet-hub',
      aud: record.key,
      sub: user,
      ...(oid === undefined ? {} : { oid }),
      groups,
      iat: now,
      exp: now + opts.tokenValidityMs,
      jti: randomUUID(),
    };
    const token = authority.signClaims(claims);
    const base = baseUrl(opts.publicUrl, request);
    const server = `${base}${CONNECT_PREFIX}/${encodeURIComponent(ref.subscriptionId)}/${encodeURIComponent(ref.resourceGroup)}/${encodeURIComponent(ref.name)}`;
    const userName = `clusterUser_${ref.resourceGroup}_${ref.name}`;
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: ref.name,
          cluster: {
            server,
            // kubectl trusts the fleet's CA for this server only (it sends the token over HTTPS only).
            ...(opts.caPem
              ? { 'certificate-authority-data': Buffer.from(opts.caPem).toString('base64') }
              : {}),
          },
        },
      ],
      users: [{ name: userName, user: { token } }],
      contexts: [{ name: ref.name, context: { cluster: ref.name, user: userName } }],
      'current-context': ref.name,
      preferences: {},
    };
    return {
      kubeconfigs: [
        { name: 'credentialForClusterUser', value: Buffer.from(stringify(kubeconfig)).toString('base64') },
      ],
      ...(clientProxy
        ? {
            hybridConnectionConfig: {
              expirationTime: Math.floor(claims.exp / 1000),
              hybridConnectionName: record.key,
              relay: base,
              token,
            },
          }
        : {}),
    };
  });
}
