/**
 * What every ARM route reads from its request: the api-version (checked against the versions of the
 * resource type), the calling principal, and the base URL that Azure-AsyncOperation, Location and
 * nextLink point at. Written once for connectedClusters and their child resources (configuration/).
 */
import type { FastifyRequest } from 'fastify';
import { ArcError, ERROR_CODES } from '../../../contract/index.js';
import {
  apiVersionsOf,
  shapeOf,
  type ProviderNamespace,
  type ResourceShape,
} from '../../../contract/api-versions.js';

/** The versions of connectedClusters (its operation statuses and POST actions share them). */
export const CONNECTED_CLUSTER_VERSIONS = apiVersionsOf('Microsoft.Kubernetes', 'connectedClusters');

/** The request's `?api-version=`; ARM refuses a request without one, or with one the type does not have. */
export function apiVersionOf(
  request: FastifyRequest,
  supported: readonly string[] = CONNECTED_CLUSTER_VERSIONS,
): string {
  const v = requestedApiVersion(request);
  if (!supported.includes(v))
    throw new ArcError(
      ERROR_CODES.InvalidApiVersionParameter,
      `The api-version '${v}' is invalid. The supported versions are '${supported.join(',')}'.`,
      { status: 400, target: 'api-version' },
    );
  return v;
}

/** The request's `?api-version=`, unchecked; ARM refuses a request without one. */
export function requestedApiVersion(request: FastifyRequest): string {
  const v = (request.query as Record<string, string | undefined>)['api-version'];
  if (v === undefined || v === '')
    throw new ArcError(
      ERROR_CODES.MissingApiVersionParameter,
      'The api-version query parameter (?api-version=) is required for all requests.',
      { status: 400, target: 'api-version' },
    );
  return v;
}

/**
 * The request's api-version for a resource type of one of the hub's providers, checked, with the
 * type's shape in that version: responses go through `project`, request bodies through `accept`.
 */
export function shapeFor(request: FastifyRequest, provider: ProviderNamespace, type: string): ResourceShape {
  const version = apiVersionOf(request, apiVersionsOf(provider, type));
  const shape = shapeOf(provider, type, version);
  if (!shape) throw new Error(`no shape for ${provider}/${type} ${version}`);
  return shape;
}

/** Who a hub without token checks (no ARCFLEET_HUB_TOKEN_KEYS) takes every caller to be. */
export const ANONYMOUS_CALLER = 'user@arcfleet.local';

/** The principal systemData names: the verified token's (arm/auth.ts). */
export function callerOf(request: FastifyRequest): string {
  return request.caller?.name ?? ANONYMOUS_CALLER;
}

/** The configured public URL, else the one the client used (so links work behind a port mapping). */
export function baseUrl(publicUrl: string | undefined, request: FastifyRequest): string {
  return publicUrl ?? `${request.protocol}://${request.headers.host ?? 'localhost'}`;
}
