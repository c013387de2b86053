/**
 * clusterconnect-agent, per cluster: over its own outbound NATS link it takes the HTTP exchanges the
 * hub forwards (contract/cluster-connect.ts) and relays each to kube-aad-proxy in the cluster, bearer
 * token and all, streaming the answer back. It checks nobody and impersonates nobody: kube-aad-proxy
 * authenticates the token and sends the request on to the apiserver as its user
 * (services/kube-aad-proxy/). Nothing listens: the agent only subscribes on the connection it dialled.
 */
import type { Msg, Subscription } from 'nats';
import { headers as natsHeaders } from 'nats';
import type { AgentFactory, ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import {
  CREDIT_WINDOW,
  FRAME_BYTES,
  FRAME_HEADER,
  MAX_REQUEST_BODY_BYTES,
  PING_INTERVAL_MS,
  connectSubjects,
  endToEndHeaders,
  creditFrameSchema,
  kubeStatus,
  parseFrameJson,
  openFrameSchema,
  type OpenFrame,
  ERROR_CODES,
  clusterKey,
} from '../../contract/index.js';
import type { Clock } from '../../platform/clock.js';
import { KubeClient } from '../../agent-runtime/kube-client.js';
import type { Logger } from '../../platform/log.js';
import { LinkedAgent } from '../../agent-runtime/linked-agent.js';

export const AGENT = 'clusterconnect-agent' as const;

export interface ConnectAgentOptions {
  readonly clock: Clock;
  /** kube-aad-proxy's base URL (`ARCFLEET_KUBE_AAD_PROXY_URL`); undefined: answer 503. */
  readonly proxyUrl: string | undefined;
  /** Streams served at once per cluster (default 64); beyond, 429. */
  readonly maxStreams?: number;
  readonly onStream?: (outcome: string) => void;
}

export function connectAgentFactory(opts: ConnectAgentOptions): AgentFactory {
  return (ctx, snapshot) => {
    const server = new ConnectServer(ctx.logger, opts, snapshot);
    // Closing the instance takes the link down, which detaches the server and aborts its streams.
    return new LinkedAgent(ctx, snapshot, {
      onLinkUp: (link) => server.attach(link),
      onLinkDown: (reason) => server.detach(reason),
      onSnapshot: (s) => server.setSnapshot(s),
    });
  };
}

interface Stream {
  readonly open: OpenFrame;
  readonly body: Buffer[];
  bodyBytes: number;
  started: boolean;
  credit: number;
  creditWaiter: (() => void) | undefined;
  readonly abort: AbortController;
}

/** The per-cluster stream multiplexer: pure of NATS except for the link it is attached to. */
export class ConnectServer {
  private link: AgentLink | undefined;
  private sub: Subscription | undefined;
  private readonly streams = new Map<string, Stream>();
  private client: KubeClient | undefined;

  constructor(
    private readonly log: Logger,
    private readonly opts: ConnectAgentOptions,
    private snapshot: ClusterSnapshot,
  ) {}

  get activeStreams(): number {
    return this.streams.size;
  }

  setSnapshot(snapshot: ClusterSnapshot): void {
    this.snapshot = snapshot;
  }

  private get key(): string {
    const { subscriptionId, resourceGroup, name } = this.snapshot.state;
    return clusterKey({ subscriptionId, resourceGroup, name });
  }

  attach(link: AgentLink): void {
    this.detach('re-attached');
    this.link = link;
    if (this.opts.proxyUrl !== undefined)
      this.client = KubeClient.forCluster(this.opts.proxyUrl, this.snapshot.name);
    this.sub = link.subscribeRaw(connectSubjects.all(this.key), (msg) => this.onMessage(msg));
  }

  detach(reason: string): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.link = undefined;
    for (const s of this.streams.values()) s.abort.abort(new Error(reason));
    this.streams.clear();
  }

  private onMessage(msg: Msg): void {
    try {
      if (msg.subject.endsWith('.open')) this.onOpen(msg);
      else this.onStreamFrame(msg);
    } catch (err) {
      this.log.warn(
        { event: 'connect.frame_failed', subject: msg.subject, err },
        'cluster connect frame failed',
      );
    }
  }

  private onOpen(msg: Msg): void {
    const parsed = openFrameSchema.safeParse(parseFrameJson(msg.data));
    if (!parsed.success) {
      this.opts.onStream?.('invalid');
      this.log.warn(
        { event: 'connect.open_invalid', issue: parsed.error.issues[0]?.message },
        'invalid cluster connect open frame ignored',
      );
      return; // no ack: the hub times out, as it would for a broken agent
    }
    const open = parsed.data;
    msg.respond(Buffer.from(JSON.stringify({ ok: true })));
    if (this.streams.size >= (this.opts.maxStreams ?? 64)) {
      this.answerStatus(
        open,
        429,
        'TooManyRequests',
        'too many cluster connect requests in flight for this cluster',
      );
      return;
    }
    const stream: Stream = {
      open,
      body: [],
      bodyBytes: 0,
      started: false,
      credit: CREDIT_WINDOW,
      creditWaiter: undefined,
      abort: new AbortController(),
    };
    this.streams.set(open.streamId, stream);
    if (!open.hasBody) this.start(stream);
  }

  private onStreamFrame(msg: Msg): void {
    const id = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    const stream = this.streams.get(id);
    if (!stream) return;
    const kind = msg.headers?.get(FRAME_HEADER) ?? '';
    if (kind === 'data' && !stream.started) {
      stream.bodyBytes += msg.data.length;
      if (stream.bodyBytes > MAX_REQUEST_BODY_BYTES) {
        this.streams.delete(id);
        this.answerStatus(stream.open, 413, 'RequestEntityTooLarge', 'request body too large');
        return;
      }
      stream.body.push(Buffer.from(msg.data));
    } else if (kind === 'end' && !stream.started) this.start(stream);
    else if (kind === 'credit') {
      const c = creditFrameSchema.safeParse(parseFrameJson(msg.data));
      stream.credit += c.success ? c.data.frames : 0;
      const w = stream.creditWaiter;
      stream.creditWaiter = undefined;
      w?.();
    } else if (kind === 'cancel') {
      stream.abort.abort(new Error('cancelled by the client'));
      this.streams.delete(id);
      stream.creditWaiter?.();
    }
  }

  private send(open: OpenFrame, kind: string, payload: Uint8Array = new Uint8Array()): boolean {
    const h = natsHeaders();
    h.set(FRAME_HEADER, kind);
    return this.link?.publishRaw(connectSubjects.answer(this.key, open.streamId), payload, h) ?? false;
  }

  private answerStatus(open: OpenFrame, status: number, reason: string, message: string): void {
    this.send(
      open,
      'head',
      Buffer.from(JSON.stringify({ status, headers: { 'content-type': 'application/json' } })),
    );
    this.send(open, 'data', Buffer.from(JSON.stringify(kubeStatus(status, reason, message))));
    this.send(open, 'end');
  }

  private start(stream: Stream): void {
    stream.started = true;
    void this.serve(stream)
      .catch((err: unknown) => {
        if (stream.abort.signal.aborted) return;
        this.log.warn({ event: 'connect.stream_failed', err }, 'cluster connect request failed');
        this.send(
          stream.open,
          'error',
          Buffer.from(
            JSON.stringify({
              status: 502,
              code: ERROR_CODES.KubeApiError,
              message: `kube-aad-proxy could not be reached: ${err instanceof Error ? err.message : String(err)}`,
            }),
          ),
        );
        this.opts.onStream?.('error');
      })
      .finally(() => this.streams.delete(stream.open.streamId));
  }

  private async serve(stream: Stream): Promise<void> {
    const { open } = stream;
    if (!this.client) {
      this.answerStatus(open, 503, 'ServiceUnavailable', 'the cluster has no kube-aad-proxy configured');
      return;
    }
    // Relayed as the client sent it: the token is kube-aad-proxy's to check.
    const headers = endToEndHeaders(Object.entries(open.headers));
    const body = stream.body.length > 0 ? Buffer.concat(stream.body) : undefined;
    const res = await this.client.request(open.method, open.path, {
      headers,
      ...(body ? { body: new Uint8Array(body) } : {}),
      signal: stream.abort.signal,
    });
    const head = endToEndHeaders(res.headers.entries());
    this.send(open, 'head', Buffer.from(JSON.stringify({ status: res.status, headers: head })));
    const ping = setInterval(() => this.send(open, 'ping'), PING_INTERVAL_MS);
    ping.unref();
    try {
      if (res.body) {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          for (let off = 0; off < chunk.length; off += FRAME_BYTES) {
            while (stream.credit <= 0 && !stream.abort.signal.aborted)
              await new Promise<void>((resolve) => (stream.creditWaiter = resolve));
            if (stream.abort.signal.aborted) return;
            stream.credit--;
            this.send(open, 'data', chunk.subarray(off, off + FRAME_BYTES));
          }
        }
      }
      if (!stream.abort.signal.aborted) this.send(open, 'end');
      this.opts.onStream?.('ok');
    } finally {
      clearInterval(ping);
    }
  }
}
