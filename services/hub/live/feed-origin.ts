/**
 * Who may open the live feed. A browser sends the page's Origin with every WebSocket upgrade and,
 * unlike for a fetch, enforces nothing itself: without this check any site a user visits could open
 * the feed on the user's loopback hub and read the fleet (cross-site WebSocket hijacking). Same-origin
 * pages (the hub's own, on either port, behind any port mapping: the Origin's host is the Host the
 * browser dialled) and the origins an operator lists are let in; a client that is not a browser
 * sends no Origin and is let in too (it could send any Origin it liked).
 */
import type { IncomingMessage } from 'node:http';

/** Why an upgrade is refused, or undefined when it may proceed. */
export function originRefusal(request: IncomingMessage, allowed: readonly string[]): string | undefined {
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  if (allowed.includes('*') || allowed.includes(origin)) return undefined;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return `The Origin '${origin}' is not a URL.`;
  }
  if (host !== '' && host === request.headers.host) return undefined;
  return `The Origin '${origin}' may not open the live feed: only the hub's own page and ARCFLEET_HUB_ALLOWED_ORIGINS may.`;
}
