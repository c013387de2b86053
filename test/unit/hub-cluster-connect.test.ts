// The hub's side of cluster connect, in process: the proxy route and listClusterUserCredential on the
// hub's own Fastify app (inject, or a loopback listener where a real client socket matters), over an
// in-memory NATS that records what the hub publishes and lets the test play clusterconnect-agent
// frame by frame. The proxy's stream timers are real-ms `setTimeout`s: vitest's fake timers drive
// them; token times are simulated and come from the FakeClock.
import { once } from 'node:events';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from 'nats';
import { parse as parseYaml } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CREDIT_WINDOW,
  FRAME_HEADER,
  STREAM_IDLE_MS,
  clusterKey,
  connectSubjects,
  kubeStatus,
  openFrameSchema,
  type ClusterUserClaims,
  type OpenFrame,
} from '../../contract/index.js';
import { checkClusterUserToken } from '../../platform/cluster-user-token.js';
import { generateAgentKeyPair, IdentityAuthority } from '../../platform/identity.js';
import { createLogger } from '../../platform/log.js';
import { waitFor } from '../../platform/wait.js';
import { createArmApp } from '../../services/hub/arm/app.js';
import { TokenVerifier, registerArmAuth } from '../../services/hub/arm/auth.js';
import { TokenIssuer, ensureFleetIssuer } from '../../platform/fleet-issuer.js';
import { registerUserCredential } from '../../services/hub/cluster-connect/credential.js';
import {
  CONNECT_PREFIX,
  registerConnectProxy,
  type ClusterConnectOptions,
} from '../../services/hub/cluster-connect/proxy.js';
import { parsePutBody } from '../../services/hub/connected-clusters/validation.js';
import { Startup } from '../../services/hub/startup.js';
import { makeHub, REF } from './hub-helpers.js';

const KEY = clusterKey(REF);
const BASE = `${CONNECT_PREFIX}/${REF.subscriptionId}/${REF.resourceGroup}/${REF.name}`;
/** Real ms the hub waits for the agent's first answer. */
const TIMEOUT_MS = 5_000;
const TOKEN_VALIDITY_MS = 60 * 60_000;

interface Published {
  readonly subject: string;
  readonly kind: string;
  readonly data: Uint8Array;
}

/** A subscription: an async iterator over what is delivered to it, ended by unsubscribe. */
class FakeSubscription implements AsyncIterable<Msg> {
  private readonly queue: Msg[] = [];
  private wake: (() => void) | undefined;
  closed = false;

  constructor(
    readonly subject: string,
    private readonly onClose: () => void,
  ) {}

  deliver(m: Msg): void {
    this.queue.push(m);
    this.wake?.();
  }

