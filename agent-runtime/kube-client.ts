/**
 * A small client of the emulated Kubernetes apiserver (services/kube-apiserver), for the agents:
 * typed get/list/create/replace/apply/delete by apiVersion + kind (paths from contract/kube-resources.ts)
 * and a raw pass-through for clusterconnect-agent. Node's global fetch; no retries except apply's one
 * retry on Conflict (a concurrent writer), since a caller knows better what a failure means to it.
 */
import {
  ArcError,
  ERROR_CODES,
  collectionPath,
  objectPath,
  resourceForKind,
  type KubeResource,
} from '../contract/index.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** A failure reported by the apiserver (a `Status` body) or of the request itself (reason `Unreachable`). */
export class KubeApiError extends ArcError {
  readonly httpStatus: number;
  readonly reason: string;

  constructor(message: string, opts: { httpStatus: number; reason: string; cause?: unknown }) {
    super(ERROR_CODES.KubeApiError, message, {
      status: opts.httpStatus,
      details: { reason: opts.reason },
      ...(opts.cause === undefined ? {} : { cause: opts.cause }),
    });
    this.name = 'KubeApiError';
    this.httpStatus = opts.httpStatus;
    this.reason = opts.reason;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class KubeClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  /** baseUrl: e.g. http://127.0.0.1:PORT/clusters/<name> */
  constructor(opts: { baseUrl: string; timeoutMs?: number; headers?: Record<string, string> }) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.headers = { ...opts.headers };
  }

  static forCluster(
    apiserverUrl: string,
    clusterName: string,
    opts: { timeoutMs?: number; headers?: Record<string, string> } = {},
  ): KubeClient {
    return new KubeClient({
      baseUrl: `${apiserverUrl.replace(/\/+$/, '')}/clusters/${encodeURIComponent(clusterName)}`,
      ...opts,
    });
  }

  async get(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<KubeObject | undefined> {
    const r = this.resource(apiVersion, kind);
    const res = await this.call('GET', objectPath(r, name, this.ns(r, namespace)));
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    return this.objectOf(res, 'GET');
  }

  async list(
    apiVersion: string,
    kind: string,
    opts: { namespace?: string; labelSelector?: string } = {},
  ): Promise<KubeObject[]> {
    const r = this.resource(apiVersion, kind);
    const query = opts.labelSelector ? `?labelSelector=${encodeURIComponent(opts.labelSelector)}` : '';
    const path = collectionPath(r, r.namespaced ? opts.namespace : undefined) + query;
    const body = await this.json(await this.call('GET', path), 'GET', path);
    const items = isRecord(body) && Array.isArray(body.items) ? body.items : undefined;
    if (!items)
      throw new KubeApiError(`GET ${path}: the answer is not a list`, {
        httpStatus: 502,
        reason: 'BadResponse',
      });
    return items.filter(isRecord).map((i) => ({ apiVersion, kind, ...i }) as KubeObject);
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    const r = this.resource(obj.apiVersion, obj.kind);
    const res = await this.call('POST', collectionPath(r, this.ns(r, obj.metadata.namespace)), obj);
    return this.objectOf(res, 'POST');
  }

  async replace(obj: KubeObject): Promise<KubeObject> {
    const r = this.resource(obj.apiVersion, obj.kind);
    const res = await this.call(
      'PUT',
      objectPath(r, obj.metadata.name, this.ns(r, obj.metadata.namespace)),
      obj,
    );
    return this.objectOf(res, 'PUT');
  }

  /**
   * Create or update: get → create, or replace with the current resourceVersion; one retry on
   * Conflict (someone wrote in between). For a namespaced kind the namespace is created first when
   * missing.
   */
  async apply(obj: KubeObject): Promise<KubeObject> {
    const r = this.resource(obj.apiVersion, obj.kind);
    const namespace = this.ns(r, obj.metadata.namespace);
    if (r.namespaced && namespace !== undefined) await this.ensureNamespace(namespace);
    for (let attempt = 0; ; attempt++) {
      try {
        const current = await this.get(obj.apiVersion, obj.kind, obj.metadata.name, namespace);
        if (!current) return await this.create({ ...obj, metadata: { ...obj.metadata, namespace } });
        return await this.replace({
          ...obj,
          metadata: { ...obj.metadata, namespace, resourceVersion: current.metadata.resourceVersion },
        });
      } catch (err) {
        const retry =
          err instanceof KubeApiError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists');
        if (!retry || attempt >= 1) throw err;
      }
    }
  }

  async delete(apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
    const r = this.resource(apiVersion, kind);
    const res = await this.call('DELETE', objectPath(r, name, this.ns(r, namespace)));
    if (res.status === 404) {
      await res.body?.cancel();
      return false;
    }
    await this.json(res, 'DELETE', objectPath(r, name, namespace));
    return true;
  }

  /** Raw pass-through used by clusterconnect-agent: streams the response. */
  request(
    method: string,
    pathAndQuery: string,
    init: { headers?: Record<string, string>; body?: Uint8Array; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const path = pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`;
    return fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...this.headers, ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
  }

  private async ensureNamespace(namespace: string): Promise<void> {
    if (await this.get('v1', 'Namespace', namespace)) return;
    try {
      await this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.reason === 'AlreadyExists')) throw err;
    }
  }

  private resource(apiVersion: string, kind: string): KubeResource {
    const r = resourceForKind(apiVersion, kind);
    if (!r)
      throw new KubeApiError(`${kind} (${apiVersion}) is not served by the emulated apiserver`, {
        httpStatus: 404,
        reason: 'NotFound',
      });
    return r;
  }

  /** Namespaced kinds default to `default`, as kubectl does. */
  private ns(r: KubeResource, namespace: string | undefined): string | undefined {
    return r.namespaced ? (namespace ?? 'default') : undefined;
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...this.headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new KubeApiError(
        `${method} ${this.baseUrl}${path}: ${err instanceof Error ? err.message : String(err)}`,
        {
          httpStatus: 503,
          reason: 'Unreachable',
          cause: err,
        },
      );
    }
  }

  private async objectOf(res: Response, method: string): Promise<KubeObject> {
    const body = await this.json(res, method, new URL(res.url).pathname);
    if (!isRecord(body) || !isRecord(body.metadata) || typeof body.metadata.name !== 'string')
      throw new KubeApiError(`${method} ${res.url}: the answer is not an object`, {
        httpStatus: 502,
        reason: 'BadResponse',
      });
    return body as KubeObject;
  }

  /** The parsed body of a 2xx answer; a KubeApiError from the Status of any other. */
  private async json(res: Response, method: string, path: string): Promise<unknown> {
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new KubeApiError(`${method} ${path}: ${err instanceof Error ? err.message : String(err)}`, {
        httpStatus: 503,
        reason: 'Unreachable',
        cause: err,
      });
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.ok) return body;
    const status = isRecord(body) ? body : {};
    const reason =
      typeof status.reason === 'string' && status.reason !== '' ? status.reason : `Http${res.status}`;
    const message = typeof status.message === 'string' ? status.message : text.slice(0, 200);
    throw new KubeApiError(`${method} ${path}: ${res.status} ${reason}: ${message}`, {
      httpStatus: res.status,
      reason,
    });
  }
}
