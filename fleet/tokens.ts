/**
 * Bearer tokens for a fleet's ARM API, minted with the fleet issuer's key (platform/fleet-issuer.ts) by
 * whoever holds it: the launcher, the CLI (`arcfleet token`, every command), the tests and the bench. One
 * token per user, reused until five minutes before it expires, as an Azure credential caches them.
 */
import { join } from 'node:path';
import { ISSUER_FILES, TokenIssuer, type TokenClaims } from '../platform/fleet-issuer.js';
import type { TokenSource } from './clients/hub-client.js';

/** The issuer's key and public keys (kept across `--reset`, like the CA). */
export const issuerDir = (dataDir: string): string => join(dataDir, 'issuer');

/** Who the fleet's own tools call as. */
export const FLEET_OWNER = 'owner@arcfleet.local';

const REUSE_MARGIN_SEC = 300;

/** Tokens from the issuer key under `dataDir`; `defaults` for every token (groups, lifetime). */
export function fleetTokenSource(
  dataDir: string,
  defaults: Omit<TokenClaims, 'user'> & { user?: string } = {},
): TokenSource {
  let issuer: Promise<TokenIssuer> | undefined;
  const cache = new Map<string, { token: string; expSec: number }>();
  return async (user = defaults.user ?? FLEET_OWNER) => {
    const nowSec = Math.floor(Date.now() / 1000);
    const cached = cache.get(user);
    if (cached && cached.expSec - REUSE_MARGIN_SEC > nowSec) return cached.token;
    issuer ??= TokenIssuer.open(join(issuerDir(dataDir), ISSUER_FILES.key));
    const lifetimeSec = defaults.lifetimeSec ?? 3600;
    const token = await (await issuer).issue({ ...defaults, user, nowSec, lifetimeSec });
    cache.set(user, { token, expSec: nowSec + lifetimeSec });
    return token;
  };
}
