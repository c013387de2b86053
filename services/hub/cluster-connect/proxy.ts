/**
 * Cluster connect, cloud side: `/arcfleet/v1/clusterconnect/{subscription}/{resourceGroup}/{name}/...`
 * carries each HTTP request to the cluster's clusterconnect-agent over NATS (contract/cluster-connect.ts)
 * and streams the answer back, with credit-based flow control. The kubeconfig pointing here comes from
 * listClusterUserCredential (credential.ts). Failures the hub itself sees answer as Kubernetes `Status`
 * objects, which is what kubectl prints.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { headers as natsHeaders, type NatsConnection } from 'nats';
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
  type OpenFrame,
  ERROR_CODES,
  clusterKey,
  type ClusterRef,
} from '../../../contract/index.js';
import type { Clock } from '../../../platform/clock.js';
import type { IdentityAuthority } from '../../../platform/identity.js';
import type { Logger } from '../../../platform/log.js';
import type { ClusterParams } from '../arm/resource-path.js';
import { registerRootRoutes } from './root-routes.js';
import type { ConnectedClusters } from '../connected-clusters/connected-clusters.js';
import type { Started } from '../startup.js';

export const CONNECT_PREFIX = '/arcfleet/v1/clusterconnect';

export interface ClusterConnectOptions {
  started: Started<{ clusters: ConnectedClusters; nc: NatsConnection; authority: IdentityAuthority }>;
  clock: Clock;
  /** Simulated ms a user token stays valid. */
  tokenValidityMs: number;
  /** Real ms to wait for the agent's first answer. */
  timeoutMs: number;
  /** Base URL the kubeconfig points at; the request's Host when unset. */
  publicUrl: string | undefined;
  /** The fleet CA's certificate (PEM) the kubeconfig carries when the hub speaks HTTPS. */
  caPem?: string | undefined;
  logger: Logger;
  onRequest?: (outcome: string) => void;
}

export function registerConnectProxy(app: FastifyInstance, opts: ClusterConnectOptions): void {
  void app.register(async (scope) => {
    // Bodies are forwarded as bytes, whatever their type (JSON, merge-patch, protobuf).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: MAX_REQUEST_BODY_BYTES },
      (_req, body, done) => done(null, body),
    );
    const handler = (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const params = request.params as ClusterParams;
      const ref = {
        subscriptionId: params.subscriptionId,
        resourceGroup: params.resourceGroup,
        name: params.name,
      };
      // `/arcfleet/v1/clusterconnect/{sub}/{rg}/{name}`: 7 segments (with the empty first) before the path.
      return forward(opts, request, reply, { ref, skip: 7 });
    };
    scope.all(`${CONNECT_PREFIX}/:subscriptionId/:resourceGroup/:name`, handler);
    scope.all(`${CONNECT_PREFIX}/:subscriptionId/:resourceGroup/:name/*`, handler);
    registerRootRoutes(scope, opts, (request, reply, ref) => forward(opts, request, reply, { ref, skip: 0 }));
  });
}

/** Which cluster a request goes to, and how many leading path segments (its endpoint's prefix) to drop. */
interface Target {
  readonly ref: ClusterRef;
  readonly skip: number;
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
  { ref, skip }: Target,
): Promise<void> {
  const count = (outcome: string): void => opts.onRequest?.(outcome);
  const started = opts.started.peek();
  if (!started) return sendStatus(reply, 503, 'ServiceUnavailable', 'The hub is starting; retry shortly.');
  const { clusters, nc } = started;
  const record = clusters.get(ref);
  if (!record) {
    count('not_found');
    return sendStatus(
      reply,
      404,
      'NotFound',
      `The connectedClusters resource '${ref.name}' in resource group '${ref.resourceGroup}' was not found.`,
    );
  }
  if (record.connectivity.status === 'Expired') {
    // Arc features stop working once the identity certificate expired (its agents are refused too).
    count('expired');
    return sendStatus(
      reply,
      403,
      ERROR_CODES.ClusterExpired,
      `The connected cluster '${ref.name}' is Expired: its managed identity certificate expired, so cluster connect no longer works. Delete the connectedClusters resource and connect the cluster again.`,
    );
  }
  const key = clusterKey(ref);
  // The raw URL keeps the client's encoding and query: everything after the prefix goes to the apiserver.
  const rawUrl = request.raw.url ?? '/';
  const [rawPath = '', query] = rawUrl.split('?', 2);
  const segments = rawPath.split('/');
  const below = skip === 0 ? rawPath : `/${segments.slice(skip).join('/')}`;
  const path = query === undefined ? below : `${below}?${query}`;
  const forwarded = endToEndHeaders(Object.entries(request.headers));
  // The apiserver names URLs (the OpenAPI v3 index) below the path the client reached it at: this
  // endpoint's, unless a proxy in front (`arcfleet proxy`) already says where the client is.
  forwarded['x-forwarded-prefix'] ??= skip === 0 ? '/' : segments.slice(0, skip).join('/');
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const streamId = randomBytes(12).toString('hex');
  const sub = nc.subscribe(connectSubjects.answer(key, streamId));
  const open: OpenFrame = {
    v: 2,
    streamId,
    method: request.method as OpenFrame['method'],
    path,
    headers: forwarded,
    hasBody: body.length > 0,
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