  unsubscribe(): void {
    this.closed = true;
    this.onClose();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Msg> {
    for (;;) {
      const m = this.queue.shift();
      if (m) yield m;
      else if (this.closed) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }
}

type OpenAnswer = 'ack' | 'no-responders' | 'timeout';

/** Just the NatsConnection calls the proxy makes: request (open), publish (frames), subscribe (inbox). */
class FakeNats {
  readonly opens: OpenFrame[] = [];
  readonly openSubjects: string[] = [];
  readonly published: Published[] = [];
  readonly subs = new Map<string, FakeSubscription>();
  answer: OpenAnswer = 'ack';
  openTimeouts: number[] = [];

  request(subject: string, data: Uint8Array, opts: { timeout: number }): Promise<Msg> {
    this.openSubjects.push(subject);
    this.openTimeouts.push(opts.timeout);
    this.opens.push(openFrameSchema.parse(JSON.parse(Buffer.from(data).toString('utf8'))));
    if (this.answer === 'no-responders') return Promise.reject(natsError('503'));
    if (this.answer === 'timeout') return Promise.reject(natsError('TIMEOUT'));
    return Promise.resolve(msg(Buffer.from(JSON.stringify({ ok: true }))));
  }

  publish(subject: string, data: Uint8Array, opts?: { headers?: MsgHdrs }): void {
    this.published.push({ subject, kind: opts?.headers?.get(FRAME_HEADER) ?? '', data });
  }

  subscribe(subject: string): FakeSubscription {
    const sub = new FakeSubscription(subject, () => this.subs.delete(subject));
    this.subs.set(subject, sub);
    return sub;
  }

  // ---- the agent's side ----

  async nextOpen(): Promise<OpenFrame> {
    const n = this.opens.length;
    await waitFor(() => this.opens.length > n, { intervalMs: 1, timeoutMs: 2_000, message: 'an open' });
    return this.opens[n] as OpenFrame;
  }

  /** Sends a frame where the agent answers this stream. */
  send(open: OpenFrame, kind: string, data: Uint8Array | object = new Uint8Array()): void {
    const answer = connectSubjects.answer(KEY, open.streamId);
    const sub = this.subs.get(answer);
    if (!sub) throw new Error(`nobody listens on ${answer}`);
    const h = natsHeaders();
    h.set(FRAME_HEADER, kind);
    const payload = data instanceof Uint8Array ? data : Buffer.from(JSON.stringify(data));
    sub.deliver(msg(payload, h));
  }

  /** What the hub published on this stream's subject (data, end, credit, cancel). */
  frames(open: OpenFrame): Published[] {
    const subject = connectSubjects.stream(KEY, open.streamId);
    return this.published.filter((p) => p.subject === subject);
  }

  kinds(open: OpenFrame): string[] {
    return this.frames(open).map((f) => f.kind);
  }

  credits(open: OpenFrame): unknown[] {
    return this.frames(open)
      .filter((f) => f.kind === 'credit')
      .map((f) => JSON.parse(Buffer.from(f.data).toString('utf8')) as unknown);
  }
}

function natsError(code: string): Error {
  return Object.assign(new Error(code), { code });
}

function msg(data: Uint8Array, headers?: MsgHdrs): Msg {
  return { subject: '', sid: 0, data, headers } as unknown as Msg;
}

/** Lets the hub's stream loop take what was delivered (a few macrotask turns; no timers). */
function settle(): Promise<void> {
  return new Promise((r) => setImmediate(() => setImmediate(r)));
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function setup(startedNow = true) {
  const { hub, clock, metrics } = makeHub();
  hub.put(
    REF,
    parsePutBody({
      location: 'eastus',
      properties: { agentPublicKeyCertificate: generateAgentKeyPair().publicKey },
    }),
    'u',
  );
  const nats = new FakeNats();
  const authority = new IdentityAuthority(IdentityAuthority.generatePem());
  const startup = new Startup<{ clusters: typeof hub; nc: NatsConnection; authority: IdentityAuthority }>();
  const outcomes: string[] = [];
  const logger = createLogger('test', 'silent');
  const opts: ClusterConnectOptions = {
    started: startup,
    clock,
    tokenValidityMs: TOKEN_VALIDITY_MS,
    timeoutMs: TIMEOUT_MS,
    publicUrl: 'https://hub.example',
    logger,
    onRequest: (o) => outcomes.push(o),
  };
  const app = createArmApp({ metrics, logger });
  registerUserCredential(app, opts);
  registerConnectProxy(app, opts);
  const open = (): void => startup.open({ clusters: hub, nc: nats as unknown as NatsConnection, authority });
  if (startedNow) open();
  return { app, nats, clock, authority, outcomes, startup, open };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await app?.close();
  app = undefined;
});

describe('cluster connect proxy', () => {
  it('forwards a request as an open frame plus body frames, and reassembles the streamed answer', async () => {
    const t = setup();
    app = t.app;
    const body = JSON.stringify({ kind: 'ConfigMap', data: { a: 'b' } });
    const pending = app.inject({
      method: 'POST',
      url: `${BASE}/api/v1/namespaces/default/configmaps?fieldManager=kubectl&dryRun=All`,
      headers: {
        authorization: 'Bearer user-token',
        'content-type': 'application/json',
        connection: 'keep-alive',
        'x-custom': 'kept',
      },
      payload: body,
    });
    const open = await t.nats.nextOpen();
    expect(t.nats.openSubjects).toEqual([connectSubjects.open(KEY)]);
    expect(t.nats.openTimeouts).toEqual([TIMEOUT_MS]);
    expect(open).toMatchObject({
      v: 2,
      method: 'POST',
      // Everything below /{name}, query included, as the client wrote it.
      path: '/api/v1/namespaces/default/configmaps?fieldManager=kubectl&dryRun=All',
      hasBody: true,
    });
    // End-to-end headers only; the user's token goes on to the cluster, which checks it.
    expect(open.headers).toMatchObject({
      authorization: 'Bearer user-token',
      'content-type': 'application/json',
      'x-custom': 'kept',
    });
    expect(open.headers).not.toHaveProperty('host');
    expect(open.headers).not.toHaveProperty('connection');
    expect(open.headers).not.toHaveProperty('content-length');
    // The body went as data frames, then end.
    const sent = t.nats.frames(open);
    expect(sent.map((f) => f.kind)).toEqual(['data', 'end']);
    expect(Buffer.from(sent[0]?.data ?? []).toString('utf8')).toBe(body);

    t.nats.send(open, 'head', {
      status: 201,
      headers: { 'content-type': 'application/json', 'x-from-apiserver': 'yes', connection: 'close' },
    });
    t.nats.send(open, 'ping');
    t.nats.send(open, 'data', Buffer.from('{"kind":"Config'));
    t.nats.send(open, 'data', Buffer.from('Map","metadata":{}}'));
    t.nats.send(open, 'end');
    const res = await pending;
    expect(res.statusCode).toBe(201);
    expect(res.headers['x-from-apiserver']).toBe('yes');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.json()).toEqual({ kind: 'ConfigMap', metadata: {} });
    expect(t.outcomes).toEqual(['ok']);
    // The stream's inbox is given up, and the hub sent nothing more (no cancel).
    expect(t.nats.subs.size).toBe(0);
    expect(t.nats.kinds(open)).toEqual(['data', 'end']);
  });

  it('sends no body frames for a request without a body', async () => {
    const t = setup();
    app = t.app;
    const pending = app.inject({ method: 'GET', url: `${BASE}/version` });
    const open = await t.nats.nextOpen();
    expect(open).toMatchObject({ method: 'GET', path: '/version', hasBody: false });
    t.nats.send(open, 'head', { status: 200, headers: {} });
    t.nats.send(open, 'end');
    expect((await pending).statusCode).toBe(200);
    expect(t.nats.kinds(open)).toEqual([]);
  });

  it("passes the cluster's refusal of a token (401/403 error frame) on as a Kubernetes Status", async () => {
    const t = setup();
    app = t.app;
    for (const [status, code] of [
      [401, 'Unauthorized'],
      [403, 'Forbidden'],
    ] as const) {
      const pending = app.inject({
        method: 'GET',
        url: `${BASE}/api/v1/pods`,
        headers: { authorization: 'Bearer wrong' },
      });
      const open = await t.nats.nextOpen();
      t.nats.send(open, 'error', { status, code, message: `${code}: the token is not for this cluster` });
      const res = await pending;
      expect(res.statusCode).toBe(status);
      expect(res.json()).toEqual(kubeStatus(status, code, `${code}: the token is not for this cluster`));
    }
    expect(t.outcomes).toEqual(['error', 'error']);
  });

  it('answers 502 with a Status when no agent of the cluster is connected, 504 when none answers', async () => {
    const t = setup();
    app = t.app;
    t.nats.answer = 'no-responders';
    const unavailable = await app.inject({ method: 'GET', url: `${BASE}/api/v1/pods` });
    expect(unavailable.statusCode).toBe(502);
    expect(unavailable.json()).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 502,
      reason: 'ClusterConnectUnavailable',
      message: expect.stringContaining("Unable to connect to the cluster 'c1'"),
    });

    t.nats.answer = 'timeout';
    const timeout = await app.inject({ method: 'GET', url: `${BASE}/api/v1/pods` });
    expect(timeout.statusCode).toBe(504);
    expect(timeout.json()).toMatchObject({
      kind: 'Status',
      code: 504,
      reason: 'ClusterConnectTimeout',
      message: expect.stringContaining(`(${TIMEOUT_MS} ms)`),
    });
    expect(t.outcomes).toEqual(['unavailable', 'timeout']);
    // Neither left a subscription behind.
    expect(t.nats.subs.size).toBe(0);
  });

