/**
 * A small typed ARM client for the hub's `Microsoft.Kubernetes/connectedClusters` API. ARM error
 * bodies (`{error:{code,message}}`) become ArcError with the code and the HTTP status.
 */
import { parse as parseYaml } from 'yaml';
import { waitFor } from '../../platform/wait.js';
import { AuthorizationClient } from './authorization-client.js';
import {
  ArcError,
  BOOTSTRAP_HEADERS,
  ERROR_CODES,
  type ErrorCode,
  CONNECTED_CLUSTER_TYPE,
  DEFAULT_API_VERSION,
  type ConnectedCluster,
  type ClusterRef,
  type FluxLogEntry,
} from '../../contract/index.js';

export const BOOTSTRAP_TOKEN_HEADER = BOOTSTRAP_HEADERS.token;

export interface ConnectedClusterPut {
  readonly location: string;
  readonly tags?: Record<string, string>;
  readonly identity: { readonly type: 'SystemAssigned' | 'None' };
  readonly properties: {
    readonly agentPublicKeyCertificate: string;
    readonly distribution?: string;
    readonly distributionVersion?: string;
    readonly infrastructure?: string;
    /** `agentAutoUpgrade` Enabled|Disabled, `desiredAgentVersion` (PUT only, as the spec allows). */
    readonly arcAgentProfile?: Readonly<Record<string, unknown>>;
  };
}

/** One agent release as `GET /arcfleet/v1/agentReleases` lists it. */
export interface AgentReleaseView {
  readonly version: string;
  readonly releasedAt: string;
  /** catalogue (built in), cadence (shipped by the monthly cadence) or published (by hand). */
  readonly source: 'catalogue' | 'cadence' | 'published';
  readonly supported: boolean;
}

export interface AgentReleaseList {
  readonly value: AgentReleaseView[];
  readonly latest: string | null;
  readonly oldestSupportedMinor: string | null;
  /** Connected clusters by the agent version they report (none yet: not counted). */
  readonly clustersByVersion: Record<string, number>;
  readonly outOfSupport: number;
}

export interface PutResult {
  readonly status: number;
  readonly resource: ConnectedCluster;
  readonly bootstrapToken: string | undefined;
  /** The onboarding user's broker JWT (with accounts on the broker). */
  readonly bootstrapJwt: string | undefined;
  readonly asyncOperation: string | undefined;
}

export interface ListBody {
  value: ConnectedCluster[];
  nextLink?: string;
}

/** A bearer token for the ARM API: the fleet owner's, or `user`'s (fleet/tokens.ts). */
export type TokenSource = (user?: string) => Promise<string>;

export interface HubClientOptions {
  readonly apiVersion?: string;
  /** Per-request timeout (real ms); default 30 s. */
  readonly timeoutMs?: number;
  /** Tokens for the `Authorization` header; none: calls go without one (a hub without token checks). */
  readonly token?: TokenSource;
}

const KNOWN_CODES = new Set<string>(Object.values(ERROR_CODES));

export interface HubSummary {
  readonly total: number;
  readonly connectivityStatus: Record<string, number>;
  readonly provisioningState: Record<string, number>;
  readonly timeScale: number;
  readonly timings: { readonly offlineThresholdMs: number; readonly heartbeatIntervalMs: number };
}

export class HubClient {
  readonly baseUrl: string;
  readonly apiVersion: string;
  /** Azure RBAC: role assignments and role definitions (`az role`). */
  readonly authorization: AuthorizationClient;
  private readonly timeoutMs: number;
  private readonly token: TokenSource | undefined;

  constructor(baseUrl: string, opts: HubClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.apiVersion = opts.apiVersion ?? DEFAULT_API_VERSION;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.token = opts.token;
    this.authorization = new AuthorizationClient(
      this.baseUrl,
      (method, url, body) => this.request(method, url, body),
      (ref) => this.clusterPath(ref),
    );
  }

