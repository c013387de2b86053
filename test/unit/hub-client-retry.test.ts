/**
 * HubClient against a real HTTP server that closes the socket under the first request of each kind
 * (what a kept-alive socket closed by the server's idle timeout looks like to the client): an
 * idempotent request (PUT, GET, DELETE) is sent once more and succeeds; a POST is not sent twice.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HubClient } from '../../fleet/clients/hub-client.js';

let server: Server;
let base: string;
const seen: string[] = [];

beforeAll(async () => {
  const dropped = new Set<string>();
  server = createServer((req, res) => {
    seen.push(req.method ?? '');
    // The first request of each method: the socket closes with no answer.
    if (!dropped.has(req.method ?? '')) {
      dropped.add(req.method ?? '');
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

it('sends an idempotent request again once when the socket closed under it', async () => {
  const client = new HubClient(base, { timeoutMs: 5000 });
  await expect(client.arm('PUT', '/x', '2024-01-01', { a: 1 })).resolves.toMatchObject({
    status: 200,
    body: { ok: true },
  });
  await expect(client.arm('GET', '/x', '2024-01-01')).resolves.toMatchObject({ status: 200 });
  expect(seen.filter((m) => m === 'PUT')).toHaveLength(2);
});

it('does not send a POST twice: the error names the hub', async () => {
  const client = new HubClient(base, { timeoutMs: 5000 });
  await expect(client.arm('POST', '/x', '2024-01-01', {})).rejects.toThrow(/cannot reach the hub/);
  expect(seen.filter((m) => m === 'POST')).toHaveLength(1);
});
