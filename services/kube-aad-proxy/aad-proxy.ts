/**
 * kube-aad-proxy: what arrives through cluster connect is authenticated here, then sent on to the
 * cluster's apiserver as the user it names (`Impersonate-User`, `Impersonate-Group`); the user's token
 * stops here. clusterconnect-agent only relays: it hands each request to this proxy with its
 * `Authorization` header as the client sent it, and streams back whatever the proxy answers.
 *
 * One proxy process serves every cluster of its shard, each under `/clusters/<name>/…` like the
 * emulated apiserver; a cluster is served while its instance runs (the agent host starts one per
 * cluster, `arcfleet cluster stop-agents` stops it). It listens on the cluster side only (loopback, or
 * the on-prem network in compose): nothing from the cloud reaches it but what clusterconnect-agent
 * brings over its own outbound link.
 *
 * On a cluster with Azure RBAC on, guard authorizes each request first (a denial is the apiserver's
 * 403 "... is forbidden: User ... cannot ...: <guard's reason>").
 *
 * Refusals are Kubernetes Status objects with the right code (401 no or bad token, 403 another
 * cluster's token or a denial, 503 a cluster it does not serve, 413 a body over the cluster-connect
 * limit), counted by outcome and logged at a bounded rate.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  endToEndHeaders,
  forbiddenMessage,
  kubeRequestInfo,
  kubeStatus,
  MAX_REQUEST_BODY_BYTES,
} from '../../contract/index.js';
import type { AskGuard } from './guard-client.js';
import { readBody } from '../../agent-runtime/cluster-listener.js';
import { checkClusterUserToken } from '../../platform/cluster-user-token.js';
import type { Clock } from '../../platform/clock.js';

export const AGENT = 'kube-aad-proxy' as const;

/** What the proxy knows of a cluster it serves. */
export interface ServedCluster {
  /** `clusterKey` of the cluster: the audience its users' tokens must name. */
  readonly key: string;
  /** The hub's token-signing key, from the cluster's identity secret; undefined before onboarding. */
  readonly issuerSpki: string | undefined;
  /** Azure RBAC on: guard authorizes each request (guard-client.ts). */
  readonly azureRbac?: boolean;
}

export type ProxyOutcome = 'ok' | '401' | '403' | 'denied' | '413' | '503' | 'bad-request' | 'error';

export interface AadProxyOptions {
  readonly clock: Clock;
  /** The emulated apiserver's base URL; a cluster's API is `<url>/clusters/<name>`. */
  readonly apiserverUrl: string | undefined;
  readonly onOutcome?: (outcome: ProxyOutcome) => void;
  /** Asks guard about a request to a cluster with Azure RBAC on. */
  readonly guard?: AskGuard;
  /** Refusals and failures, for a rate-limited log. */
  readonly onRefusal?: (outcome: ProxyOutcome, message: string, cluster: string) => void;
}

const PREFIX = '/clusters/';

export class AadProxy {
  private readonly clusters = new Map<string, ServedCluster>();

  constructor(private readonly opts: AadProxyOptions) {}

  serve(name: string, cluster: ServedCluster): void {
    this.clusters.set(name, cluster);
  }

  forget(name: string): void {
    this.clusters.delete(name);
  }

  get served(): number {
    return this.clusters.size;
  }

  /** The HTTP handler: never throws, always answers. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    void this.proxy(req, res).catch((err: unknown) => {
      const message = `the cluster's apiserver could not be reached: ${err instanceof Error ? err.message : String(err)}`;
      this.refuse(res, 502, 'error', 'BadGateway', message, '');
    });
  }

  private async proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '';
    if (!url.startsWith(PREFIX)) {
      this.refuse(res, 404, 'bad-request', 'NotFound', 'requests are served under /clusters/<name>/', '');
      return;
    }
    const slash = url.indexOf('/', PREFIX.length);
    const rawName = url.slice(PREFIX.length, slash < 0 ? undefined : slash);
    const rest = slash < 0 ? '/' : url.slice(slash);
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      this.refuse(res, 400, 'bad-request', 'BadRequest', 'the cluster name is not a valid URL component', '');
      return;
    }
    const cluster = this.clusters.get(name);
    if (!cluster) {
      const message = `kube-aad-proxy is not running for cluster "${name}"`;
      this.refuse(res, 503, '503', 'ServiceUnavailable', message, name);
      return;
    }
    const auth = checkClusterUserToken(
      headerOf(req, 'authorization'),
      cluster.issuerSpki,
      cluster.key,
      this.opts.clock.now(),
    );
    if (!auth.ok) {
      const outcome = auth.status === 401 ? '401' : '403';
      const reason = auth.status === 401 ? 'Unauthorized' : 'Forbidden';
      this.refuse(res, auth.status, outcome, reason, auth.message, name);
      return;
    }
    if (cluster.azureRbac === true) {
      const info = kubeRequestInfo(req.method ?? 'GET', rest);
      if (info.kind === 'resource') {
        const answer = this.opts.guard
          ? await this.opts.guard(name, auth.claims, info)
          : { allowed: false, reason: 'no guard is configured' };
        if (!answer.allowed) {
          this.refuse(
            res,
            403,
            'denied',
            'Forbidden',
            forbiddenMessage(auth.claims.sub, info, answer.reason),
            name,
          );
          return;
        }
      }
    }
    if (this.opts.apiserverUrl === undefined) {
      this.refuse(res, 503, '503', 'ServiceUnavailable', 'the cluster has no apiserver configured', name);
      return;
    }
    // Up to the cluster-connect limit (the hub enforces it too).
    const body = await readBody(req, MAX_REQUEST_BODY_BYTES);
    if (body === 'too-large') {
      this.refuse(res, 413, '413', 'RequestEntityTooLarge', 'request body too large', name);
      return;
    }
    // The user's token stops here; the apiserver sees the user impersonated.
    // Nor can the client say who it is: any Impersonate-* header of its own is dropped.
    const headers = endToEndHeaders(
      Object.entries(req.headers).filter(([k]) => !k.toLowerCase().startsWith('impersonate-')),
      ['authorization'],
    );
    headers['impersonate-user'] = auth.claims.sub;
    if (auth.claims.groups.length > 0) headers['impersonate-group'] = auth.claims.groups.join(',');
    const abort = new AbortController();
    res.once('close', () => abort.abort(new Error('the client went away')));
    const upstream = await fetch(`${this.opts.apiserverUrl}${PREFIX}${encodeURIComponent(name)}${rest}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body.length > 0 ? { body: new Uint8Array(body) } : {}),
      signal: abort.signal,
    });
    res.writeHead(upstream.status, endToEndHeaders(upstream.headers.entries()));
    res.flushHeaders();
    try {
      if (upstream.body) {
        for await (const chunk of upstream.body as AsyncIterable<Uint8Array>) {
          if (!res.write(chunk)) await drained(res);
          if (abort.signal.aborted) return;
        }
      }
      res.end();
    } catch (err) {
      // The client closing a watch is how a watch ends, not a failure.
      if (!abort.signal.aborted) throw err;
    }
    this.opts.onOutcome?.('ok');
  }

  private refuse(
    res: ServerResponse,
    status: number,
    outcome: ProxyOutcome,
    reason: string,
    message: string,
    cluster: string,
  ): void {
    this.opts.onOutcome?.(outcome);
    this.opts.onRefusal?.(outcome, message, cluster);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(kubeStatus(status, reason, message)));
  }
}

/** Resolves when the client took what was written, or went away. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
