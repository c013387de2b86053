/**
 * The HTTP listener of a cluster-side agent process that serves every cluster of its shard under
 * `/clusters/<name>` (kube-aad-proxy, guard): on the cluster side only (loopback, or compose's on-prem
 * network), a bad client connection dropped, a port it cannot take fatal (the supervisor restarts it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../platform/log.js';
import { keepIdleConnections } from '../platform/http-keep-alive.js';

export interface ClusterListenerOptions {
  /** Names the log events (`<agent>.listening`, `<agent>.listen_failed`). */
  readonly agent: string;
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
}

export function listenClusterSide(
  opts: ClusterListenerOptions,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const { agent, port, host, logger } = opts;
  const server = keepIdleConnections(createServer(handle));
  server.on('clientError', (_err, socket) => socket.destroy());
  server.listen(port, host, () => {
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    logger.info({ event: `${agent}.listening`, url: `http://${host}:${bound}` }, `${agent} listening`);
  });
  server.on('error', (err) => {
    logger.fatal({ event: `${agent}.listen_failed`, port, err }, `${agent} cannot listen`);
    process.exit(1);
  });
  return server;
}

/** `/clusters/<name>/<rest>` split; undefined for another path or a name that does not decode. */
export function clusterPathOf(url: string): { name: string; rest: string } | undefined {
  const prefix = '/clusters/';
  if (!url.startsWith(prefix)) return undefined;
  const slash = url.indexOf('/', prefix.length);
  try {
    return {
      name: decodeURIComponent(url.slice(prefix.length, slash < 0 ? undefined : slash)),
      rest: slash < 0 ? '/' : url.slice(slash),
    };
  } catch {
    return undefined;
  }
}

/** A request body up to `maxBytes`; 'too-large' past it (the rest is not read). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return 'too-large';
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
