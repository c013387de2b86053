/**
 * The broker nodes the gateway dials for agent connections: every node of a NATS cluster serves every
 * client, so new connections go round-robin over them (spreading one shard's connections over the
 * nodes), and a node that refused a dial is passed over for a while, so the agents' reconnects land
 * on the live ones at once instead of trying the dead node in turn.
 *
 *   const u = new Upstreams([{ host: '127.0.0.1', port: 4222 }, …]);
 *   const node = u.next();          // dial it
 *   u.failed(node);                 // it refused: skipped for `downForMs`
 *   const socket = await connectUpstream(u, { cancelled: () => client.destroyed });
 */
import { connect as dial, type Socket } from 'node:net';

export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/** Real ms a node that refused a connection is skipped (unless every node is). */
const DEFAULT_DOWN_FOR_MS = 5000;

export class Upstreams {
  private cursor = 0;
  private readonly downUntil = new Map<Upstream, number>();

  constructor(
    readonly all: readonly Upstream[],
    private readonly opts: { readonly downForMs?: number; readonly now?: () => number } = {},
  ) {
    if (all.length === 0) throw new Error('the gateway needs at least one broker node');
  }

  /** The next node to dial: round-robin over the nodes not marked down (all of them if none is up). */
  next(): Upstream {
    const now = (this.opts.now ?? Date.now)();
    for (let tried = 0; tried < this.all.length; tried++) {
      const u = this.all[this.cursor++ % this.all.length] as Upstream;
      if ((this.downUntil.get(u) ?? 0) <= now) return u;
    }
    return this.all[this.cursor++ % this.all.length] as Upstream;
  }

  /** A dial to `u` failed: skip it for a while. */
  failed(u: Upstream): void {
    this.downUntil.set(u, (this.opts.now ?? Date.now)() + (this.opts.downForMs ?? DEFAULT_DOWN_FOR_MS));
  }

  /** A dial to `u` succeeded. */
  ok(u: Upstream): void {
    this.downUntil.delete(u);
  }
}

/**
 * Real ms a dial may take before its node counts as down and the next one is tried. A live node on
 * loopback or a LAN accepts in milliseconds; a dead one may never answer at all (its address gone, a
 * DNS lookup of a removed container timing out), and an agent waiting on it would miss heartbeats.
 */
export const DIAL_TIMEOUT_MS = 1000;

/**
 * Connects to a broker node: the next one, and on a refusal or no answer within `timeoutMs` the next
 * one after it, each node at most once. NATS servers speak first (INFO), so nothing has reached the
 * agent yet and the retry is invisible to it. Rejects with the last node's error when none answers.
 */
export function connectUpstream(
  upstreams: Upstreams,
  opts: { readonly timeoutMs?: number; readonly cancelled?: () => boolean } = {},
): Promise<Socket> {
  const timeoutMs = opts.timeoutMs ?? DIAL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let left = upstreams.all.length;
    const attempt = (): void => {
      const node = upstreams.next();
      const socket = dial({ host: node.host, port: node.port, noDelay: true });
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.on('error', () => undefined).destroy();
        upstreams.failed(node);
        if (--left > 0 && opts.cancelled?.() !== true) attempt();
        else reject(err);
      };
      const timer = setTimeout(
        () => fail(new Error(`${node.host}:${node.port} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('error', fail);
      socket.once('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off('error', fail);
        upstreams.ok(node);
        resolve(socket);
      });
    };
    attempt();
  });
}

/** `nats://a:1,nats://b:2` → the nodes; undefined when an entry is not `nats://host[:port]`. */
export function parseUpstreams(natsUrl: string): Upstream[] | undefined {
  const out: Upstream[] = [];
  for (const url of natsUrl.split(',')) {
    const m = /^nats:\/\/([^:/\s,]+)(?::(\d+))?\/?$/.exec(url);
    if (!m) return undefined;
    out.push({ host: m[1] as string, port: m[2] === undefined ? 4222 : Number(m[2]) });
  }
  return out;
}