  /** The `Authorization` header for `user` (default: the client's own caller). */
  async authHeaders(user?: string): Promise<Record<string, string>> {
    return this.token ? { authorization: `Bearer ${await this.token(user)}` } : {};
  }

  clusterPath(ref: ClusterRef): string {
    return `/subscriptions/${encodeURIComponent(ref.subscriptionId)}/resourceGroups/${encodeURIComponent(
      ref.resourceGroup,
    )}/providers/${CONNECTED_CLUSTER_TYPE}/${encodeURIComponent(ref.name)}`;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}${path.includes('?') ? '&' : '?'}api-version=${this.apiVersion}`;
  }

  async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  async putCluster(ref: ClusterRef, body: ConnectedClusterPut): Promise<PutResult> {
    const res = await this.request('PUT', this.url(this.clusterPath(ref)), body);
    return {
      status: res.status,
      resource: (await res.json()) as ConnectedCluster,
      bootstrapToken: res.headers.get(BOOTSTRAP_TOKEN_HEADER) ?? undefined,
      bootstrapJwt: res.headers.get(BOOTSTRAP_HEADERS.jwt) ?? undefined,
      asyncOperation: res.headers.get('azure-asyncoperation') ?? undefined,
    };
  }

  /**
   * `az group create` unless the group exists (read first: a PUT in another location is refused);
   * resolves true when it created it.
   */
  async ensureResourceGroup(subscriptionId: string, name: string, location: string): Promise<boolean> {
    const path = `/subscriptions/${encodeURIComponent(subscriptionId)}/resourcegroups/${encodeURIComponent(name)}`;
    try {
      await (await this.request('GET', this.url(path))).body?.cancel();
      return false;
    } catch (err) {
      if (!(err instanceof ArcError && err.status === 404)) throw err;
    }
    await (await this.request('PUT', this.url(path), { location })).body?.cancel();
    return true;
  }

  async getCluster(ref: ClusterRef): Promise<ConnectedCluster> {
    const res = await this.request('GET', this.url(this.clusterPath(ref)));
    return (await res.json()) as ConnectedCluster;
  }

  /** arcfleet's Flux logs of a cluster (or of one of its configurations), oldest first. */
  async fluxLogs(
    ref: ClusterRef,
    q: { configuration?: string; tail?: number; errorsOnly?: boolean } = {},
  ): Promise<FluxLogEntry[]> {
    const params = new URLSearchParams();
    if (q.configuration !== undefined) params.set('configuration', q.configuration);
    if (q.tail !== undefined) params.set('tail', String(q.tail));
    if (q.errorsOnly) params.set('level', 'error');
    const path = `/arcfleet/v1/subscriptions/${encodeURIComponent(ref.subscriptionId)}/resourceGroups/${encodeURIComponent(ref.resourceGroup)}/connectedClusters/${encodeURIComponent(ref.name)}/fluxLogs`;
    const res = await this.request('GET', `${this.baseUrl}${path}?${params.toString()}`);
    return ((await res.json()) as { value: FluxLogEntry[] }).value;
  }

  /** arcfleet's agent releases (`GET /arcfleet/v1/agentReleases`), newest first. */
  async agentReleases(): Promise<AgentReleaseList> {
    const res = await this.request('GET', `${this.baseUrl}/arcfleet/v1/agentReleases`);
    return (await res.json()) as AgentReleaseList;
  }

  /** Publishes an agent release (a version, or the next minor or patch); resolves with it. */
  async publishAgentRelease(body: { version?: string; bump?: 'minor' | 'patch' }): Promise<AgentReleaseView> {
    const res = await this.request('POST', `${this.baseUrl}/arcfleet/v1/agentReleases`, body);
    return (await res.json()) as AgentReleaseView;
  }

  /** Every extension type's release trains, published versions included (`GET /arcfleet/v1/extensionReleases`). */
  async extensionReleases(): Promise<
    Array<{ extensionType: string; releaseTrains: Record<string, string[]> }>
  > {
    const res = await this.request('GET', `${this.baseUrl}/arcfleet/v1/extensionReleases`);
    return (
      (await res.json()) as {
        value: Array<{ extensionType: string; releaseTrains: Record<string, string[]> }>;
      }
    ).value;
  }

  /** Publishes a version of an extension type on a release train (default Stable); resolves with it. */
  async publishExtensionRelease(body: {
    extensionType: string;
    releaseTrain?: string;
    version?: string;
    bump?: 'minor' | 'patch';
  }): Promise<{ extensionType: string; releaseTrain: string; version: string; releasedAt: string }> {
    const res = await this.request('POST', `${this.baseUrl}/arcfleet/v1/extensionReleases`, body);
    return (await res.json()) as {
      extensionType: string;
      releaseTrain: string;
      version: string;
      releasedAt: string;
    };
  }

  /** `GET /arcfleet/v1/summary`: counts by status and the fleet's time scale and Arc timings. */
  async summary(): Promise<HubSummary> {
    const res = await this.request('GET', `${this.baseUrl}/arcfleet/v1/summary`);
    return (await res.json()) as HubSummary;
  }

  /**
   * DELETE, and (`wait`, the default) follow its Location until the resource is gone, as
   * `az connectedk8s delete` does; resolves with the DELETE's status (202, or 204 when there was none).
   */
  async deleteCluster(ref: ClusterRef, opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<number> {
    const res = await this.request('DELETE', this.url(this.clusterPath(ref)));
    await res.body?.cancel();
    const location = res.headers.get('location');
    if (res.status !== 202 || !location || opts.wait === false) return res.status;
    await waitFor(
      async () => {
        const poll = await this.request('GET', location);
        await poll.body?.cancel();
        return poll.status;
      },
      {
        timeoutMs: opts.timeoutMs ?? 60_000,
        intervalMs: 100,
        until: (status) => status !== 202,
        message: `the DELETE of ${ref.name} to finish`,
      },
    );
    return res.status;
  }

  /** LIST by subscription (or resource group), following every nextLink; returns one combined body. */
  async listClusters(subscriptionId: string, resourceGroup?: string): Promise<ListBody> {
    const scope =
      resourceGroup === undefined
        ? `/subscriptions/${encodeURIComponent(subscriptionId)}`
        : `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}`;
    let next: string | undefined = this.url(`${scope}/providers/${CONNECTED_CLUSTER_TYPE}`);
    const value: ConnectedCluster[] = [];
    for (let pages = 0; next !== undefined && pages < 10_000; pages++) {
      const res = await this.request('GET', next);
      const body = (await res.json()) as ListBody;
      value.push(...body.value);
      next = body.nextLink ? new URL(body.nextLink, this.baseUrl).toString() : undefined;
    }
    return { value };
  }

  /** listClusterUserCredential (Token) for `user`: the kubeconfig, and the server and token in it. */
  async clusterUserCredential(
    ref: ClusterRef,
    user: string,
    clientProxy = false,
  ): Promise<{ kubeconfig: string; server: string; token: string }> {
    // The kubeconfig names the ARM caller: `user`'s token, as `az` signed in as that user would send.
    const res = await fetch(this.url(`${this.clusterPath(ref)}/listClusterUserCredential`), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await this.authHeaders(user)) },
      body: JSON.stringify({ authenticationMethod: 'Token', clientProxy }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (res.status >= 400) throw await errorFrom(res, 'POST');
    const body = (await res.json()) as { kubeconfigs: { name: string; value: string }[] };
    const first = body.kubeconfigs[0];
    if (!first)
      throw new ArcError(ERROR_CODES.InternalServerError, 'listClusterUserCredential returned no kubeconfig');
    const kubeconfig = Buffer.from(first.value, 'base64').toString('utf8');
    const parsed = parseYaml(kubeconfig) as {
      clusters?: { cluster?: { server?: string } }[];
      users?: { user?: { token?: string } }[];
    };
    return {
      kubeconfig,
      server: parsed.clusters?.[0]?.cluster?.server ?? '',
      token: parsed.users?.[0]?.user?.token ?? '',
    };
  }

  /** listClusterUserCredential (Token): the kubeconfig text, for `user`. */
  async clusterUserKubeconfig(ref: ClusterRef, user: string): Promise<string> {
    return (await this.clusterUserCredential(ref, user)).kubeconfig;
  }

  /** Any ARM call below the hub (child resources of a cluster); errors become ArcError. */
  async arm<T = unknown>(
    method: string,
    path: string,
    apiVersion: string,
    body?: unknown,
  ): Promise<{ status: number; body: T | undefined }> {
    const res = await this.request(method, `${this.baseUrl}${path}?api-version=${apiVersion}`, body);
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as T) };
  }

  /** A LIST below the hub, following every nextLink. */
  async armList<T = unknown>(path: string, apiVersion: string): Promise<T[]> {
    let next: string | undefined = `${this.baseUrl}${path}?api-version=${apiVersion}`;
    const value: T[] = [];
    for (let pages = 0; next !== undefined && pages < 10_000; pages++) {
      const res = await this.request('GET', next);
      const page = (await res.json()) as { value: T[]; nextLink?: string };
      value.push(...page.value);
      next = page.nextLink ? new URL(page.nextLink, this.baseUrl).toString() : undefined;
    }
    return value;
  }

  private async request(method: string, url: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchOnce(method, url, body).catch(async (err: unknown) => {
        // A kept-alive socket the hub closed as it was reused (its idle timeout and the client's pool
        // race, more so on a loaded machine): an idempotent request is sent again once, on a fresh
        // socket, as the Azure SDKs' retry policy would.
        if (!IDEMPOTENT.has(method) || !socketClosed(err)) throw err;
        return this.fetchOnce(method, url, body);
      });
    } catch (err) {
      throw new ArcError(
        ERROR_CODES.InternalServerError,
        `cannot reach the hub at ${this.baseUrl} (${causeMessage(err)}); is the fleet running? (arcfleet up)`,
        { status: 503, cause: err },
      );
    }
    if (res.status >= 400) throw await errorFrom(res, method);
    return res;
  }

  private async fetchOnce(method: string, url: string, body: unknown): Promise<Response> {
    const auth = await this.authHeaders();
    return fetch(url, {
      method,
      headers: body === undefined ? auth : { 'content-type': 'application/json', ...auth },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** undici's error for a socket closed under a request (`other side closed`, a reset). */
function socketClosed(err: unknown): boolean {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET';
}

function causeMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) return cause.message;
    return err.message;
  }
  return String(err);
}

async function errorFrom(res: Response, method: string): Promise<ArcError> {
  const text = await res.text();
  let code: string | undefined;
  let message: string | undefined;
  let target: string | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; target?: unknown } };
    if (typeof parsed.error?.code === 'string') code = parsed.error.code;
    if (typeof parsed.error?.message === 'string') message = parsed.error.message;
    if (typeof parsed.error?.target === 'string') target = parsed.error.target;
  } catch {
    // not JSON: fall through
  }
  const known: ErrorCode =
    code !== undefined && KNOWN_CODES.has(code)
      ? (code as ErrorCode)
      : res.status === 404
        ? ERROR_CODES.NotFound
        : ERROR_CODES.InternalServerError;
  const detail = message ?? (text.slice(0, 200) || res.statusText);
  const other = code !== undefined && code !== known ? ` ${code}` : '';
  return new ArcError(known, `${detail} (${method} → HTTP ${res.status}${other})`, {
    status: res.status,
    ...(target === undefined ? {} : { target }),
  });
}
