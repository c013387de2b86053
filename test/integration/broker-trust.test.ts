/**
 * The broker's trust chain (platform/broker-trust.ts) on a real nats-server in operator mode, with
 * real credentials and hostile clients: anonymous refused; a cluster reaches the hub on its own
 * subjects and nothing else (not another cluster's, not `>`, not JetStream or KV); control reaches only
 * its cluster; an onboarding user can only register; expiry and a pushed revocation disconnect.
 * The files are the fleet's (platform/broker-files.ts); the fleet-level checks are broker-identity.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapUserJwt,
  clusterInboxPrefix,
  clusterUserJwt,
  createBrokerTrust,
  createUserKey,
  encodeClustersAccount,
  formatCreds,
  hubUserJwt,
  systemUserJwt,
  type BrokerTrust,
} from '../../platform/broker-trust.js';
import { BROKER_FILES, ensureBrokerFiles } from '../../platform/broker-files.js';
import { ServiceProcess } from '../../fleet/process.js';
import { requestError, subscribeRefused } from '../helpers/nats-probes.js';
import { findNatsServer } from '../../fleet/nats-server.js';
import { freePort } from '../../fleet/ports.js';
import { waitFor } from '../helpers/wait.js';

const A = 'sub-a.rg.alpha';
const B = 'sub-b.rg.beta';

let dir: string;
let trust: BrokerTrust;
let server: ServiceProcess;
let url: string;
const open: NatsConnection[] = [];
/** The hub's connection: answers every agent request with "ok" and records its subject. */
let hub: NatsConnection;
const seen: string[] = [];

const creds = (token: string, seed: ReturnType<typeof createUserKey>) =>
  credsAuthenticator(new TextEncoder().encode(formatCreds(token, seed)));

async function connectAs(
  token: string,
  user = createUserKey(),
  inboxPrefix?: string,
): Promise<NatsConnection> {
  const nc = await connect({
    servers: url,
    authenticator: creds(token, user),
    reconnect: false,
    ...(inboxPrefix ? { inboxPrefix } : {}),
  });
  open.push(nc);
  return nc;
}

async function cluster(
  key: string,
  expiresAtSec?: number,
): Promise<{ nc: NatsConnection; publicKey: string }> {
  const user = createUserKey();
  const token = await clusterUserJwt(trust, key, user.publicKey, expiresAtSec ? { expiresAtSec } : {});
  return { nc: await connectAs(token, user, clusterInboxPrefix(key)), publicKey: user.publicKey };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-trust-'));
  const [port, monitorPort] = [await freePort(), await freePort()];
  const [config] = await ensureBrokerFiles({
    dir,
    nodes: [{ storeDir: join(dir, 'js'), host: '127.0.0.1', port, monitorPort }],
  });
  trust = JSON.parse(await readFile(join(dir, BROKER_FILES.trust), 'utf8')) as BrokerTrust;
  server = ServiceProcess.start({
    name: 'nats-server',
    command: findNatsServer(),
    args: ['-c', config ?? ''],
    env: process.env,
    logDir: dir,
    detached: false,
  });
  url = `nats://127.0.0.1:${port}`;
  await waitFor(
    async () =>
      (await fetch(`http://127.0.0.1:${monitorPort}/healthz`).catch(() => undefined))?.status === 200,
    { timeoutMs: 15_000, message: `nats-server healthy (${server.logFile})` },
  );
  const hubKey = createUserKey();
  hub = await connectAs(await hubUserJwt(trust, hubKey.publicKey), hubKey);
  hub.subscribe('arc.v1.>', {
    callback: (_err, msg) => {
      seen.push(msg.subject);
      msg.respond(new TextEncoder().encode('ok'));
    },
  });
  await hub.flush();
}, 30_000);

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
  await server?.stop(3000);
  await rm(dir, { recursive: true, force: true });
});

