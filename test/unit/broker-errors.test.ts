import { describe, expect, it } from 'vitest';
import { BrokerErrorScanner } from '../../services/egress-gateway/broker-errors.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('counting the broker-reported permission violations in the server → client stream', () => {
  it('finds publish and subscription violations, not other errors', () => {
    const s = new BrokerErrorScanner();
    const found = s.feed(
      b(
        'INFO {"server_id":"x","nonce":"abc"}\r\n+OK\r\nPING\r\n' +
          '-ERR \'Permissions Violation for Publish to "arc.v1.b.rg.c2.resource-sync-agent.heartbeat"\'\r\n' +
          '-ERR \'Permissions Violation for Subscription to ">"\'\r\n' +
          "-ERR 'Authorization Violation'\r\n",
      ),
    );
    expect(found).toEqual([
      { operation: 'publish', subject: 'arc.v1.b.rg.c2.resource-sync-agent.heartbeat' },
      { operation: 'subscribe', subject: '>' },
    ]);
  });

  it('skips message payloads by their size, so a payload saying "-ERR" is not counted', () => {
    const s = new BrokerErrorScanner();
    const payload = '\r\n-ERR \'Permissions Violation for Publish to "x"\'\r\n';
    const hdr = 'NATS/1.0\r\nA: b\r\n\r\n';
    const found = s.feed(
      b(
        `MSG arcctl.v1.a.rg.c1 1 ${payload.length}\r\n${payload}\r\n` +
          `HMSG _INBOX.a.rg.c1.x 2 ${hdr.length} ${hdr.length + payload.length}\r\n${hdr}${payload}\r\nPONG\r\n`,
      ),
    );
    expect(found).toEqual([]);
    expect(s.desynchronised).toBe(false);
  });

  it('follows lines and payloads split across chunks, byte by byte', () => {
    const s = new BrokerErrorScanner();
    const stream =
      'MSG a 1 5\r\nhello\r\n' +
      '-ERR \'Permissions Violation for Subscription to "_INBOX.b.>"\'\r\n' +
      'PING\r\n';
    const found = [...stream].flatMap((ch) => s.feed(b(ch)));
    expect(found).toEqual([{ operation: 'subscribe', subject: '_INBOX.b.>' }]);
  });

  it('gives up (counts nothing more) on a stream that is not NATS, without growing', () => {
    const s = new BrokerErrorScanner();
    expect(s.feed(Buffer.alloc(70 * 1024, 65))).toEqual([]);
    expect(s.desynchronised).toBe(true);
    expect(s.feed(b('-ERR \'Permissions Violation for Publish to "x"\'\r\n'))).toEqual([]);
    const bad = new BrokerErrorScanner();
    bad.feed(b('MSG a 1 notasize\r\n'));
    expect(bad.desynchronised).toBe(true);
  });
});
