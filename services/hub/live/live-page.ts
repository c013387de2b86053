/**
 * The hub's live fleet page: `GET /` (static page, no build step), the WebSocket feed
 * `/arcfleet/v1/feed` (live-feed.ts), one cluster's detail `GET /arcfleet/v1/clusters/{key}`, and the
 * page's chaos controls `POST /arcfleet/v1/chaos`, forwarded to the egress gateway's control API.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { ArcError, ERROR_CODES, outOfSupport } from '../../../contract/index.js';
import type { Logger } from '../../../platform/log.js';
import { RateLimitedReporter } from '../../../platform/rate-limited-log.js';
import { answerRaw } from '../../../platform/http-errors.js';
import { originRefusal } from './feed-origin.js';
import type { EventLog } from '../connected-clusters/event-log.js';
import type { ConnectedClusters } from '../connected-clusters/connected-clusters.js';
import { LiveFeed, type FeedClient, type Tile } from './live-feed.js';
import type { HubMetrics } from '../metrics.js';
import type { Started } from '../startup.js';

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
export const FEED_PATH = '/arcfleet/v1/feed';
/** Largest client message accepted on the feed (acks are a few bytes). */
const MAX_CLIENT_MESSAGE = 1024;

export interface LivePageOptions {
  /** Tiles are empty and details 404 until the hub has started. */
  readonly started: Started<{ clusters: ConnectedClusters }>;
  readonly events: EventLog;
  readonly logger: Logger;
  readonly feedIntervalMs: number;
  readonly feedMaxLag: number;
  /** Every shard's egress gateway control API; none: the page has no chaos controls. */
  readonly egressApiUrls: readonly string[];
  readonly metrics: HubMetrics;
  /** Origins besides the hub's own whose pages may open the feed (ARCFLEET_HUB_ALLOWED_ORIGINS). */
  readonly allowedOrigins: readonly string[];
}

function tilesOf(clusters: ConnectedClusters | undefined): Iterable<Tile> {
  if (!clusters) return [];
  const support = clusters.agentSupport();
  return (function* () {
    for (const r of clusters.all()) {
      const version = r.metadata?.agentVersion;
      const tile: Tile = {
        k: r.key,
        n: r.ref.name,
        s: r.connectivity.status,
        p: r.provisioningState,
        l: r.desired.location,
        d: r.desired.distribution ?? r.metadata?.distribution ?? '',
        ...(r.agentHealth ? { a: r.agentHealth.agentState } : {}),
        ...(version === undefined ? {} : { v: version }),
        ...(version !== undefined && support && outOfSupport(version, support) ? { u: 1 as const } : {}),
      };
      yield tile;
    }
  })();
}

export function registerLivePage(
  app: FastifyInstance,
  opts: LivePageOptions,
): { close(): void; feed: LiveFeed } {
  const feed = new LiveFeed({
    tiles: () => tilesOf(opts.started.peek()?.clusters),
    eventsSince: (seq) => opts.events.since(seq, 10_000),
    chaos: opts.egressApiUrls.length > 0,
    maxLag: opts.feedMaxLag,
    maxBufferedBytes: 4 * 1024 * 1024,
  });

  const asset = (name: string) => async (_req: unknown, reply: FastifyReply) =>
    reply.type(ASSETS[name] ?? 'application/octet-stream').send(await readFile(`${PAGE_DIR}${name}`));
  app.get('/', asset('index.html'));
  app.get('/page/app.js', asset('app.js'));
  app.get('/page/style.css', asset('style.css'));

  app.get<{ Params: { key: string } }>('/arcfleet/v1/clusters/:key', async (request) => {
    const hub = opts.started.peek()?.clusters;
    const record = hub?.byKey(request.params.key);
    if (!hub || !record)
      throw new ArcError(ERROR_CODES.ResourceNotFound, `No cluster with key '${request.params.key}'.`, {
        status: 404,
        target: 'key',
      });
    return { resource: hub.render(record), transitions: record.transitions };
  });

  app.post('/arcfleet/v1/chaos', async (request, reply) => {
    if (opts.egressApiUrls.length === 0)
      throw new ArcError(ERROR_CODES.NotFound, 'This fleet has no egress gateway: chaos controls are off.', {
        status: 404,
      });
    // Every shard's gateway gets the action (each holds its own shard's connections); they select over
    // the same cluster store and answer alike, so the first answer is the page's.
    const body = JSON.stringify(request.body ?? {});
    const forward = async (base: string): Promise<Response> => {
      try {
        return await fetch(`${base}/v1/chaos`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        throw new ArcError(
          ERROR_CODES.ServiceUnavailable,
          `The egress gateway at ${base} is not reachable.`,
          {
            status: 503,
            cause: err,
          },
        );
      }
    };
    const answers = await Promise.all(opts.egressApiUrls.map(forward));
    const res = answers.find((r) => !r.ok) ?? (answers[0] as Response);
    await Promise.all(answers.filter((r) => r !== res).map((r) => r.body?.cancel()));
    return reply
      .status(res.status)
      .type('application/json')
      .send(await res.text());
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE });
  const reporter = new RateLimitedReporter(opts.logger, 10_000);
  const refused = (reason: 'path' | 'origin' | 'invalid_message', message: string): void => {
    opts.metrics.feedRejected.inc({ reason });
    reporter.report('hub.feed_refused', message, undefined, { key: reason, fields: { reason } });
  };
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if ((request.url ?? '').split('?')[0] !== FEED_PATH) {
      refused(
        'path',
        `An upgrade to ${(request.url ?? '').slice(0, 200)} was refused: only ${FEED_PATH} is a WebSocket.`,
      );
      answerRaw(socket, 404, {
        error: {
          code: ERROR_CODES.NotFound,
          message: `No WebSocket at ${(request.url ?? '').split('?')[0]}.`,
        },
      });
      return;
    }
    const refusal = originRefusal(request, opts.allowedOrigins);
    if (refusal !== undefined) {
      refused('origin', refusal);
      answerRaw(socket, 403, { error: { code: ERROR_CODES.Forbidden, message: refusal } });
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => attach(ws));
  };
  const attach = (ws: WebSocket): void => {
    const client: FeedClient = {
      send: (text) => ws.send(text),
      bufferedAmount: () => ws.bufferedAmount,
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary || feed.receive(client, String(data)) === 'invalid')
        refused('invalid_message', 'An invalid feed message from a client was ignored.');
    });
    ws.on('close', () => feed.disconnect(client));
    ws.on('error', (err: Error & { code?: string }) => {
      // A frame the protocol forbids (text that is not UTF-8, over the size limit, a bad opcode): ws
      // closes the connection (1007, 1009, 1002) and says why here.
      if (err.code?.startsWith('WS_ERR_'))
        refused(
          'invalid_message',
          `A feed client's frame was refused (${err.code}); its connection was closed.`,
        );
      feed.disconnect(client);
    });
    feed.connect(client);
  };
  app.server.on('upgrade', onUpgrade);
  let reported = feed.stats();
  const ticker = setInterval(() => {
    const stop = opts.metrics.feedTickSeconds.startTimer();
    feed.tick();
    stop();
    const now = feed.stats();
    opts.metrics.feedMessages.inc(now.messagesSent - reported.messagesSent);
    opts.metrics.feedBytes.inc(now.bytesSent - reported.bytesSent);
    opts.metrics.feedClients.set(now.clients);
    reported = now;
  }, opts.feedIntervalMs);
  ticker.unref();
  return {
    feed,
    close() {
      clearInterval(ticker);
      app.server.off('upgrade', onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
