/**
 * NATS connection helper: reconnect forever with jittered backoff, every connection event logged.
 */
import { checkServerIdentity, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import { connect, type ConnectionOptions, type NatsConnection, type Status, type TlsOptions } from 'nats';
import { BROKER_TLS_NAME } from '../contract/index.js';
import { ReconnectBackoff } from './backoff.js';
import { userAuthenticator, type UserCredentials } from './broker-keys.js';
import type { Logger } from './log.js';
import { closeAbandonedConnects } from './nats-transport.js';

closeAbandonedConnects();

export interface NatsConnectOptions {
  /** One URL, or every node's of a NATS cluster, comma-separated. */
  readonly url: string;
  readonly name: string;
  readonly logger: Logger;
  /** Base wait between reconnect attempts (real ms). */
  readonly reconnectTimeWaitMs?: number;
  /** Random extra wait added to each attempt (real ms), so a fleet does not reconnect in one burst. */
  readonly reconnectJitterMs?: number;
  /** Keep trying to make the FIRST connection too (agents start before the broker is reachable). */
  readonly waitOnFirstConnect?: boolean;
  readonly pingIntervalMs?: number;
  readonly maxPingOut?: number;
  /** Exponential backoff with full jitter between reconnect attempts (replaces time wait + jitter). */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  /** Real ms before a (re)connection handshake is abandoned (nats.js `timeout`, default 20 s). */
  readonly connectTimeoutMs?: number;
  /** The NATS user to connect as (a `.creds` file's content, parsed); none: anonymous. */
  readonly credentials?: UserCredentials | undefined;
  /**
   * The fleet CA (PEM) the broker's certificate is checked against: the connection runs over TLS. None:
   * plain TCP (a fleet started with `--plain-http`).
   */
  readonly ca?: string | undefined;
  /** The server name sent (SNI) when `ca` is given; default BROKER_TLS_NAME (agents send their own). */
  readonly serverName?: string;
  readonly extra?: Partial<ConnectionOptions>;
  /**
   * Every status event, after it is logged. One `nc.status()` iterator per connection costs ~4 KiB of
   * heap (a pending promise chain); an agent process holds one connection per cluster, so its own
   * status handling goes here rather than in a second iterator.
   */
  readonly onStatus?: (s: Status) => void;
}

export async function connectNats(opts: NatsConnectOptions): Promise<NatsConnection> {
  const backoff = opts.backoff ? new ReconnectBackoff(opts.backoff) : undefined;
  const nc = await connect({
    servers: opts.url.split(','),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnect: true,
    reconnectTimeWait: opts.reconnectTimeWaitMs ?? 1000,
    reconnectJitter: opts.reconnectJitterMs ?? 1000,
    waitOnFirstConnect: opts.waitOnFirstConnect ?? true,
    pingInterval: opts.pingIntervalMs ?? 20_000,
    maxPingOut: opts.maxPingOut ?? 3,
    // No stack captured per request for async error traces: a process of thousands of links sends a
    // request per link every few seconds, and our failures are classified, not read from stacks.
    noAsyncTraces: true,
    ...(opts.connectTimeoutMs === undefined ? {} : { timeout: opts.connectTimeoutMs }),
    ...(backoff ? { reconnectDelayHandler: () => backoff.waitMs() } : {}),
    ...(opts.credentials
      ? { authenticator: userAuthenticator(() => opts.credentials as UserCredentials) }
      : {}),
    ...(opts.ca === undefined ? {} : { tls: brokerTls(opts.ca, opts.serverName) }),
    ...opts.extra,
  });
  void watchStatus(nc, opts.logger, opts.name, backoff, opts.onStatus);
  return nc;
}

/**
 * nats.js TLS options for the fleet's broker (contract/broker-tls.ts): trust only the fleet CA, send
 * `serverName` as SNI, and check the certificate against BROKER_TLS_NAME whatever host was dialled (a
 * gateway, a compose service name, 127.0.0.1), so one certificate serves every path to the broker.
 * nats.js passes these through to `tls.connect` after the server's plaintext INFO.
 */
export function brokerTls(ca: string, serverName: string = BROKER_TLS_NAME): TlsOptions {
  const options = {
    secureContext: secureContextFor(ca),
    servername: serverName,
    checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(BROKER_TLS_NAME, cert),
  };
  return options as TlsOptions;
}

/**
 * One TLS context per CA for the whole process: building one parses the CA (~0.35 ms), and an agent
 * process opens a connection per cluster, again at every reconnect.
 */
const contexts = new Map<string, SecureContext>();
function secureContextFor(ca: string): SecureContext {
  let context = contexts.get(ca);
  if (!context) contexts.set(ca, (context = createSecureContext({ ca })));
  return context;
}

async function watchStatus(
  nc: NatsConnection,
  logger: Logger,
  name: string,
  backoff: ReconnectBackoff | undefined,
  onStatus: ((s: Status) => void) | undefined,
): Promise<void> {
  try {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect') backoff?.reset();
      // pingTimer fires on every ping interval of every connection: noise at fleet scale.
      const level =
        s.type === 'error' || s.type === 'disconnect' ? 'warn' : s.type === 'pingTimer' ? 'debug' : 'info';
      const data = typeof s.data === 'string' || typeof s.data === 'number' ? s.data : undefined;
      logger[level]({ event: `nats.${s.type}`, connection: name, data }, `nats ${s.type}`);
      onStatus?.(s);
    }
  } catch (err) {
    logger.warn({ event: 'nats.status_error', connection: name, err }, 'nats status stream ended');
  }
}
