/**
 * One HTTP request exactly as the fuzzer made it (node:http, not fetch: fetch normalises paths and
 * refuses odd methods before they leave), and what came back. A request that gets no answer within
 * the deadline, or a connection reset, is reported as such: for the fuzzer those are failures.
 */
import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';

export interface WireRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | undefined;
}

export type WireResponse =
  | { readonly kind: 'answer'; readonly status: number; readonly contentType: string; readonly body: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface HttpTarget {
  readonly base: URL;
  readonly ca?: string | undefined;
  send(req: WireRequest, timeoutMs?: number): Promise<WireResponse>;
  close(): void;
}

/** Bodies are read up to this many bytes (an error body is small; a LIST may not be). */
const MAX_READ = 256 * 1024;

export function httpTarget(baseUrl: string, ca?: string): HttpTarget {
  const base = new URL(baseUrl);
  const tls = base.protocol === 'https:';
  // One kept-alive socket at a time: thousands of requests must not use thousands of ports.
  const agent = tls
    ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ...(ca ? { ca } : {}) })
    : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const send = (req: WireRequest, timeoutMs = 10_000): Promise<WireResponse> =>
    new Promise((resolve) => {
      const options = {
        host: base.hostname,
        port: base.port,
        method: req.method,
        path: req.path,
        agent,
        headers: {
          ...req.headers,
          ...(req.body !== undefined ? { 'content-length': String(req.body.length) } : {}),
        },
      };
      let done = false;
      const finish = (r: WireResponse): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(r);
      };
      let r: ReturnType<typeof httpRequest>;
      try {
        r = (tls ? httpsRequest : httpRequest)(options, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < MAX_READ) chunks.push(c);
            size += c.length;
          });
          res.on('end', () =>
            finish({
              kind: 'answer',
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', (err) => finish({ kind: 'failed', reason: `response: ${err.message}` }));
        });
      } catch (err) {
        // The client itself refused the request (a header value it cannot send): not the server's fault.
        resolve({ kind: 'failed', reason: `client: ${(err as Error).message}` });
        return;
      }
      const timer = setTimeout(() => {
        finish({ kind: 'failed', reason: `no answer within ${timeoutMs} ms` });
        r.destroy();
      }, timeoutMs);
      r.on('error', (err) => finish({ kind: 'failed', reason: `request: ${err.message}` }));
      r.end(req.body);
    });
  return { base, ca, send, close: () => agent.destroy() };
}

/** Whether a refusal body is ARM's `{"error":{"code","message"}}`. */
export function isArmError(body: string): boolean {
  try {
    const e = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    return typeof e?.code === 'string' && e.code !== '' && typeof e.message === 'string';
  } catch {
    return false;
  }
}

/** Whether a refusal body is a Kubernetes `Status` (kind Status, status Failure, a reason, the code). */
export function isKubeStatus(body: string, code: number): boolean {
  try {
    const s = JSON.parse(body) as Record<string, unknown>;
    return (
      s['kind'] === 'Status' &&
      s['apiVersion'] === 'v1' &&
      s['status'] === 'Failure' &&
      typeof s['reason'] === 'string' &&
      s['code'] === code
    );
  } catch {
    return false;
  }
}
