/**
 * The hub's front door under compose: one published port for every hub replica. `--scale hub=N` cannot
 * publish a fixed host port from N containers, so this process owns `HUB_PORT` and forwards each TCP
 * connection to one replica (HTTP, the page's WebSocket feed and cluster connect all pass unchanged).
 *
 *   node hub-front.mjs        # env: HUB_FRONT_PORT (8080), HUB_FRONT_TARGET (hub:8080)
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

const port = Number(process.env.HUB_FRONT_PORT ?? 8080);
const [targetHost = 'hub', targetPort = '8080'] = (process.env.HUB_FRONT_TARGET ?? 'hub:8080').split(':');
const CONNECT_TIMEOUT_MS = 2000;
let next = 0;

const log = (event, fields = {}) =>
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);

/** Every replica's address, rotated so consecutive connections start at different replicas. */
async function replicas() {
  const found = (await lookup(targetHost, { all: true, family: 4 })).map((a) => a.address).sort();
  const start = next++ % Math.max(found.length, 1);
  return [...found.slice(start), ...found.slice(0, start)];
}

/** A connected socket to the first replica that accepts, or undefined when none does. */
async function dial(addresses) {
  for (const address of addresses) {
    const socket = await new Promise((resolve) => {
      const s = connect({ host: address, port: Number(targetPort) });
      const fail = (why) => {
        s.destroy();
        log('hub_front.replica_refused', { address, why });
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

const server = createServer({ pauseOnConnect: true }, async (client) => {
  client.on('error', () => client.destroy());
  const upstream = await dial(await replicas().catch(() => []));
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

server.listen(port, '0.0.0.0', () =>
  log('hub_front.listening', { port, target: `${targetHost}:${targetPort}` }),
);
// Nothing to drain: the clients' connections end with the process, as with any replica's death.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
