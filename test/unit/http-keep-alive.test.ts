/**
 * Every HTTP server of ours keeps an idle connection 72 s (platform/http-keep-alive.ts) and says so in
 * `Keep-Alive: timeout=72`, the hint undici reads: with Node's default 5 s, a client on a loaded
 * machine reused sockets the server had just closed (`other side closed`).
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, expect, it } from 'vitest';
import { createArmApp } from '../../services/hub/arm/app.js';
import { listenPlain } from '../../services/hub/arm/plain-listener.js';
import { createHubMetrics } from '../../services/hub/metrics.js';
import { listenClusterSide } from '../../agent-runtime/cluster-listener.js';
import { startMetricsServer } from '../../platform/metrics.js';
import { createLogger } from '../../platform/log.js';

const logger = createLogger('test', 'silent');
const closers: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

/** The `keep-alive` header of a GET on a kept-alive connection. */
async function keepAliveHeader(url: string): Promise<string | undefined> {
  const agent = new http.Agent({ keepAlive: true });
  try {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(url, { agent }, resolve).on('error', reject),
    );
    res.resume();
    await once(res, 'end');
    return res.headers['keep-alive']?.toString();
  } finally {
    agent.destroy();
  }
}

it('the hub API, its page port, the metrics port and a cluster-side listener keep idle connections 72 s', async () => {
  const app = createArmApp({ metrics: createHubMetrics(() => undefined), logger });
  app.get('/', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => app.close());
  const api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const plain = await listenPlain(app, { port: 0, host: '127.0.0.1', httpsUrl: api });
  closers.push(() => plain.close());
  const metrics = await startMetricsServer({ registry: new Registry(), service: 'test', port: 0, logger });
  closers.push(() => metrics.close());
  const side = listenClusterSide({ agent: 'test', port: 0, host: '127.0.0.1', logger }, (_req, res) =>
    res.end('ok'),
  );
  closers.push(() => new Promise((resolve) => side.close(resolve)));
  if (!side.listening) await once(side, 'listening');
  const sideUrl = `http://127.0.0.1:${(side.address() as AddressInfo).port}/`;

  for (const url of [`${api}/`, `${plain.url}/`, metrics.url, sideUrl])
    expect(await keepAliveHeader(url), url).toBe('timeout=72');
});
