/**
 * The hub's front door under compose: one published port for every hub replica. `--scale hub=N` cannot
 * publish a fixed host port from N containers, so this process owns `HUB_PORT` and forwards each TCP
 * connection to one replica (HTTP, the page's WebSocket feed and cluster connect all pass unchanged).
 *
 *   node hub-front.mjs        # env: HUB_FRONT_ROUTES (8080=hub:8080,8081=hub:8081)
 *
 * Each route is a listening port and the service:port it forwards to: the hub's HTTPS port (ARM API,
 * cluster connect) and its plain page port (the live page, /metrics) are two routes to the same
 * replicas. HUB_FRONT_PORT and HUB_FRONT_TARGET name a single route (the old form).
 *
 * Docker's DNS answers the service name with every running replica's address, a killed one's removed;
 * each connection resolves it afresh, so a replica added by `--scale` takes connections at once. A
 * replica that refuses or does not answer within CONNECT_TIMEOUT_MS is passed over for the next one, so
 * a replica's death costs only the connections it held. Layer 4 on purpose: nothing to parse, nothing to
 * keep in step with the hub's routes.
 */
import { lookup } from 'node:dns/promises';
import { createServer, connect } from 'node:net';
import process from 'node:process';

/** `8080=hub:8080,8081=hub:8081` → routes; the single-route variables when it is unset. */
function routesOf(env) {
  const spec = env.HUB_FRONT_ROUTES ?? `${env.HUB_FRONT_PORT ?? 8080}=${env.HUB_FRONT_TARGET ?? 'hub:8080'}`;
  return spec
    .split(',')
    .filter((r) => r.trim() !== '')
    .map((route) => {
      const m = /^\s*(\d+)=([A-Za-z0-9.-]+):(\d+)\s*$/.exec(route);
      if (!m) throw new Error(`HUB_FRONT_ROUTES: "${route}" is not <port>=<host>:<port>`);
      return { port: Number(m[1]), host: m[2], targetPort: Number(m[3]) };
    });
}

const CONNECT_TIMEOUT_MS = 2000;
let next = 0;

const log = (event, fields = {}) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);

/** Every replica's address, rotated so consecutive connections start at different replicas. */
async function replicas(host) {
  const found = (await lookup(host, { all: true, family: 4 })).map((a) => a.address).sort();
  const start = next++ % Math.max(found.length, 1);
  return [...found.slice(start), ...found.slice(0, start)];
}

/** A connected socket to the first replica that accepts, or undefined when none does. */
async function dial(addresses, port) {
  for (const address of addresses) {
    const socket = await new Promise((resolve) => {
      const s = connect({ host: address, port });
      const fail = (why) => {
        s.destroy();
        log('hub_front.replica_refused', { address, port, why });
        resolve(undefined);
      };
      s.setTimeout(CONNECT_TIMEOUT_MS, () => fail('timeout'));
      s.once('error', (e) => fail(e.code ?? e.message));
      s.once('connect', () => {
        s.setTimeout(0);
        s.removeAllListeners('error');
        resolve(s);
      });
    });
    if (socket) return socket;
  }
  return undefined;
}

for (const route of routesOf(process.env)) {
  const server = createServer({ pauseOnConnect: true }, async (client) => {
    client.on('error', () => client.destroy());
    const upstream = await dial(await replicas(route.host).catch(() => []), route.targetPort);
    // No replica: close at once, so the client sees a failure rather than a hang.
    if (!upstream || client.destroyed) {
      upstream?.destroy();
      client.destroy();
      return;
    }
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
    client.resume();
  });
  server.listen(route.port, '0.0.0.0', () =>
    log('hub_front.listening', { port: route.port, target: `${route.host}:${route.targetPort}` }),
  );
}
// Nothing to drain: the clients' connections end with the process, as with any replica's death.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
