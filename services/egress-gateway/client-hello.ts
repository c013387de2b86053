/**
 * The server name (SNI) of a TLS ClientHello, read from the first bytes a client sends after the
 * broker's INFO: all the gateway can see of an agent connection once NATS runs over TLS. Handles the
 * ClientHello in one TLS record (a Node client's is a few hundred bytes; a record holds 16 KiB). Pure.
 *
 *   record:     type 22 (handshake), version (2), length (2)
 *   handshake:  type 1 (ClientHello), length (3), version (2), random (32), session id (1 + n),
 *               cipher suites (2 + n), compression methods (1 + n), extensions (2 + n)
 *   extension:  type (2), length (2); server_name (type 0): list length (2), name type 0, length (2), name
 */

export type HelloResult =
  | { readonly kind: 'more' }
  | { readonly kind: 'ok'; readonly serverName: string }
  | { readonly kind: 'invalid'; readonly reason: string };

const RECORD_HEADER = 5;
const MAX_RECORD = 16 * 1024 + 256;

/** Whether these first bytes can be a TLS handshake record (a NATS client's would be `CONNECT`). */
export function looksLikeTls(buf: Buffer): boolean {
  return buf.length > 0 && buf[0] === 22;
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}
  ok(n: number): boolean {
    return this.pos + n <= this.end;
  }
  u8(): number {
    return this.buf.readUInt8(this.pos++);
  }
  u16(): number {
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  skip(n: number): void {
    this.pos += n;
  }
}

export function readClientHello(buf: Buffer): HelloResult {
  if (buf.length < RECORD_HEADER) return looksLikeTls(buf) ? { kind: 'more' } : invalid('not a TLS record');
  if (buf[0] !== 22) return invalid('not a TLS handshake record');
  const length = buf.readUInt16BE(3);
  if (length > MAX_RECORD) return invalid('TLS record too long');
  if (buf.length < RECORD_HEADER + length) return { kind: 'more' };
  const r = new Reader(buf, RECORD_HEADER, RECORD_HEADER + length);
  if (!r.ok(4) || r.u8() !== 1) return invalid('not a ClientHello');
  r.skip(3); // handshake length: the record bounds what follows
  if (!r.ok(2 + 32 + 1)) return invalid('ClientHello too short');
  r.skip(2 + 32);
  const skipVector = (lengthBytes: 1 | 2): boolean => {
    if (!r.ok(lengthBytes)) return false;
    const n = lengthBytes === 1 ? r.u8() : r.u16();
    if (!r.ok(n)) return false;
    r.skip(n);
    return true;
  };
  if (!skipVector(1) || !skipVector(2) || !skipVector(1)) return invalid('ClientHello truncated');
  if (!r.ok(2)) return invalid('ClientHello has no extensions (no server name)');
  const extEnd = r.pos + 2 + r.u16();
  if (extEnd > RECORD_HEADER + length) return invalid('ClientHello extensions truncated');
  while (r.pos + 4 <= extEnd) {
    const type = r.u16();
    const size = r.u16();
    if (r.pos + size > extEnd) return invalid('ClientHello extension truncated');
    if (type !== 0) {
      r.skip(size);
      continue;
    }
    const sni = new Reader(buf, r.pos, r.pos + size);
    if (!sni.ok(2 + 1 + 2)) return invalid('server_name extension truncated');
    sni.skip(2);
    if (sni.u8() !== 0) return invalid('server_name is not a host name');
    const n = sni.u16();
    if (!sni.ok(n)) return invalid('server_name truncated');
    const name = buf.subarray(sni.pos, sni.pos + n).toString('latin1');
    if (!/^[a-zA-Z0-9.-]{1,253}$/.test(name)) return invalid('server_name is not a host name');
    return { kind: 'ok', serverName: name };
  }
  return invalid('ClientHello has no server name (SNI)');
}

function invalid(reason: string): HelloResult {
  return { kind: 'invalid', reason };
}
