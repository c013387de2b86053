/**
 * Every node of a fresh NATS cluster answers a cluster's request once the launcher has registered the
 * broker's accounts (fleet/broker-accounts.ts), however many hub clients then join at once.
 *
 * nats-server 2.9 can bind CLUSTERS's service imports to a HUB account object that lost a registration
 * race when several HUB clients connect to a fresh node together (as hub replicas and their per-node
 * listeners do); requests from clusters on that node are then never answered. Here: three real nodes,
 * `registerBrokerAccounts` on each as the launcher does, then four HUB clients per node connecting at
 * the same moment, each answering in the `hub` queue group, and a cluster user asking on every node.
 * Without the registration, a node broke in 15 of 25 such starts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { afterEach, expect, it } from 'vitest';
import { registerBrokerAccounts, brokerAccountKeys } from '../../fleet/broker-accounts.js';
import { findNatsServer } from '../../fleet/nats-server.js';
import { freePort } from '../../fleet/ports.js';
import { ServiceProcess } from '../../fleet/process.js';
import { BROKER_FILES, ensureBrokerFiles, readHubCreds } from '../../platform/broker-files.js';
import { userAuthenticator } from '../../platform/broker-keys.js';
import {
  clusterInboxPrefix,
  clusterUserJwt,
  createUserKey,
  type BrokerTrust,
} from '../../platform/broker-trust.js';
import { waitFor } from '../../platform/wait.js';

const NODES = 3;
const CLIENTS_PER_NODE = 4;
const STARTS = 3;

let dir: string | undefined;
/** Every broker's directory this test made (a test starts several brokers). */
const dirs: string[] = [];
const servers: ServiceProcess[] = [];
const open: NatsConnection[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((nc) => nc.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.stop(3000)));
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  dir = undefined;
});

/** Three fresh routed nodes, each healthy and with the accounts registered; their client URLs. */
async function freshBroker(): Promise<{ urls: string[]; trust: BrokerTrust }> {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-accounts-'));
  dirs.push(dir);
  const nodes = [];
  for (let i = 0; i < NODES; i++)
    nodes.push({
      host: '127.0.0.1',
      port: await freePort(),
      monitorPort: await freePort(),
      routePort: await freePort(),
      storeDir: join(dir, 'nats', String(i)),
    });
  const configs = await ensureBrokerFiles({ dir, nodes });
  configs.forEach((config, i) =>
    servers.push(
      ServiceProcess.start({
        name: `nats-server-${i}`,
        command: findNatsServer(),
        args: ['-c', config],
        env: process.env,
        logDir: dir!,
        detached: false,
      }),
    ),
  );
  const keys = await brokerAccountKeys(dir);
  for (const n of nodes) {
    const monitor = `http://127.0.0.1:${n.monitorPort}`;
    await waitFor(async () => (await fetch(`${monitor}/healthz`).catch(() => undefined))?.status === 200, {
      timeoutMs: 15_000,
      message: `nats-server on ${n.port} healthy`,
    });
    await registerBrokerAccounts(monitor, keys);
  }
  const trust = JSON.parse(await readFile(join(dir, BROKER_FILES.trust), 'utf8')) as BrokerTrust;
  return { urls: nodes.map((n) => `nats://127.0.0.1:${n.port}`), trust };
}

/** Which nodes answer a cluster's request after the hub clients stormed in. */
async function answeringNodes(): Promise<boolean[]> {
  const { urls, trust } = await freshBroker();
  const hub = await readHubCreds(dir!);
  const hubs = await Promise.all(
    urls.flatMap((url) =>
      Array.from({ length: CLIENTS_PER_NODE }, () =>
        connect({ servers: url, authenticator: userAuthenticator(() => hub), noRandomize: true }),
      ),
    ),
  );
  open.push(...hubs);
  for (const nc of hubs)
    nc.subscribe('arc.v1.*.*.*.metrics-agent.*', {
      queue: 'hub',
      callback: (_err, msg) => msg.respond(new TextEncoder().encode('ok')),
    });
  await Promise.all(hubs.map((nc) => nc.flush()));

  const key = 'sub.rg.cluster-1';
  const user = createUserKey();
  const creds = { jwt: await clusterUserJwt(trust, key, user.publicKey), seed: user.seed };
  const answered: boolean[] = [];
  for (const url of urls) {
    const nc = await connect({
      servers: url,
      authenticator: userAuthenticator(() => creds),
      inboxPrefix: clusterInboxPrefix(key),
      noRandomize: true,
    });
    open.push(nc);
    // Every node has local subscribers in the queue group: a healthy node answers at once.
    answered.push(
      await nc.request(`arc.v1.${key}.metrics-agent.health`, new Uint8Array(), { timeout: 2000 }).then(
        (m) => m.string() === 'ok',
        () => false,
      ),
    );
  }
  return answered;
}

it(`answers a cluster on every node after ${CLIENTS_PER_NODE} hub clients per fresh node joined at once`, async () => {
  for (let start = 0; start < STARTS; start++) {
    expect(await answeringNodes(), `start ${start}: which nodes answered`).toEqual(Array(NODES).fill(true));
    await Promise.all(open.splice(0).map((nc) => nc.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop(3000)));
  }
}, 120_000);
