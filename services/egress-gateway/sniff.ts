/**
 * Identifies the agent and cluster of a connection from the first bytes its client sends after the
 * broker's INFO:
 * - over TLS (the default), the ClientHello's server name, `<cluster, base32>.<agent>.agents.…`
 *   (contract/broker-tls.ts): all a firewall can read of it;
 * - in plain TCP (`--plain-http`), the `CONNECT {json}\r\n` line, whose `name` is `<agent>/<cluster>`
 *   (AgentLink sets it).
 * Pure.
 */
import { z } from 'zod';
import { parseAgentServerName } from '../../contract/index.js';
import { looksLikeTls, readClientHello } from './client-hello.js';

/** Longest first line accepted (bytes); a CONNECT is a few hundred. */
export const MAX_CONNECT_LINE = 16 * 1024;

const CLUSTER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const ConnectJson = z.object({ name: z.string().min(3).max(200) });

export type SniffResult =
  | { readonly kind: 'more' }
  | {
      readonly kind: 'ok';
      readonly agent: string;
      readonly cluster: string;
      /** TLS: what follows is ciphertext (nothing in it can be read or counted). */
      readonly encrypted: boolean;
    }
  | { readonly kind: 'invalid'; readonly reason: string };

/** Looks at the bytes received so far from a client: a TLS ClientHello or a CONNECT line. */
export function identifyClient(buf: Buffer): SniffResult {
  return looksLikeTls(buf) ? sniffClientHello(buf) : sniffConnect(buf);
}

function sniffClientHello(buf: Buffer): SniffResult {
  const hello = readClientHello(buf);
  if (hello.kind !== 'ok') return hello;
  const named = parseAgentServerName(hello.serverName);
  if (!named || named.agent === '' || !CLUSTER_NAME.test(named.cluster))
    return { kind: 'invalid', reason: 'server name is not <cluster>.<agent>.agents.arcfleet.internal' };
  return { kind: 'ok', agent: named.agent, cluster: named.cluster, encrypted: true };
}

/** Looks at the bytes received so far from a client. */
export function sniffConnect(buf: Buffer): SniffResult {
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= MAX_CONNECT_LINE) return { kind: 'invalid', reason: 'first line too long' };
    const head = buf.subarray(0, 8).toString('latin1');
    if (!'CONNECT '.startsWith(head.toUpperCase()) && !head.toUpperCase().startsWith('CONNECT '))
      return { kind: 'invalid', reason: 'first line is not CONNECT' };
    return { kind: 'more' };
  }
  if (end > MAX_CONNECT_LINE) return { kind: 'invalid', reason: 'first line too long' };
  const line = buf.subarray(0, end).toString('utf8');
  const m = /^CONNECT\s+(\{.*\})\s*$/i.exec(line);
  if (!m) return { kind: 'invalid', reason: 'first line is not CONNECT {json}' };
  let json: unknown;
  try {
    json = JSON.parse(m[1] as string);
  } catch {
    return { kind: 'invalid', reason: 'CONNECT payload is not JSON' };
  }
  const parsed = ConnectJson.safeParse(json);
  if (!parsed.success) return { kind: 'invalid', reason: 'CONNECT has no connection name' };
  const parts = parsed.data.name.split('/');
  if (parts.length !== 2) return { kind: 'invalid', reason: 'connection name is not <agent>/<cluster>' };
  const [agent, cluster] = parts as [string, string];
  if (agent === '' || !CLUSTER_NAME.test(cluster))
    return { kind: 'invalid', reason: 'connection name is not <agent>/<cluster>' };
  return { kind: 'ok', agent, cluster, encrypted: false };
}
