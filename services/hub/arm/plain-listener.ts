/**
 * The live page, its feed, /metrics and health on plain HTTP, next to the HTTPS API (loopback unless
 * told otherwise): a browser opens the page without a certificate warning and Prometheus scrapes without
 * the fleet's CA. Only those paths: the ARM API and cluster connect carry bearer tokens, which must not
 * cross plain HTTP, so every other path gets 403 `HttpsRequired` naming the HTTPS URL.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../../contract/index.js';
import { answerRaw, clientErrorResponder, type RefusalCounter } from '../../../platform/http-errors.js';
import { keepIdleConnections } from '../../../platform/http-keep-alive.js';
import { armFrameworkError } from './app.js';

/** The page and what it calls (its feed, a cluster's detail, chaos, events, summary); not cluster connect. */
const PLAIN_PATHS = [
  /^\/$/,
  /^\/page\//,
  /^\/arcfleet\/v1\/(feed|chaos|events|summary)$/,
  /^\/arcfleet\/v1\/clusters\/[^/]+$/,
  /^\/(healthz|readyz|metrics)$/,
];

export function servedPlain(url: string | undefined): boolean {
  const path = (url ?? '/').split('?')[0] ?? '/';
  return PLAIN_PATHS.some((p) => p.test(path));
}

export interface PlainListener {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `app`'s page routes on `host:port`; `httpsUrl` is where everything else is. */
export async function listenPlain(
  app: FastifyInstance,
  opts: { port: number; host: string; httpsUrl: string; counted?: RefusalCounter },
): Promise<PlainListener> {
  const httpsRequired = () => ({
    error: {
      code: ERROR_CODES.HttpsRequired,
      message: `This port serves the live page and /metrics only; the ARM API and cluster connect are on ${opts.httpsUrl}.`,
    },
  });
  const refuse = (res: ServerResponse): void => {
    opts.counted?.(403);
    res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(httpsRequired()));
  };
  const server = keepIdleConnections(
    createServer((req: IncomingMessage, res: ServerResponse) =>
      servedPlain(req.url) ? app.routing(req, res) : refuse(res),
    ),
  );
  server.on('clientError', clientErrorResponder(armFrameworkError, opts.counted));
  // The feed's WebSocket upgrade goes to the listener the page registered on the API server.
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    if (servedPlain(req.url)) app.server.emit('upgrade', req, socket, head);
    else {
      opts.counted?.(403);
      answerRaw(socket, 403, httpsRequired());
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
