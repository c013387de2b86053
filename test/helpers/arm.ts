/**
 * A tiny ARM client over fetch for the hub's connectedClusters API: every call returns the status,
 * headers and parsed JSON, so tests can assert codes and bodies of failures as well as successes.
 */
import {
  CONNECTED_CLUSTER_TYPE,
  DEFAULT_API_VERSION,
  type ConnectedCluster,
  type ClusterRef,
} from '../../contract/index.js';
import { waitFor } from '../../platform/wait.js';
import { metricSum } from '../../bench/fuzz/metrics-text.js';

export interface ArmResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON body; undefined for an empty body; the raw text when it is not JSON. */
  readonly body: T;
  readonly text: string;
}

export interface ArmErrorBody {
  error: { code: string; message: string; target?: string };
}

export interface ListBody {
  value: ConnectedCluster[];
  nextLink?: string;
}

export interface RequestOptions {
  /** `null` sends no api-version at all. Default: the client's. */
  readonly apiVersion?: string | null;
  readonly body?: unknown;
  /** Sent verbatim instead of JSON.stringify(body). */
  readonly rawBody?: string;
  readonly contentType?: string;
  readonly query?: Record<string, string>;
  /** Sent instead of the client's bearer token; `null`: no Authorization header at all. */
  readonly authorization?: string | null;
}

export class ArmClient {
  constructor(
    readonly baseUrl: string,
    readonly apiVersion: string = DEFAULT_API_VERSION,
    /** The caller's bearer token (the fleet owner's); none: no Authorization header. */
    readonly token?: () => Promise<string>,
  ) {}

  /** The Authorization header this client sends, as a header object for raw fetch calls. */
  async authHeaders(): Promise<Record<string, string>> {
    return this.token ? { authorization: `Bearer ${await this.token()}` } : {};
  }

  clusterPath(ref: ClusterRef): string {
    return `${this.groupPath(ref.subscriptionId, ref.resourceGroup)}/${encodeURIComponent(ref.name)}`;
  }

  groupPath(subscriptionId: string, resourceGroup: string): string {
    return `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}/providers/${CONNECTED_CLUSTER_TYPE}`;
  }

  /** `az group create`: ARM refuses resources under a group that was never created. */
  async createGroup(subscriptionId: string, name: string, location = 'westeurope'): Promise<void> {
    const res = await this.request(
      'PUT',
      `/subscriptions/${encodeURIComponent(subscriptionId)}/resourcegroups/${encodeURIComponent(name)}`,
      { body: { location } },
    );
    if (res.status !== 200 && res.status !== 201)
      throw new Error(`PUT resource group ${name}: ${res.status} ${res.text}`);
  }

  subscriptionPath(subscriptionId: string): string {
    return `/subscriptions/${encodeURIComponent(subscriptionId)}/providers/${CONNECTED_CLUSTER_TYPE}`;
  }

  /** `pathOrUrl` is a path on the hub or an absolute URL (nextLink, Azure-AsyncOperation). */
  async request<T = unknown>(
    method: string,
    pathOrUrl: string,
    opts: RequestOptions = {},
  ): Promise<ArmResponse<T>> {
    const url = new URL(pathOrUrl, this.baseUrl);
    const apiVersion = opts.apiVersion === undefined ? this.apiVersion : opts.apiVersion;
    if (apiVersion !== null && !url.searchParams.has('api-version'))
      url.searchParams.set('api-version', apiVersion);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> =
      opts.authorization === null
        ? {}
        : opts.authorization !== undefined
          ? { authorization: opts.authorization }
          : await this.authHeaders();
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, headers: res.headers, body: parsed as T, text };
  }

  put(ref: ClusterRef, body: unknown, opts: RequestOptions = {}): Promise<ArmResponse<ConnectedCluster>> {
    return this.request<ConnectedCluster>('PUT', this.clusterPath(ref), { ...opts, body });
  }

  get(ref: ClusterRef, opts: RequestOptions = {}): Promise<ArmResponse<ConnectedCluster>> {
    return this.request<ConnectedCluster>('GET', this.clusterPath(ref), opts);
  }

  patch(ref: ClusterRef, body: unknown, opts: RequestOptions = {}): Promise<ArmResponse<ConnectedCluster>> {
    return this.request<ConnectedCluster>('PATCH', this.clusterPath(ref), { ...opts, body });
  }

  delete(ref: ClusterRef, opts: RequestOptions = {}): Promise<ArmResponse> {
    return this.request('DELETE', this.clusterPath(ref), opts);
  }

  /**
   * DELETE, then follow its Location (as the SDKs do: final-state-via location) until it stops
   * answering 202: the DELETE's own response (202 while it runs) and the last poll's (204: gone).
   */
  async deleteAndWait(
    ref: ClusterRef,
    opts: RequestOptions & { timeoutMs?: number } = {},
  ): Promise<{ first: ArmResponse; final: ArmResponse }> {
    const first = await this.delete(ref, opts);
    const location = first.headers.get('location');
    if (first.status !== 202 || !location) return { first, final: first };
    const final = await waitFor(() => this.request('GET', location), {
      timeoutMs: opts.timeoutMs ?? 30_000,
      intervalMs: 50,
      until: (r) => r.status !== 202,
      message: `the DELETE of ${ref.name} to finish`,
    });
    return { first, final };
  }

  listPage(pathOrUrl: string, opts: RequestOptions = {}): Promise<ArmResponse<ListBody>> {
    return this.request<ListBody>('GET', pathOrUrl, opts);
  }

  /** Follows nextLink to the end; returns every resource and the number of pages. */
  async listAll(pathOrUrl: string): Promise<{ value: ConnectedCluster[]; pages: number }> {
    const value: ConnectedCluster[] = [];
    let next: string | undefined = pathOrUrl;
    let pages = 0;
    while (next !== undefined) {
      const res: ArmResponse<ListBody> = await this.listPage(next);
      if (res.status !== 200) throw new Error(`LIST ${next} answered ${res.status}: ${res.text}`);
      value.push(...res.body.value);
      pages++;
      next = res.body.nextLink;
      if (pages > 10_000) throw new Error('nextLink never ends');
    }
    return { value, pages };
  }

  listSubscription(subscriptionId: string): Promise<{ value: ConnectedCluster[]; pages: number }> {
    return this.listAll(this.subscriptionPath(subscriptionId));
  }

  /** GET of a cluster that must exist. */
  async cluster(ref: ClusterRef): Promise<ConnectedCluster> {
    const res = await this.get(ref);
    if (res.status !== 200) throw new Error(`GET ${ref.name} answered ${res.status}: ${res.text}`);
    return res.body;
  }

  /** The hub's /metrics text. */
  async metrics(): Promise<string> {
    const res = await fetch(new URL('/metrics', this.baseUrl), { signal: AbortSignal.timeout(10_000) });
    return res.text();
  }
}

/** Value of one Prometheus sample (0 when absent): `metricValue(text, 'x_total', { reason: 'A' })`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  return metricSum(text, name, (have) => Object.entries(labels).every(([k, v]) => have[k] === v));
}
