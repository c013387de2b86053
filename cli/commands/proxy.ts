/**
 * `arcfleet proxy NAME`: what `az connectedk8s proxy` does. It gets the user's credential from
 * listClusterUserCredential (`clientProxy: true`), listens on loopback (default port 47011, like the
 * az CLI) and forwards every request to the hub's cluster-connect endpoint with the token added, so
 * any Kubernetes tool works with a kubeconfig that holds no secret: kubectl, for one, does not send
 * a bearer token to a plain-http server, and through the local proxy it needs none.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { endToEndHeaders, ArcError, ERROR_CODES, type ClusterRef } from '../../contract/index.js';
import type { HubClient } from '../../fleet/clients/hub-client.js';
import { loadContext } from '../context.js';
import { fleetOptions, intArg, type GlobalOpts, type Print } from './options.js';

/** The az CLI's default client proxy port. */
export const DEFAULT_PROXY_PORT = 47011;

export interface ClientProxy {
  readonly url: string;
  readonly port: number;
  /** The kubeconfig pointing at this proxy (no credentials in it). */
  readonly kubeconfig: string;
  close(): Promise<void>;
}

export async function startClientProxy(
  client: HubClient,
  ref: ClusterRef,
  opts: { port?: number; user?: string; kubeconfigFile?: string } = {},
): Promise<ClientProxy> {
  const credential = await client.clusterUserCredential(ref, opts.user ?? 'clusterUser', true);
  const upstream = credential.server;
  const token = credential.token;
  const server = createServer((req, res) => void forward(req, res, upstream, token));
  const port = await listen(server, opts.port ?? DEFAULT_PROXY_PORT);
  const url = `http://127.0.0.1:${port}`;
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: ref.name, cluster: { server: url } }],
    users: [{ name: `clusterUser_${ref.resourceGroup}_${ref.name}`, user: {} }],
    contexts: [
      {
        name: ref.name,
        context: { cluster: ref.name, user: `clusterUser_${ref.resourceGroup}_${ref.name}` },
      },
    ],
    'current-context': ref.name,
  });
  if (opts.kubeconfigFile !== undefined) await writeFile(opts.kubeconfigFile, kubeconfig, { mode: 0o600 });
  return {
    url,
    port,
    kubeconfig,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        reject(
          new ArcError(
            ERROR_CODES.PortInUse,
            `[AZK8S0801] ClientProxyPortInUse: port ${port} is already in use; stop what holds it or pass --port`,
            { status: 409, target: '--port' },
          ),
        );
      else reject(err);
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: string,
  token: string,
): Promise<void> {
  const headers = endToEndHeaders(Object.entries(req.headers), ['authorization']);
  headers['authorization'] = `Bearer ${token}`;
  // The client reaches the cluster at this proxy's root (the OpenAPI v3 index names URLs below it).
  headers['x-forwarded-prefix'] = '/';
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  try {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const answer = await fetch(`${upstream}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      signal: abort.signal,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
    } as RequestInit);
    // fetch has already decoded the body: the encoding header no longer describes it.
    res.writeHead(answer.status, endToEndHeaders(answer.headers.entries(), ['content-encoding']));
    if (answer.body) for await (const chunk of answer.body as AsyncIterable<Uint8Array>) res.write(chunk);
    res.end();
  } catch (err) {
    if (abort.signal.aborted) return;
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          reason: 'BadGateway',
          code: 502,
          message: `the client proxy could not reach the hub: ${err instanceof Error ? err.message : String(err)}`,
        }),
      );
    } else res.destroy();
  }
}

/** Adds `proxy` to the program. */
export function registerProxyCommand(program: Command, print: Print): void {
  fleetOptions(program.command('proxy').argument('<name>'))
    .option('--port <port>', 'local port', intArg(0, 65535), DEFAULT_PROXY_PORT)
    .option('--file <path>', 'write the kubeconfig for the proxy here', 'arcfleet-proxy.kubeconfig')
    .option('--user <user>', 'the user the token is for', 'clusterUser')
    .description(
      'az connectedk8s proxy: a local proxy to the cluster through cluster connect (Ctrl-C stops it)',
    )
    .action(async (name: string, o: GlobalOpts & { port: number; file: string; user: string }) => {
      const ctx = await loadContext(o);
      const proxy = await startClientProxy(ctx.client, await ctx.ref(name), {
        port: o.port,
        user: o.user,
        kubeconfigFile: o.file,
      });
      print(`Proxy is listening on ${proxy.url} for ${name}; kubeconfig: ${o.file}`);
      print(`Try: kubectl --kubeconfig ${o.file} get pods -n azure-arc   (Ctrl-C stops the proxy)`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await proxy.close();
    });
}