  it('answers 404 and 503 Statuses for an unknown cluster and a hub still starting, without NATS', async () => {
    const t = setup();
    app = t.app;
    const missing = await app.inject({
      method: 'GET',
      url: `${CONNECT_PREFIX}/sub-1/rg-1/nope/api/v1/pods`,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound' });
    expect(t.nats.opens).toEqual([]);

    const starting = setup(false);
    await app.close();
    app = starting.app;
    const early = await app.inject({ method: 'GET', url: `${BASE}/api/v1/pods` });
    expect(early.statusCode).toBe(503);
    expect(early.json()).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable' });
    expect(starting.nats.opens).toEqual([]);
    expect(t.outcomes).toEqual(['not_found']);
  });

  it('gives up with a 504 Status and a cancel frame when the agent acks but never answers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const t = setup();
    app = t.app;
    const pending = app.inject({ method: 'GET', url: `${BASE}/api/v1/pods` });
    const open = await nextOpenWithFakeTimers(t.nats);
    await settle();
    vi.advanceTimersByTime(TIMEOUT_MS - 1);
    await settle();
    expect(t.nats.kinds(open)).toEqual([]);
    vi.advanceTimersByTime(1);
    const res = await pending;
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({ kind: 'Status', code: 504, reason: 'ClusterConnectTimeout' });
    expect(t.nats.kinds(open)).toEqual(['cancel']);
    expect(t.outcomes).toEqual(['timeout']);
  });

  it('keeps a stream alive on pings, and drops it with a cancel frame once it goes idle', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const t = setup();
    app = t.app;
    const pending = app.inject({
      method: 'GET',
      url: `${BASE}/api/v1/pods?watch=true`,
      payloadAsStream: true,
    });
    const open = await nextOpenWithFakeTimers(t.nats);
    t.nats.send(open, 'head', { status: 200, headers: { 'content-type': 'application/json' } });
    const res = await pending;
    expect(res.statusCode).toBe(200);
    const body = res.stream();
    const text = readAll(body);
    t.nats.send(open, 'data', Buffer.from('{"type":"ADDED"}\n'));
    await settle();
    // A watch with nothing to say: the agent's pings keep it open well past the idle limit.
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(STREAM_IDLE_MS - 1);
      t.nats.send(open, 'ping');
      await settle();
    }
    expect(t.nats.kinds(open)).toEqual([]);
    // Then the link goes quiet: the hub gives the stream up and tells the agent to stop.
    vi.advanceTimersByTime(STREAM_IDLE_MS);
    await expect(text).rejects.toThrow('cluster connect stream went idle');
    expect(t.nats.kinds(open)).toEqual(['cancel']);
    expect(t.outcomes).toEqual(['timeout']);
    expect(t.nats.subs.size).toBe(0);
  });

  it('grants credit per half window of data frames written to the client, and none while it is not reading', async () => {
    const t = setup();
    app = t.app;
    const pending = app.inject({
      method: 'GET',
      url: `${BASE}/api/v1/pods?watch=true`,
      payloadAsStream: true,
    });
    const open = await t.nats.nextOpen();
    t.nats.send(open, 'head', { status: 200, headers: {} });
    const res = await pending;
    const body = res.stream();
    const half = CREDIT_WINDOW / 2;

    // A reading client: a credit for every CREDIT_WINDOW / 2 frames, not before.
    const chunk = Buffer.from('x'.repeat(100));
    let received = 0;
    body.on('data', (c: Buffer) => (received += c.length));
    for (let i = 1; i <= CREDIT_WINDOW; i++) {
      t.nats.send(open, 'data', chunk);
      await settle();
      expect(t.nats.credits(open)).toHaveLength(Math.floor(i / half));
    }
    expect(t.nats.credits(open)).toEqual([{ frames: half }, { frames: half }]);
    await waitFor(() => received === CREDIT_WINDOW * chunk.length, { intervalMs: 1, timeoutMs: 2_000 });

    // A client that stops reading: its buffer fills, the hub waits for it to drain and grants nothing,
    // however many frames the agent pushes (a well-behaved agent stops at the window).
    body.pause();
    const big = Buffer.alloc(64 * 1024, 'y');
    for (let i = 0; i < CREDIT_WINDOW; i++) t.nats.send(open, 'data', big);
    await settle();
    await settle();
    expect(t.nats.credits(open)).toHaveLength(2);
    // Reading again drains it; the hub catches up and grants credit for what it wrote.
    body.resume();
    await waitFor(() => t.nats.credits(open).length === 4, {
      intervalMs: 1,
      timeoutMs: 2_000,
      message: 'credit after the client drained',
    });
    expect(t.nats.credits(open)).toEqual(Array.from({ length: 4 }, () => ({ frames: half })));
    t.nats.send(open, 'end');
    await waitFor(() => t.outcomes.length > 0, { intervalMs: 1, timeoutMs: 2_000 });
    expect(t.outcomes).toEqual(['ok']);
    expect(t.nats.kinds(open).every((k) => k === 'credit')).toBe(true);
  });

  it('sends a cancel frame when the client goes away mid-stream', async () => {
    const t = setup();
    app = t.app;
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    // A real socket (one, no pool), so that closing it is what the hub sees as the client leaving.
    const req = http.get(`${url}${BASE}/api/v1/pods?watch=true`, { agent: false });
    req.on('error', () => undefined);
    const response = new Promise<http.IncomingMessage>((r) => req.once('response', r));
    const open = await t.nats.nextOpen();
    t.nats.send(open, 'head', { status: 200, headers: { 'content-type': 'application/json' } });
    t.nats.send(open, 'data', Buffer.from('{"type":"ADDED"}\n'));
    const res = await response;
    expect(res.statusCode).toBe(200);
    const [first] = (await once(res, 'data')) as [Buffer];
    expect(first.toString()).toBe('{"type":"ADDED"}\n');
    expect(t.nats.kinds(open)).toEqual([]);
    req.destroy();
    await waitFor(() => t.nats.kinds(open), {
      until: (k) => k.includes('cancel'),
      intervalMs: 5,
      timeoutMs: 2_000,
      message: 'a cancel frame',
    });
    expect(t.nats.kinds(open)).toEqual(['cancel']);
    expect(t.outcomes).toEqual(['client_closed']);
    expect(t.nats.subs.size).toBe(0);
  });
});

