/**
 * ARM's authentication: every call to the ARM API carries `Authorization: Bearer <JWT>` from the fleet's
 * issuer (platform/fleet-issuer.ts), verified against its public keys; the caller (object id, name,
 * groups) comes from the verified claims, never from a header the caller picks. Refusals are ARM's: 401
 * with its codes and messages, and a `WWW-Authenticate: Bearer` challenge naming the issuer.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { ArcError, ERROR_CODES, FLEET_TENANT_ID, type ErrorCode } from '../../../contract/index.js';
import { ARM_AUDIENCES, issuerOf } from '../../../platform/fleet-issuer.js';

/** Who calls, from the token: what systemData and cluster connect's impersonation use. */
export interface Caller {
  readonly objectId: string;
  /** `upn`, else `unique_name`, else `name`. */
  readonly name: string;
  readonly groups: readonly string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | undefined;
  }
}

const claimsSchema = z.object({
  oid: z.string().min(1).max(256),
  upn: z.string().min(1).max(256).optional(),
  unique_name: z.string().min(1).max(256).optional(),
  name: z.string().min(1).max(256).optional(),
  groups: z.array(z.string().max(256)).max(200).optional(),
});

/** ARM's way of writing a UTC time in its messages: `11/30/2026 8:21:10 PM`. */
function armTime(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

function refusal(code: ErrorCode, message: string): ArcError {
  return new ArcError(code, message, { status: 401 });
}

export class TokenVerifier {
  private readonly keys: ReturnType<typeof createLocalJWKSet>;
  readonly issuer: string;

  constructor(
    readonly jwks: JSONWebKeySet,
    tenantId: string = FLEET_TENANT_ID,
  ) {
    this.keys = createLocalJWKSet(jwks);
    this.issuer = issuerOf(tenantId);
  }

  static async open(jwksFile: string): Promise<TokenVerifier> {
    return new TokenVerifier(JSON.parse(await readFile(jwksFile, 'utf8')) as JSONWebKeySet);
  }

  /** The caller named by an `Authorization` header's token; ARM's 401 refusal otherwise. */
  async verify(header: string | undefined): Promise<Caller> {
    if (header === undefined || header === '')
      throw refusal(
        ERROR_CODES.AuthenticationFailed,
        "Authentication failed. The 'Authorization' header is missing.",
      );
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1])
      throw refusal(
        ERROR_CODES.AuthenticationFailed,
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
      );
    const token = match[1];
    let unverified: { iss?: string | undefined; aud?: string | string[] | undefined };
    try {
      unverified = decodeJwt(token);
    } catch {
      throw refusal(ERROR_CODES.InvalidAuthenticationToken, 'The access token is invalid.');
    }
    // The issuer and audience first, as ARM names them before it checks a signature.
    if (unverified.iss !== this.issuer)
      throw refusal(
        ERROR_CODES.InvalidAuthenticationTokenTenant,
        `The access token is from the wrong issuer '${String(unverified.iss).slice(0, 200)}'. It must match the tenant '${this.issuer}' associated with this subscription. Please use the authority (URL) '${this.issuer}' to get the token.`,
      );
    const audiences = [unverified.aud ?? []].flat();
    if (!audiences.some((a) => (ARM_AUDIENCES as readonly string[]).includes(a)))
      throw refusal(
        ERROR_CODES.InvalidAuthenticationTokenAudience,
        `The access token has been obtained for wrong audience or resource '${audiences.join(',').slice(0, 200)}'. It should exactly match with one of the allowed audiences '${ARM_AUDIENCES.join("','")}'.`,
      );
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.issuer,
        audience: [...ARM_AUDIENCES],
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'oid'],
      });
      const claims = claimsSchema.parse(payload);
      return {
        objectId: claims.oid,
        name: claims.upn ?? claims.unique_name ?? claims.name ?? claims.oid,
        groups: claims.groups ?? [],
      };
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        const exp = typeof err.payload.exp === 'number' ? err.payload.exp * 1000 : 0;
        throw refusal(
          ERROR_CODES.ExpiredAuthenticationToken,
          `The access token expiry UTC time '${armTime(exp)}' is earlier than current UTC time '${armTime(Date.now())}'.`,
        );
      }
      throw refusal(ERROR_CODES.InvalidAuthenticationToken, 'The access token is invalid.');
    }
  }
}

/** The ARM API: resources under a subscription and the providers' operations lists. */
export function isArmPath(url: string): boolean {
  return /^\/(subscriptions|providers)\//i.test(url);
}

/** Requires a valid bearer token on every ARM path; sets `request.caller`. */
export function registerArmAuth(app: FastifyInstance, verifier: TokenVerifier): void {
  app.decorateRequest('caller', undefined);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isArmPath(request.url)) return;
    try {
      request.caller = await verifier.verify(request.headers.authorization);
    } catch (err) {
      const description = err instanceof Error ? err.message.replace(/"/g, "'") : 'invalid token';
      void reply.header(
        'WWW-Authenticate',
        `Bearer authorization_uri="${verifier.issuer}", error="invalid_token", error_description="${description}"`,
      );
      throw err;
    }
  });
}

/**
 * The issuer's discovery document and public keys, where OpenID Connect clients look for them: any
 * party can check a fleet token without the hub (`jwks_uri`).
 */
export function registerIssuerDiscovery(
  app: FastifyInstance,
  verifier: TokenVerifier,
  baseUrl: (request: FastifyRequest) => string,
): void {
  app.get('/.well-known/openid-configuration', async (request) => ({
    issuer: verifier.issuer,
    jwks_uri: `${baseUrl(request)}/.well-known/jwks.json`,
    id_token_signing_alg_values_supported: ['ES256'],
    token_endpoint_auth_methods_supported: [],
    response_types_supported: ['token'],
    subject_types_supported: ['pairwise'],
  }));
  app.get('/.well-known/jwks.json', async () => verifier.jwks);
}
