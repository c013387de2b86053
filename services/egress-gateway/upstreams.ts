/**
 * The broker nodes the gateway dials for agent connections: every node of a NATS cluster serves every
 * client, so new connections go round-robin over them (spreading one shard's connections over the
 * nodes), and a node that refused a dial is passed over for a while, so the agents' reconnects land
 * on the live ones at once instead of trying the dead node in turn.
 *
 *   const u = new Upstreams([{ host: '127.0.0.1', port: 4222 }, …]);
 *   const node = u.next();          // dial it
 *   u.failed(node);                 // it refused: skipped for `downForMs`
 */
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
