/**
 * Cluster connect, cloud side:
 * - `POST .../connectedClusters/{name}/listClusterUserCredential` returns a kubeconfig whose server is
 *   this hub's cluster-connect endpoint and whose token (signed by the hub, like an AAD token) is
 *   scoped to that cluster and user;
 * - `/arcfleet/v1/clusterconnect/{subscription}/{resourceGroup}/{name}/...` carries each HTTP request
 *   to the cluster's clusterconnect-agent over NATS (contract/cluster-connect.ts) and streams the answer
 *   back. The hub does not check the token: the cluster does (kube-aad-proxy's role).
 * Failures the hub itself sees answer as Kubernetes `Status` objects, which is what kubectl prints.
 */
import { once } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createInbox, headers as natsHeaders, type NatsConnection } from 'nats';
import { stringify } from 'yaml';
import {
  CREDIT_WINDOW,
  FRAME_BYTES,
  FRAME_HEADER,
  MAX_REQUEST_BODY_BYTES,
  STREAM_IDLE_MS,
  connectSubjects,
  endToEndHeaders,
  errorFrameSchema,
  headFrameSchema,
  kubeStatus,
  parseFrameJson,
  type ClusterUserClaims,
  type OpenFrame,
  ArcError,
  ERROR_CODES,
  clusterKey,
} from '../../../contract/index.js';
import type { Clock } from '../../../platform/clock.js';
import type { IdentityAuthority } from '../../../platform/identity.js';
import type { Logger } from '../../../platform/log.js';
import { CLUSTER_PATH, apiVersionOf, refOf, type ClusterParams } from '../connected-clusters/routes.js';
import type { Hub } from '../connected-clusters/connected-clusters.js';

export const CONNECT_PREFIX = '/arcfleet/v1/clusterconnect';

export interface ClusterConnectOptions {
  hub: () => Hub | undefined;
  nc: () => NatsConnection | undefined;
  authority: () => IdentityAuthority | undefined;
  clock: Clock;
  /** Simulated ms a user token stays valid. */
  tokenValidityMs: number;
  /** Real ms to wait for the agent's first answer. */
  timeoutMs: number;
  /** Base URL the kubeconfig points at; the request's Host when unset. */
  publicUrl: string | undefined;
  logger: Logger;
  onRequest?: (outcome: string) => void;
}

const credentialBodySchemaKeys = new Set(['authenticationMethod', 'clientProxy']);

/** The user ARM says is calling; arcfleet has no AAD, so a header names the user (default `clusterUser`). */
function callerOf(request: FastifyRequest): { user: string; groups: string[] } {
  const h = request.headers;
  const user = String(h['x-ms-client-principal-name'] ?? h['x-arcfleet-user'] ?? 'clusterUser').slice(0, 256);
  const rawGroups = String(h['x-arcfleet-groups'] ?? '');
  const groups = rawGroups === '' ? [] : rawGroups.split(',').map((g) => g.trim().slice(0, 256));
  return { user, groups: groups.slice(0, 50) };
}

export function registerClusterConnect(app: FastifyInstance, opts: ClusterConnectOptions): void {
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
    const hub = opts.hub();
    const authority = opts.authority();
    if (!hub || !authority)
      throw new ArcError(ERROR_CODES.ServiceUnavailable, 'The hub is starting; retry shortly.', {
        status: 503,
      });
    const record = hub.require(ref);
    const { user, groups } = callerOf(request);
    const now = opts.clock.now();
    const claims: ClusterUserClaims = {
      v: 1,
      typ: 'cluster-user',
      iss: 'arcfleet-hub',
      aud: record.key,
      sub: user,
      groups,
      iat: now,
      exp: now + opts.tokenValidityMs,
      jti: randomUUID(),
    };
    const token = authority.signClaims(claims);
    const base = opts.publicUrl ?? `${request.protocol}://${request.headers.host ?? 'localhost'}`;
    const server = `${base}${CONNECT_PREFIX}/${encodeURIComponent(ref.subscriptionId)}/${encodeURIComponent(ref.resourceGroup)}/${encodeURIComponent(ref.name)}`;
    const userName = `clusterUser_${ref.resourceGroup}_${ref.name}`;
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: ref.name, cluster: { server } }],
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

  void app.register(async (scope) => {
    // Bodies are forwarded as bytes, whatever their type (JSON, merge-patch, protobuf).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_REQUEST_BODY_BYTES },
      (_req, body, done) => done(null, body),
    );
    const handler = (request: FastifyRequest, reply: FastifyReply): Promise<void> =>
      forward(opts, request, reply);
    scope.all(`${CONNECT_PREFIX}/:subscriptionId/:resourceGroup/:name`, handler);
    scope.all(`${CONNECT_PREFIX}/:subscriptionId/:resourceGroup/:name/*`, handler);
  });
}

function sendStatus(reply: FastifyReply, code: number, reason: string, message: string): void {
  void reply
    .status(code)
    .header('content-type', 'application/json')
    .send(kubeStatus(code, reason, message));
}

