// nats.js 2.x leaves the socket of a connection attempt its timeout abandoned mid-TLS-handshake
// (nats-io/nats.js#64); platform/nats-transport.ts closes it. A server that sends INFO asking for TLS
// and then holds every byte (as the egress gateway does for a cut cluster) sees whether it is closed.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { connect } from 'nats';
import { closeAbandonedConnects } from '../../platform/nats-transport.js';
import { waitFor } from '../helpers/wait.js';

let server: Server | undefined;
afterEach(() => server?.close());

async function holdingServer(): Promise<{ port: number; open: () => number }> {
  const sockets = new Set<Socket>();
  server = createServer((s) => {
    sockets.add(s);
    s.resume(); // read (and drop) what arrives, so a close is noticed
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write(
      `INFO ${JSON.stringify({ server_id: 'x', version: '2.9.0', proto: 1, tls_required: true, max_payload: 1048576 })}\r\n`,
    );
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, open: () => sockets.size };
}

it('closes the socket of a TLS connect its timeout abandoned', async () => {
  closeAbandonedConnects();
  const { port, open } = await holdingServer();
  const attempt = connect({
    servers: `nats://127.0.0.1:${port}`,
    timeout: 300,
    reconnect: false,
    tls: { servername: 'broker.arcfleet.internal' } as never,
  });
  await expect(attempt).rejects.toMatchObject({ code: 'TIMEOUT' });
  await waitFor(() => open(), {
    timeoutMs: 2000,
    until: (n) => n === 0,
    message: 'the abandoned socket closed',
  });
});
