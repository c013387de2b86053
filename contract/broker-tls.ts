/**
 * The names an agent's TLS connection to the broker carries (NATS over TLS, issue 17 point 5):
 *
 * - the server name it sends (SNI) says which agent of which cluster is calling,
 *   `<base32 of the cluster name, in labels of at most 63>.<agent>.agents.arcfleet.internal`: the egress
 *   gateway, which stands where a cluster's firewall would and sees only ciphertext after the TLS
 *   handshake starts, reads it from the ClientHello (as firewalls filter on SNI) to apply the cluster's
 *   and the agent's rules. Base32 keeps the name's case and any of `_` and `.`, which DNS labels lack;
 * - the name it checks the broker's certificate against is `BROKER_TLS_NAME`, whatever host it dials
 *   (a gateway, a compose service, 127.0.0.1), so one certificate serves every path to the broker.
 *
 * Pure: no I/O.
 */

export const BROKER_TLS_NAME = 'broker.arcfleet.internal';
const AGENTS_SUFFIX = '.agents.arcfleet.internal';
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const MAX_LABEL = 63;

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

/** The SNI of `agent` of cluster `cluster` (its ARM name). */
export function agentServerName(agent: string, cluster: string): string {
  const encoded = base32(new TextEncoder().encode(cluster));
  const labels: string[] = [];
  for (let i = 0; i < encoded.length; i += MAX_LABEL) labels.push(encoded.slice(i, i + MAX_LABEL));
  return `${labels.join('.')}.${agent}${AGENTS_SUFFIX}`;
}

/** The agent and cluster an SNI names; undefined when it is not an agent's. */
export function parseAgentServerName(sni: string): { agent: string; cluster: string } | undefined {
  const name = sni.toLowerCase();
  if (!name.endsWith(AGENTS_SUFFIX)) return undefined;
  const labels = name.slice(0, -AGENTS_SUFFIX.length).split('.');
  const agent = labels.pop();
  if (!agent || labels.length === 0 || labels.some((l) => l.length === 0 || l.length > MAX_LABEL))
    return undefined;
  const bytes = unbase32(labels.join(''));
  if (!bytes) return undefined;
  try {
    return { agent, cluster: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return undefined;
  }
}
