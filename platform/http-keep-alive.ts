/**
 * How long our HTTP servers keep an idle kept-alive connection open.
 *
 * A server closing an idle socket races a client sending its next request on it: the client sees
 * `other side closed` (or ECONNRESET) on a request the server never read. Node's default is 5 s, and
 * undici (the `fetch` of Node) reuses a socket for up to a second or two less than the server's
 * `Keep-Alive: timeout` hint, so on a loaded machine, whose timers fire late, a client often loses
 * that race (the bench's 1,000 onboarding PUTs did). Fastify's own default, which a `serverFactory`
 * (the hub's) does not get, is 72 s: longer than the load balancers in front of real services and
 * rare enough to idle that long that the race all but disappears. Go clients (kubectl, Prometheus)
 * retry an idempotent request that met a closed idle socket by themselves.
 */
import type { Server } from 'node:http';

export const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** Applies the keep-alive timeout (and a headers timeout above it, as Node requires) to `server`. */
export function keepIdleConnections<S extends Pick<Server, 'keepAliveTimeout' | 'headersTimeout'>>(
  server: S,
): S {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Node closes a connection whose next request's headers take longer than this, counted from the
  // socket's last activity: it must exceed the idle time we allow, or a kept socket dies early.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  return server;
}