describe('the broker trust chain on nats-server', () => {
  it('refuses anonymous clients and users of an unknown account', async () => {
    await expect(connect({ servers: url, reconnect: false })).rejects.toMatchObject({
      code: 'AUTHORIZATION_VIOLATION',
    });
    const stranger = await createBrokerTrust();
    const user = createUserKey();
    const token = await clusterUserJwt(stranger, A, user.publicKey);
    await expect(
      connect({ servers: url, reconnect: false, authenticator: creds(token, user) }),
    ).rejects.toMatchObject({ code: 'AUTHORIZATION_VIOLATION' });
  });

  it("a cluster reaches the hub on its own subjects, and the hub's control reaches that cluster only", async () => {
    seen.length = 0;
    const a = await cluster(A);
    const b = await cluster(B);
    // A request crosses as a service (answered); a heartbeat as a stream (never answered).
    const reply = await a.nc.request(`arc.v1.${A}.resource-sync-agent.metadata`, new Uint8Array(), {
      timeout: 2000,
    });
    expect(new TextDecoder().decode(reply.data)).toBe('ok');
    a.nc.publish(`arc.v1.${A}.resource-sync-agent.heartbeat`, new Uint8Array());
    await waitFor(() => seen.length, {
      timeoutMs: 2000,
      until: (n) => n === 2,
      message: 'the heartbeat at the hub',
    });
    expect(seen).toEqual([
      `arc.v1.${A}.resource-sync-agent.metadata`,
      `arc.v1.${A}.resource-sync-agent.heartbeat`,
    ]);

    const got = { a: 0, b: 0 };
    a.nc.subscribe(`arcctl.v1.${A}`, { callback: () => got.a++ });
    b.nc.subscribe(`arcctl.v1.${B}`, { callback: () => got.b++ });
    await Promise.all([a.nc.flush(), b.nc.flush()]);
    hub.publish(`arcctl.v1.${A}`, new TextEncoder().encode('{"type":"disconnect"}'));
    await waitFor(() => got.a, { timeoutMs: 2000, message: 'control message at A' });
    expect(got).toEqual({ a: 1, b: 0 });
  });

  it('a cluster cannot act as another, listen to others, answer for the hub, or reach JetStream', async () => {
    const { nc } = await cluster(A);
    seen.length = 0;
    expect(await requestError(nc, `arc.v1.${B}.resource-sync-agent.heartbeat`)).toBe('PERMISSIONS_VIOLATION');
    expect(await requestError(nc, '$JS.API.INFO')).toBe('PERMISSIONS_VIOLATION');
    expect(await requestError(nc, '$KV.arcfleet-clusters-authority.key')).toBe('PERMISSIONS_VIOLATION');
    expect(seen).toEqual([]);
    for (const subject of ['>', `arcctl.v1.${B}`, 'arc.v1.>', `arc.v1.${A}.>`, '_INBOX.>', `_INBOX.${B}.>`])
      expect(await subscribeRefused(await cluster(A).then((c) => c.nc), subject), subject).toBe(true);
  });

  it('an onboarding user can make the register request of its cluster and nothing else', async () => {
    const user = createUserKey();
    const nc = await connectAs(await bootstrapUserJwt(trust, A, user.publicKey), user, clusterInboxPrefix(A));
    expect(await requestError(nc, `arc.v1.${A}.resource-sync-agent.heartbeat`)).toBe('PERMISSIONS_VIOLATION');
    expect(await requestError(nc, `arc.v1.${B}.clusteridentityoperator.register`)).toBe(
      'PERMISSIONS_VIOLATION',
    );
    seen.length = 0;
    expect(await requestError(nc, `arc.v1.${A}.clusteridentityoperator.register`)).toBeUndefined();
    expect(seen).toEqual([`arc.v1.${A}.clusteridentityoperator.register`]);
    expect(await subscribeRefused(nc, `arcctl.v1.${B}`)).toBe(true);
    expect(await subscribeRefused(nc, `arc.v1.${A}.>`)).toBe(true);
  });

  it('disconnects a cluster at its expiry and refuses it after', async () => {
    const expiresAtSec = Math.ceil(Date.now() / 1000) + 2;
    const { nc } = await cluster(A, expiresAtSec);
    const closed = await nc.closed();
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAtSec * 1000);
    expect(String(closed)).toMatch(/expired/i);
    await waitFor(() => Date.now() >= expiresAtSec * 1000 + 1000, { timeoutMs: 3000, intervalMs: 50 });
    const user = createUserKey();
    const token = await clusterUserJwt(trust, A, user.publicKey, { expiresAtSec });
    await expect(
      connect({ servers: url, reconnect: false, authenticator: creds(token, user) }),
    ).rejects.toBeTruthy();
  }, 15_000);

  it('a revocation pushed to the server drops the live connection within a second', async () => {
    const revoked = await cluster(A);
    const other = await cluster(B);
    const sysKey = createUserKey();
    const sys = await connectAs(await systemUserJwt(trust, sysKey.publicKey), sysKey);
    // JWT `iat` is in seconds: a revocation covers the user's JWTs issued up to and including its time.
    const account = await encodeClustersAccount(trust, {
      [revoked.publicKey]: Math.floor(Date.now() / 1000) + 1,
    });
    const pushedAt = Date.now();
    const answer = await sys.request('$SYS.REQ.CLAIMS.UPDATE', new TextEncoder().encode(account), {
      timeout: 3000,
    });
    expect(new TextDecoder().decode(answer.data)).toMatch(/"code":\s*200/);
    await revoked.nc.closed();
    expect(Date.now() - pushedAt).toBeLessThan(1000);
    expect(other.nc.isClosed()).toBe(false);
  });
});
