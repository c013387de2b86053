/**
 * ARM's bearer-token check (services/hub/arm/auth.ts) with tokens from the fleet's issuer
 * (platform/fleet-issuer.ts): each refusal is ARM's 401 body and challenge; the caller comes from the
 * verified claims only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArmApp } from '../../services/hub/arm/app.js';
import { TokenVerifier, registerArmAuth, registerIssuerDiscovery } from '../../services/hub/arm/auth.js';
import { TokenIssuer, ensureFleetIssuer, issuerOf, objectIdOf } from '../../platform/fleet-issuer.js';
import { createHubMetrics } from '../../services/hub/metrics.js';
import { createLogger } from '../../platform/log.js';
import { fleetToken } from '../../cli/commands/token.js';

let dir: string;
let app: FastifyInstance;
let issuer: TokenIssuer;
/** Another fleet's issuer: same claims, another key. */
let stranger: TokenIssuer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-auth-'));
  const ours = await ensureFleetIssuer(join(dir, 'ours'));
  const theirs = await ensureFleetIssuer(join(dir, 'theirs'));
  issuer = await TokenIssuer.open(ours.keyFile);
  stranger = await TokenIssuer.open(theirs.keyFile);
  app = createArmApp({ metrics: createHubMetrics(() => undefined), logger: createLogger('test', 'silent') });
  const verifier = await TokenVerifier.open(ours.jwksFile);
  registerArmAuth(app, verifier);
  registerIssuerDiscovery(app, verifier, () => 'https://hub.example');
  app.get('/subscriptions/:sub/whoami', async (request) => request.caller);
  app.get('/healthz', async () => ({ status: 'ok' }));
});

afterAll(async () => {
  await app?.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(authorization?: string): Promise<{ status: number; body: unknown; challenge?: string }> {
  const res = await app.inject({
    method: 'GET',
    url: '/subscriptions/s/whoami',
    headers: authorization === undefined ? {} : { authorization },
  });
  const challenge = res.headers['www-authenticate'];
  return { status: res.statusCode, body: res.json(), ...(challenge ? { challenge: String(challenge) } : {}) };
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

describe('refusals', () => {
  it('no Authorization header: 401 AuthenticationFailed with a Bearer challenge', async () => {
    const r = await call();
    expect(r.status).toBe(401);
    expect(r.body).toEqual({
      error: {
        code: 'AuthenticationFailed',
        message: "Authentication failed. The 'Authorization' header is missing.",
      },
    });
    expect(r.challenge).toMatch(
      /^Bearer authorization_uri="https:\/\/sts\.arcfleet\.local\/[-0-9a-f]+\/", error="invalid_token"/,
    );
  });

  it('not a bearer token: AuthenticationFailed (invalid format)', async () => {
    const r = await call('Basic dXNlcjpwYXNz');
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: { code: 'AuthenticationFailed', message: /invalid format/ } });
  });

  it('not a JWT: InvalidAuthenticationToken', async () => {
    expect(await call('Bearer abc.def')).toMatchObject({
      status: 401,
      body: { error: { code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' } },
    });
  });

  it('expired: ExpiredAuthenticationToken naming both times as ARM writes them', async () => {
    const token = await issuer.issue({ user: 'alice', nowSec: nowSec() - 7200, lifetimeSec: 3600 });
    const r = await call(`Bearer ${token}`);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({
      error: {
        code: 'ExpiredAuthenticationToken',
        message: expect.stringMatching(
          /^The access token expiry UTC time '\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2}:\d{2} (AM|PM)' is earlier than current UTC time '.+'\.$/,
        ) as unknown,
      },
    });
  });

  it('badly signed (our issuer named, another key): InvalidAuthenticationToken', async () => {
    const token = await stranger.issue({ user: 'mallory', groups: ['system:masters'] });
    expect(await call(`Bearer ${token}`)).toMatchObject({
      status: 401,
      body: { error: { code: 'InvalidAuthenticationToken' } },
    });
  });

  it('another tenant’s issuer: InvalidAuthenticationTokenTenant naming both', async () => {
    const token = await stranger.issue({ user: 'mallory', tenantId: '00000000-0000-0000-0000-000000000001' });
    const r = await call(`Bearer ${token}`);
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ error: { code: 'InvalidAuthenticationTokenTenant' } });
    const message = (r.body as { error: { message: string } }).error.message;
    expect(message).toContain(issuerOf('00000000-0000-0000-0000-000000000001'));
    expect(message).toContain(issuerOf());
  });

  it('for another audience: InvalidAuthenticationTokenAudience', async () => {
    const token = await issuer.issue({ user: 'alice', audience: 'https://graph.microsoft.com/' });
    expect(await call(`Bearer ${token}`)).toMatchObject({
      status: 401,
      body: { error: { code: 'InvalidAuthenticationTokenAudience' } },
    });
  });
});

describe('arcfleet token', () => {
  it('prints a token the hub accepts, for the user and groups asked', async () => {
    const dataDir = join(dir, 'fleet');
    const files = await ensureFleetIssuer(join(dataDir, 'issuer'));
    const t = await fleetToken({ dataDir, user: 'carol@contoso.com', groups: ['devs'], lifetimeSec: 600 });
    expect(Date.parse(t.expiresOn) - Date.now()).toBeGreaterThan(590_000);
    const caller = await (await TokenVerifier.open(files.jwksFile)).verify(`Bearer ${t.accessToken}`);
    expect(caller).toEqual({
      objectId: objectIdOf('carol@contoso.com'),
      name: 'carol@contoso.com',
      groups: ['devs'],
    });
  });

  it('says where to start a fleet when the data dir has no issuer', async () => {
    await expect(
      fleetToken({ dataDir: join(dir, 'nothing'), user: 'u', groups: [], lifetimeSec: 60 }),
    ).rejects.toThrow(/no token issuer in .*arcfleet up/);
  });
});

describe('a valid token', () => {
  it('names the caller from its claims', async () => {
    const token = await issuer.issue({ user: 'alice@contoso.com', groups: ['ops'] });
    expect(await call(`Bearer ${token}`)).toEqual({
      status: 200,
      body: { objectId: objectIdOf('alice@contoso.com'), name: 'alice@contoso.com', groups: ['ops'] },
    });
  });

  it('is not asked for off the ARM API', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('is checkable by anyone: the issuer and its public keys are served', async () => {
    const config = (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json<{
      issuer: string;
      jwks_uri: string;
    }>();
    expect(config.issuer).toBe(issuerOf());
    expect(config.jwks_uri).toBe('https://hub.example/.well-known/jwks.json');
    const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{
      keys: Record<string, unknown>[];
    }>();
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});
