/**
 * compose's hub-front (deploy/compose/hub-front.mjs), run as the real process: it forwards HTTP to the
 * target, fails a connection at once while no replica accepts (rather than leaving the client hanging),
 * and serves again as soon as one does, with no restart of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const FRONT = fileURLToPath(new URL('../../deploy/compose/hub-front.mjs', import.meta.url));
let front: ChildProcess | undefined;
let replica: Server | undefined;

afterEach(() => {
  front?.kill('SIGKILL');
  replica?.close();
  replica?.closeAllConnections();
});

const startReplica = (port: number, body: string): Promise<Server> =>
  new Promise((resolve) => {
    const s = createServer((_req, res) => res.end(body));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

/** One request on a fresh connection: the body, or the error's code. */
const get = (url: string): Promise<string> =>
  fetch(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(3000) }).then(
    (r) => r.text(),
    (e: Error & { cause?: { code?: string } }) => `error ${e.cause?.code ?? e.name}`,
  );

it('forwards to the replica, fails fast while none accepts, and serves again once one does', async () => {
  const [frontPort, replicaPort] = [await freePort(), await freePort()];
  replica = await startReplica(replicaPort, 'replica A');
  front = spawn(process.execPath, [FRONT], {
    env: {
      PATH: process.env.PATH,
      HUB_FRONT_PORT: String(frontPort),
      HUB_FRONT_TARGET: `127.0.0.1:${replicaPort}`,
    },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${frontPort}/readyz`;
  await waitFor(() => get(url), { until: (b) => b === 'replica A', timeoutMs: 5000, message: 'forwarded' });

  await new Promise((r) => replica?.close(r));
  const started = Date.now();
  expect(await get(url)).toMatch(/^error /);
  expect(Date.now() - started).toBeLessThan(2000);

  replica = await startReplica(replicaPort, 'replica B');
  expect(await get(url)).toBe('replica B');
});

it('forwards each route of HUB_FRONT_ROUTES to its own port, and refuses a malformed route', async () => {
  const [httpsFront, pageFront, httpsPort, pagePort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  replica = await startReplica(httpsPort, 'api port');
  const page = await startReplica(pagePort, 'page port');
  try {
    front = spawn(process.execPath, [FRONT], {
      env: {
        PATH: process.env.PATH,
        HUB_FRONT_ROUTES: `${httpsFront}=127.0.0.1:${httpsPort},${pageFront}=127.0.0.1:${pagePort}`,
      },
      stdio: 'ignore',
    });
    for (const [port, body] of [
      [httpsFront, 'api port'],
      [pageFront, 'page port'],
    ] as const)
      await waitFor(() => get(`http://127.0.0.1:${port}/`), {
        until: (b) => b === body,
        timeoutMs: 5000,
        message: `route ${port}`,
      });
  } finally {
    page.close();
    page.closeAllConnections();
  }
  const bad = spawn(process.execPath, [FRONT], {
    env: { PATH: process.env.PATH, HUB_FRONT_ROUTES: '8080=hub' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  bad.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((r) => bad.once('exit', r));
  expect(code).not.toBe(0);
  expect(stderr).toContain('HUB_FRONT_ROUTES: "8080=hub" is not <port>=<host>:<port>');
});
