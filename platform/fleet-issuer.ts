/**
 * The fleet's token issuer: it says who calls the ARM API, as Microsoft Entra ID does for Azure. An ES256
 * key made at first start and kept:
 *
 *   <dir>/issuer-key.json   the private JWK, 0600 (the launcher and the CLI mint tokens with it)
 *   <dir>/jwks.json         the public JWK set the hub verifies with (also served by the hub)
 *
 * Tokens carry an Entra access token's claims for ARM: `aud` https://management.azure.com/, `iss`
 * https://sts.windows.net/<tenant>/ style (this fleet's own host), `tid`, `oid`, `upn`, `name`, `groups`,
 * `scp`. Times are real time, not the fleet's simulated clock: a token is a credential, not a model.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  SignJWT,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import { z } from 'zod';
import { FLEET_TENANT_ID } from '../contract/index.js';
import { SECRET_FILE_MODE, fileExists, writeFileAtomically, writeJsonAtomically } from './atomic-file.js';

export const ISSUER_FILES = { key: 'issuer-key.json', jwks: 'jwks.json' } as const;

/** What ARM accepts as the audience of a token for it (the first is what the Azure SDKs ask for). */
export const ARM_AUDIENCES = [
  'https://management.azure.com/',
  'https://management.azure.com',
  'https://management.core.windows.net/',
  'https://management.core.windows.net',
] as const;

const ALG = 'ES256';
/** An Entra access token's usual lifetime. */
export const DEFAULT_TOKEN_LIFETIME_SEC = 3600;

/** This fleet's issuer for `tenantId`: Entra's v1 form, on a host that is plainly not Microsoft's. */
export function issuerOf(tenantId: string = FLEET_TENANT_ID): string {
  return `https://sts.arcfleet.local/${tenantId}/`;
}

export interface FleetIssuerFiles {
  readonly keyFile: string;
  readonly jwksFile: string;
}

/** Makes or keeps the issuer's key in `dir`. */
export async function ensureFleetIssuer(dir: string): Promise<FleetIssuerFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = { keyFile: join(dir, ISSUER_FILES.key), jwksFile: join(dir, ISSUER_FILES.jwks) };
  if ((await fileExists(files.keyFile)) && (await fileExists(files.jwksFile))) return files;
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  const priv = { ...(await exportJWK(privateKey)), kid, alg: ALG, use: 'sig' };
  await writeJsonAtomically(files.keyFile, priv, { mode: SECRET_FILE_MODE });
  const jwks: JSONWebKeySet = { keys: [{ ...pub, kid, alg: ALG, use: 'sig' }] };
  await writeFileAtomically(files.jwksFile, `${JSON.stringify(jwks, null, 2)}\n`);
  return files;
}

const privateJwkSchema = z.looseObject({ kty: z.literal('EC'), d: z.string(), kid: z.string() });

export interface TokenClaims {
  /** The caller's user principal name (`upn`, also `name` unless given). */
  readonly user: string;
  readonly name?: string;
  /** Object id; default: one derived from `user`, the same for every token of that user. */
  readonly objectId?: string;
  readonly groups?: readonly string[];
  readonly tenantId?: string;
  readonly audience?: string;
  readonly issuer?: string;
  readonly lifetimeSec?: number;
  /** Real unix seconds the token is issued at (default now). */
  readonly nowSec?: number;
}

/** A user's object id: a UUID-shaped hash of the name (Entra gives each user one for good). */
export function objectIdOf(user: string): string {
  const h = createHash('sha256').update(`arcfleet-user:${user}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Signs tokens with the issuer's key in `keyFile`. */
export class TokenIssuer {
  private constructor(
    private readonly key: Awaited<ReturnType<typeof importJWK>>,
    private readonly kid: string,
  ) {}

  static async open(keyFile: string): Promise<TokenIssuer> {
    const jwk = privateJwkSchema.parse(JSON.parse(await readFile(keyFile, 'utf8'))) as JWK & { kid: string };
    return new TokenIssuer(await importJWK(jwk, ALG), jwk.kid);
  }

  issue(c: TokenClaims): Promise<string> {
    const now = c.nowSec ?? Math.floor(Date.now() / 1000);
    const tenantId = c.tenantId ?? FLEET_TENANT_ID;
    return new SignJWT({
      tid: tenantId,
      oid: c.objectId ?? objectIdOf(c.user),
      upn: c.user,
      unique_name: c.user,
      name: c.name ?? c.user,
      groups: [...(c.groups ?? [])],
      scp: 'user_impersonation',
      ver: '1.0',
      idtyp: 'user',
    })
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: 'JWT' })
      .setIssuer(c.issuer ?? issuerOf(tenantId))
      .setAudience(c.audience ?? ARM_AUDIENCES[0])
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + (c.lifetimeSec ?? DEFAULT_TOKEN_LIFETIME_SEC))
      .setJti(randomUUID())
      .sign(this.key);
  }
}
