/**
 * What every ARM route reads from its request: the api-version (checked against the versions of the
 * resource type), the calling principal, and the base URL that Azure-AsyncOperation, Location and
 * nextLink point at. Written once for connectedClusters and their child resources (configuration/).
 */
import type { FastifyRequest } from 'fastify';
import { ArcError, ERROR_CODES, SUPPORTED_API_VERSIONS } from '../../../contract/index.js';

/** The request's `?api-version=`; ARM refuses a request without one, or with one the type does not have. */
export function apiVersionOf(
  request: FastifyRequest,
  supported: readonly string[] = SUPPORTED_API_VERSIONS,
): string {
  const v = (request.query as Record<string, string | undefined>)['api-version'];
  if (v === undefined || v === '')
    throw new ArcError(
      ERROR_CODES.MissingApiVersionParameter,
      'The api-version query parameter (?api-version=) is required for all requests.',
      { status: 400, target: 'api-version' },
    );
  if (!supported.includes(v))
    throw new ArcError(
      ERROR_CODES.InvalidApiVersionParameter,
      `The api-version '${v}' is invalid. The supported versions are '${supported.join(',')}'.`,
      { status: 400, target: 'api-version' },
    );
  return v;
}

/** The principal ARM would name in systemData; arcfleet has no AAD, so a header stands in for it. */
export function callerOf(request: FastifyRequest): string {
  return String(request.headers['x-ms-client-principal-name'] ?? 'user@arcfleet.local');
}

/** The configured public URL, else the one the client used (so links work behind a port mapping). */
export function baseUrl(publicUrl: string | undefined, request: FastifyRequest): string {
  return publicUrl ?? `${request.protocol}://${request.headers.host ?? 'localhost'}`;
}
