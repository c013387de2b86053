/**
 * Why this file: the HTTP side of the OpenAPI documents (documents.ts). The v3 index names each
 * document by a URL the client can fetch: below the prefix it reached this cluster at, which is
 * `/clusters/<name>` here and something else behind cluster connect (the hub says which in
 * `x-forwarded-prefix`, the de-facto header of path-rewriting proxies).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { header } from '../responses.js';
import type { Route } from '../routes.js';
import { KubeStatusError } from '../status.js';
import { openApiV2, openApiV2Protobuf, openApiV3, openApiV3Root } from './documents.js';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_REPLY } from './v2-protobuf.js';

const PREFIX = /^\/[A-Za-z0-9._~%/-]{0,511}$/;

/** Where the client reaches this cluster's apiserver, for the URLs the v3 index hands out. */
export function clientPrefix(req: FastifyRequest, clusterName: string): string {
  const forwarded = header(req, 'x-forwarded-prefix')[0];
  if (forwarded !== undefined && PREFIX.test(forwarded)) return forwarded.replace(/\/+$/, '');
  return `/clusters/${encodeURIComponent(clusterName)}`;
}

/** The media types the client accepts, lower-cased, without parameters. */
function accepted(req: FastifyRequest): string[] {
  return header(req, 'accept')
    .join(',')
    .split(',')
    .map((part) => part.split(';')[0]?.trim().toLowerCase() ?? '')
    .filter((t) => t !== '');
}

/** JSON unless the client asked only for other forms. */
function acceptsJson(types: readonly string[]): boolean {
  return (
    types.length === 0 || types.some((t) => t === 'application/json' || t === '*/*' || t === 'application/*')
  );
}

export function serveOpenApi(
  req: FastifyRequest,
  reply: FastifyReply,
  route: Extract<Route, { kind: 'openapiV2' | 'openapiV3' }>,
  clusterName: string,
): FastifyReply {
  const types = accepted(req);
  // The protobuf form when asked for it: client-go asks for it alone.
  if (route.kind === 'openapiV2' && types.includes(OPENAPI_V2_PROTOBUF.toLowerCase()))
    return reply.header('content-type', OPENAPI_V2_PROTOBUF_REPLY).send(openApiV2Protobuf());
  if (!acceptsJson(types))
    throw new KubeStatusError(
      'NotAcceptable',
      `${route.kind === 'openapiV2' ? `application/json and ${OPENAPI_V2_PROTOBUF} are` : 'only application/json is'} served here (asked for ${header(req, 'accept').join(',')})`,
    );
  if (route.kind === 'openapiV2') return reply.type('application/json').send(openApiV2());
  if (route.path === '') return reply.send(openApiV3Root(clientPrefix(req, clusterName)));
  const doc = openApiV3(route.path);
  if (!doc) throw new KubeStatusError('NotFound', `no OpenAPI v3 document for ${route.path}`);
  // The index names this document with its hash: a client holding that URL may cache it for good.
  return reply
    .type('application/json')
    .header('etag', `"${doc.hash}"`)
    .header('cache-control', req.url.includes('hash=') ? 'public, immutable' : 'no-cache, private')
    .send(doc.body);
}
