/**
 * kube-aad-proxy between two real HTTP servers (itself, and an apiserver stand-in that echoes what it
 * was sent): a request with the hub's token for this cluster reaches the apiserver as the token's user,
 * the token itself never does; no token, a foreign one or another cluster's is refused with a
 * Kubernetes Status (401, 403) and counted; a cluster it does not serve is a 503; a streamed answer
 * comes through as it is written. test/integration/cluster-connect.test.ts runs it in a whole fleet.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterUserClaims } from '../../contract/index.js';
import { FakeClock } from '../../platform/clock.js';
import { IdentityAuthority } from '../../platform/identity.js';
import { AadProxy, type ProxyOutcome } from '../../services/kube-aad-proxy/aad-proxy.js';

const authority = new IdentityAuthority(IdentityAuthority.generatePem());
const foreign = new IdentityAuthority(IdentityAuthority.generatePem());
const KEY = 'sub-1.rg-1.edge-1';
const clock = new FakeClock(5_000);

function token(a: IdentityAuthority, overrides: Partial<ClusterUserClaims> = {}): string {
  return a.signClaims({
    v: 1,
    typ: 'cluster-user',
    iss: 'arcfleet-hub',
    aud: KEY,
    sub: 'alice@contoso.com',
    groups: ['ops', 'dev'],
    iat: 1_000,
    exp: 10_000,
    jti: 'j1',
    ...overrides,
  } satisfies ClusterUserClaims);
}

const listen = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> => {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};
const urlOf = (s: Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

let apiserver: Server;
let front: Server;
const outcomes: ProxyOutcome[] = [];

beforeAll(async () => {
  apiserver = await listen((req, res) => {
    if (req.url?.endsWith('/watch')) {
      // A stream: two lines, the second a moment later.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
      setTimeout(() => res.end('{"type":"MODIFIED"}\n'), 50);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          user: req.headers['impersonate-user'],
          groups: req.headers['impersonate-group'] ?? null,
          extra: req.headers['impersonate-extra-scopes'] ?? null,
          authorization: req.headers['authorization'] ?? null,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
  });
  const proxy = new AadProxy({ clock, apiserverUrl: urlOf(apiserver), onOutcome: (o) => outcomes.push(o) });
  proxy.serve('edge-1', { key: KEY, issuerSpki: authority.publicKeySpki() });
  front = await listen((req, res) => proxy.handle(req, res));
});

afterAll(async () => {
  for (const s of [front, apiserver]) await new Promise((resolve) => s.close(resolve));
});

const call = (path: string, init: RequestInit = {}) => fetch(`${urlOf(front)}${path}`, init);

it('sends an authenticated request on as its user, without the token', async () => {
  const res = await call('/clusters/edge-1/api/v1/namespaces/default/configmaps', {
    method: 'POST',
    headers: { authorization: `Bearer ${token(authority)}`, 'content-type': 'application/json' },
    body: '{"metadata":{"name":"x"}}',
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({
    method: 'POST',
    url: '/clusters/edge-1/api/v1/namespaces/default/configmaps',
    user: 'alice@contoso.com',
    groups: 'ops,dev',
    extra: null,
    authorization: null,
    body: '{"metadata":{"name":"x"}}',
  });
});

it('drops the client’s own Impersonate-* headers: a token without groups cannot add any', async () => {
  const res = await call('/clusters/edge-1/api/v1/pods', {
    headers: {
      authorization: `Bearer ${token(authority, { groups: [] })}`,
      'impersonate-user': 'system:admin',
      'impersonate-group': 'system:masters',
      'impersonate-extra-scopes': 'cluster-admin',
    },
  });
  expect(await res.json()).toMatchObject({ user: 'alice@contoso.com', groups: null, extra: null });
});

it('refuses no token, a foreign one and another cluster’s with a Kubernetes Status, and counts them', async () => {
  const before = outcomes.length;
  const none = await call('/clusters/edge-1/api/v1/pods');
  expect(none.status).toBe(401);
  expect(await none.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  const forged = await call('/clusters/edge-1/api/v1/pods', {
    headers: { authorization: `Bearer ${token(foreign)}` },
  });
  expect(forged.status).toBe(401);
  const elsewhere = await call('/clusters/edge-1/api/v1/pods', {
    headers: { authorization: `Bearer ${token(authority, { aud: 'sub-1.rg-1.edge-2' })}` },
  });
  expect(elsewhere.status).toBe(403);
  expect(await elsewhere.json()).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
  expect(outcomes.slice(before)).toEqual(['401', '401', '403']);
});

it('answers 503 for a cluster it does not serve, 404 outside /clusters', async () => {
  const res = await call('/clusters/edge-9/api/v1/pods', {
    headers: { authorization: `Bearer ${token(authority)}` },
  });
  expect(res.status).toBe(503);
  expect(await res.json()).toMatchObject({
    kind: 'Status',
    message: 'kube-aad-proxy is not running for cluster "edge-9"',
  });
  expect((await call('/healthz')).status).toBe(404);
});

it('streams an answer as the apiserver writes it', async () => {
  const res = await call('/clusters/edge-1/api/v1/watch', {
    headers: { authorization: `Bearer ${token(authority)}` },
  });
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('{"type":"ADDED"}\n{"type":"MODIFIED"}\n');
});