async function forward(
  opts: ClusterConnectOptions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const count = (outcome: string): void => opts.onRequest?.(outcome);
  const params = request.params as ClusterParams;
  const hub = opts.hub();
  const nc = opts.nc();
  if (!hub || !nc) return sendStatus(reply, 503, 'ServiceUnavailable', 'The hub is starting; retry shortly.');
  const ref = {
    subscriptionId: params.subscriptionId,
    resourceGroup: params.resourceGroup,
    name: params.name,
  };
  const record = hub.get(ref);
  if (!record) {
    count('not_found');
    return sendStatus(
      reply,
      404,
      'NotFound',
      `The connectedClusters resource '${ref.name}' in resource group '${ref.resourceGroup}' was not found.`,
    );
  }
  const key = clusterKey(ref);
  // The raw URL keeps the client's encoding and query: everything after `/{name}` goes to the apiserver.
  const rawUrl = request.raw.url ?? '/';
  const [rawPath = '', query] = rawUrl.split('?', 2);
  const segments = rawPath.split('/');
  const below = `/${segments.slice(7).join('/')}`;
  const path = query === undefined ? below : `${below}?${query}`;
  const forwarded = endToEndHeaders(Object.entries(request.headers));
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const streamId = randomBytes(12).toString('hex');
  const inbox = createInbox();
  const sub = nc.subscribe(inbox);
  const open: OpenFrame = {
    v: 1,
    streamId,
    method: request.method as OpenFrame['method'],
    path,
    headers: forwarded,
    hasBody: body.length > 0,
    replyTo: inbox,
  };
  try {
    await nc.request(connectSubjects.open(key), Buffer.from(JSON.stringify(open)), {
      timeout: opts.timeoutMs,
    });
  } catch (err) {
    sub.unsubscribe();
    const code = (err as { code?: string }).code;
    if (code === '503') {
      count('unavailable');
      return sendStatus(
        reply,
        502,
        ERROR_CODES.ClusterConnectUnavailable,
        `Unable to connect to the cluster '${ref.name}': no clusterconnect-agent of the cluster is connected (is its egress open and the agent running?)`,
      );
    }
    count('timeout');
    return sendStatus(
      reply,
      504,
      ERROR_CODES.ClusterConnectTimeout,
      `Timed out waiting for the cluster '${ref.name}' to answer through cluster connect (${opts.timeoutMs} ms)`,
    );
  }
  const streamSubject = connectSubjects.stream(key, streamId);
  const frame = (kind: string, payload: Uint8Array = new Uint8Array()): void => {
    const h = natsHeaders();
    h.set(FRAME_HEADER, kind);
    nc.publish(streamSubject, payload, { headers: h });
  };
  for (let off = 0; off < body.length; off += FRAME_BYTES)
    frame('data', body.subarray(off, off + FRAME_BYTES));
  if (body.length > 0) frame('end');

  reply.hijack();
  const res = reply.raw;
  let headSent = false;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (why: string): void => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    sub.unsubscribe();
    count(why);
  };
  const arm = (ms: number): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      if (ended) return;
      if (!headSent) {
        res.writeHead(504, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            kubeStatus(
              504,
              ERROR_CODES.ClusterConnectTimeout,
              `Timed out waiting for the cluster '${ref.name}' to answer through cluster connect`,
            ),
          ),
        );
      } else res.destroy(new Error('cluster connect stream went idle'));
      frame('cancel');
      finish('timeout');
    }, ms);
    timer.unref();
  };
  arm(opts.timeoutMs);
  res.on('close', () => {
    if (ended) return;
    // The client went away (a closed watch, a killed kubectl): the agent stops reading the apiserver.
    frame('cancel');
    finish('client_closed');
  });

  let unacked = 0;
  try {
    for await (const m of sub) {
      if (ended) break;
      arm(headSent ? STREAM_IDLE_MS : opts.timeoutMs);
      const kind = m.headers?.get(FRAME_HEADER) ?? '';
      if (kind === 'ping') continue;
      if (kind === 'head' && !headSent) {
        const head = headFrameSchema.safeParse(parseFrameJson(m.data));
        if (!head.success) {
          opts.logger.warn({ event: 'connect.invalid_frame', kind, streamId }, 'invalid head frame');
          continue;
        }
        res.writeHead(head.data.status, endToEndHeaders(Object.entries(head.data.headers)));
        headSent = true;
        arm(STREAM_IDLE_MS);
      } else if (kind === 'data' && headSent) {
        const ok = res.write(m.data);
        unacked++;
        if (!ok) await once(res, 'drain');
        if (unacked >= CREDIT_WINDOW / 2) {
          frame('credit', Buffer.from(JSON.stringify({ frames: unacked })));
          unacked = 0;
        }
      } else if (kind === 'end') {
        if (!headSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end();
        finish('ok');
        break;
      } else if (kind === 'error') {
        const e = errorFrameSchema.safeParse(parseFrameJson(m.data));
        const status = e.success ? e.data.status : 502;
        const message = e.success ? e.data.message : 'the cluster answered with an invalid error';
        if (!headSent) {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(kubeStatus(status, e.success ? e.data.code : 'BadGateway', message)));
        } else res.destroy(new Error(message));
        finish('error');
        break;
      } else opts.logger.warn({ event: 'connect.invalid_frame', kind, streamId }, 'unexpected frame');
    }
  } catch (err) {
    opts.logger.warn({ event: 'connect.stream_failed', streamId, err }, 'cluster connect stream failed');
    if (!res.headersSent) res.writeHead(502);
    res.destroy();
    finish('error');
  }
}
