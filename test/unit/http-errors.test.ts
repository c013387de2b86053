/**
 * Requests Node's parser refuses (platform/http-errors.ts): answered in the service's shape and counted;
 * a HEAD's answer carries no body (the fuzzer found HEAD clients failing on one with "Data after
 * Connection: close").
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientErrorResponder } from '../../platform/http-errors.js';

let server: Server;
const counted: number[] = [];

beforeAll(async () => {
  server = createServer((_req, res) => res.end('ok'));
  server.on(
    'clientError',
    clientErrorResponder(
      (status, message) => ({ error: { code: 'InvalidParameter', message, status } }),
      (status) => counted.push(status),
    ),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Sends raw bytes and reads until the server closes. */
function raw(bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
    s.end(bytes);
  });
}

describe('requests the parser refuses', () => {
  it('answers 400 in the given shape and counts it', async () => {
    const before = counted.length;
    const res = await raw(Buffer.from('GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
    expect(res).toMatch(/^HTTP\/1\.1 400 /);
    const body = res.split('\r\n\r\n')[1] ?? '';
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'InvalidParameter', status: 400 } });
    expect(counted.slice(before)).toEqual([400]);
  });

  it('answers a HEAD with the headers alone', async () => {
    const res = await raw(Buffer.from('HEAD /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'));
    expect(res).toMatch(/^HTTP\/1\.1 400 /);
    expect(res).toMatch(/Content-Length: \d+/);
    expect(res.endsWith('\r\n\r\n')).toBe(true);
  });
});
