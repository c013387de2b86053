/** Free ports and waiting for a listener. */
import { createConnection, createServer } from 'node:net';
import { ArcError, ERROR_CODES } from '../contract/index.js';

/** A port the OS says is free right now (bind to 0, read it back, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Throws PortInUse naming the flag that chose the port. */
export async function assertPortFree(port: number, what: string, host = '127.0.0.1'): Promise<void> {
  if (!(await isPortFree(port, host)))
    throw new ArcError(
      ERROR_CODES.PortInUse,
      `port ${port} (${what}) is already in use on ${host}; choose another port or omit the option to pick a free one`,
      { status: 409, target: what },
    );
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