/** nextOpen polls with setTimeout; under fake timers, poll on macrotasks instead. */
async function nextOpenWithFakeTimers(nats: FakeNats): Promise<OpenFrame> {
  for (let i = 0; i < 100 && nats.opens.length === 0; i++) await settle();
  const open = nats.opens[0];
  if (!open) throw new Error('no open frame');
  return open;
}

describe('listClusterUserCredential', () => {
  it('issues a kubeconfig for the proxy with a token scoped to the cluster and user, valid for the set time', async () => {
    const t = setup();
    app = t.app;
    // The caller comes from a verified bearer token (arm/auth.ts), as in the hub.
    const issuerDir = await mkdtemp(join(tmpdir(), 'arcfleet-issuer-'));
    const files = await ensureFleetIssuer(issuerDir);
    registerArmAuth(app, await TokenVerifier.open(files.jwksFile));
    const bearer = await (
      await TokenIssuer.open(files.keyFile)
    ).issue({ user: 'alice', groups: ['ops', 'devs'] });
    await rm(issuerDir, { recursive: true, force: true });
    const res = await app.inject({
      method: 'POST',
      url: `/subscriptions/${REF.subscriptionId}/resourceGroups/${REF.resourceGroup}/providers/Microsoft.Kubernetes/connectedClusters/${REF.name}/listClusterUserCredential?api-version=2024-01-01`,
      // A header naming other groups is ignored: only the token says who calls.
      headers: { authorization: `Bearer ${bearer}`, 'x-arcfleet-groups': 'system:masters' },
      payload: { authenticationMethod: 'Token', clientProxy: true },
    });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json<{
      kubeconfigs: { name: string; value: string }[];
      hybridConnectionConfig: { expirationTime: number; hybridConnectionName: string; token: string };
    }>();
    const kubeconfig = parseYaml(Buffer.from(out.kubeconfigs[0]?.value ?? '', 'base64').toString('utf8')) as {
      clusters: { cluster: { server: string } }[];
      users: { user: { token: string } }[];
      'current-context': string;
    };
    expect(kubeconfig.clusters[0]?.cluster.server).toBe(`https://hub.example${BASE}`);
    expect(kubeconfig['current-context']).toBe(REF.name);
    const token = kubeconfig.users[0]?.user.token ?? '';
    expect(out.hybridConnectionConfig).toMatchObject({ hybridConnectionName: KEY, token });

    const spki = t.authority.publicKeySpki();
    const now = t.clock.now();
    const check = checkClusterUserToken(`Bearer ${token}`, spki, KEY, now);
    expect(check).toMatchObject({ ok: true, claims: { sub: 'alice', groups: ['ops', 'devs'] } });
    const claims = (check as { claims: ClusterUserClaims }).claims;
    expect(claims).toMatchObject({ aud: KEY, iat: now, exp: now + TOKEN_VALIDITY_MS });
    expect(out.hybridConnectionConfig.expirationTime).toBe(Math.floor(claims.exp / 1000));
    // Not for another cluster, and not once its simulated validity has passed.
    expect(checkClusterUserToken(`Bearer ${token}`, spki, 'sub-1.rg-1.other', now)).toMatchObject({
      ok: false,
    });
    t.clock.advance(TOKEN_VALIDITY_MS);
    expect(checkClusterUserToken(`Bearer ${token}`, spki, KEY, t.clock.now())).toMatchObject({
      ok: false,
      status: 401,
    });
  });
});
