/**
 * The live fleet feed behind the hub's page (`/arcfleet/v1/feed`, WebSocket). On connect a client gets
 * a snapshot (every cluster as a small tile, counts, recent transitions); then, every feed interval in
 * which something changed, one delta with the next sequence number (tiles changed or removed, counts,
 * new transitions). Deltas are computed once per interval for every client, so the cost does not grow
 * with the number of changes, and a 10,000-cluster fleet costs one O(N) diff per interval.
 *
 * Clients acknowledge what they have processed (`{"type":"ack","seq":N}`). A client more than `maxLag`
 * messages behind, or with more than `maxBufferedBytes` unsent on its socket, is sent nothing more until
 * it catches up (acks the last message it was sent); then it gets a fresh snapshot instead of the
 * deltas it missed. A client that sees a gap in the sequence asks for one (`{"type":"resync"}`).
 * Pure apart from the injected clients: no sockets here.
 */
import type { FleetEvent } from '../connected-clusters/event-log.js';

export interface Tile {
  /** Cluster key (subscription.resourcegroup.name, lower-cased): stable id of a tile. */
  readonly k: string;
  readonly n: string;
  /** connectivityStatus */
  readonly s: string;
  /** provisioningState */
  readonly p: string;
  readonly l: string;
  readonly d: string;
  /** arcAgentProfile.agentState, when metrics-agent has reported. */
  readonly a?: string;
  /** The agent version the cluster reports (its metadata), once it has. */
  readonly v?: string;
  /** 1: the agents are out of support (more than N-2 minors behind the latest release). */
  readonly u?: 1;
}

export interface FeedCounts {
  readonly connectivityStatus: Record<string, number>;
  readonly provisioningState: Record<string, number>;
  /** Clusters by agent version: a release's rollout. */
  readonly agentVersion: Record<string, number>;
  /** Clusters whose agents are out of support. */
  readonly outOfSupport: number;
}

export type FeedMessage =
  | {
      readonly type: 'snapshot';
      readonly seq: number;
      readonly clusters: readonly Tile[];
      readonly counts: FeedCounts;
      readonly events: readonly FleetEvent[];
      readonly chaos: boolean;
    }
  | {
      readonly type: 'delta';
      readonly seq: number;
      readonly upsert: readonly Tile[];
      readonly remove: readonly string[];
      readonly counts: FeedCounts;
      readonly events: readonly FleetEvent[];
    };

/** What the feed needs of a connected client. */
export interface FeedClient {
  send(text: string): void;
  /** Bytes queued on the socket, not yet written. */
  bufferedAmount(): number;
}

export interface LiveFeedOptions {
  readonly tiles: () => Iterable<Tile>;
  /** Transitions after a sequence number (the hub's events log). */
  readonly eventsSince: (seq: number) => { events: FleetEvent[]; lastSeq: number };
  readonly chaos: boolean;
  readonly maxLag: number;
  readonly maxBufferedBytes: number;
  /** Transitions in a snapshot. */
  readonly recentEvents?: number;
}

interface ClientState {
  /** Last seq sent to it. */
  sent: number;
  /** Last seq it acknowledged. */
  acked: number;
  behind: boolean;
}

export interface FeedStats {
  readonly clients: number;
  readonly behind: number;
  readonly seq: number;
  readonly messagesSent: number;
  readonly bytesSent: number;
  readonly snapshotsSent: number;
}

export class LiveFeed {
  private seq = 0;
  private tiles = new Map<string, Tile>();
  private counts: FeedCounts = {
    connectivityStatus: {},
    provisioningState: {},
    agentVersion: {},
    outOfSupport: 0,
  };
  private lastEventSeq = 0;
  private readonly recent: FleetEvent[] = [];
  private readonly clients = new Map<FeedClient, ClientState>();
  private messagesSent = 0;
  private bytesSent = 0;
  private snapshotsSent = 0;

  constructor(private readonly opts: LiveFeedOptions) {
    this.lastEventSeq = opts.eventsSince(0).lastSeq;
    this.rebuild();
  }

  /** Computes what changed since the last tick and sends it (one delta) to every client up to date. */
  tick(): void {
    // Nobody watching: no O(N) diff four times a second. A client's connect ticks first, so its
    // snapshot is of now and holds the transitions of the unwatched time (recent ones, as always).
    if (this.clients.size === 0) return;
    this.diff();
  }

  private diff(): void {
    const next = new Map<string, Tile>();
    const upsert: Tile[] = [];
    for (const t of this.opts.tiles()) {
      next.set(t.k, t);
      const old = this.tiles.get(t.k);
      if (!old || !sameTile(old, t)) upsert.push(t);
    }
    const remove = [...this.tiles.keys()].filter((k) => !next.has(k));
    const { events, lastSeq } = this.opts.eventsSince(this.lastEventSeq);
    this.lastEventSeq = lastSeq;
    this.tiles = next;
    this.counts = countTiles(next.values());
    this.remember(events);
    if (upsert.length === 0 && remove.length === 0 && events.length === 0) return;
    this.seq++;
    const text = JSON.stringify({
      type: 'delta',
      seq: this.seq,
      upsert,
      remove,
      counts: this.counts,
      events,
    } satisfies FeedMessage);
    for (const [client, state] of this.clients) {
      if (state.behind) continue;
      if (
        state.sent - state.acked >= this.opts.maxLag ||
        client.bufferedAmount() > this.opts.maxBufferedBytes
      ) {
        // Falling behind: stop here; it gets a snapshot once it has caught up with what it was sent.
        state.behind = true;
        continue;
      }
      this.send(client, state, text, this.seq);
    }
  }

  connect(client: FeedClient): void {
    // Catch up first: a snapshot as of the last interval could be one interval older than what the
    // client just read from the ARM API (the other clients get that change as their usual delta).
    this.diff();
    const state: ClientState = { sent: 0, acked: 0, behind: false };
    this.clients.set(client, state);
    this.sendSnapshot(client, state);
  }

  disconnect(client: FeedClient): void {
    this.clients.delete(client);
  }

  /** A message from a client: `{"type":"ack","seq":N}` or `{"type":"resync"}`; anything else is ignored. */
  receive(client: FeedClient, text: string): 'ok' | 'invalid' {
    const state = this.clients.get(client);
    if (!state) return 'invalid';
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return 'invalid';
    }
    if (typeof msg !== 'object' || msg === null) return 'invalid';
    const m = msg as { type?: unknown; seq?: unknown };
    if (m.type === 'resync') {
      this.sendSnapshot(client, state);
      return 'ok';
    }
    if (m.type === 'ack' && typeof m.seq === 'number' && Number.isInteger(m.seq)) {
      state.acked = Math.max(state.acked, Math.min(m.seq, state.sent));
      if (state.behind && state.acked >= state.sent && client.bufferedAmount() <= this.opts.maxBufferedBytes)
        this.sendSnapshot(client, state);
      return 'ok';
    }
    return 'invalid';
  }

  stats(): FeedStats {
    let behind = 0;
    for (const s of this.clients.values()) if (s.behind) behind++;
    return {
      clients: this.clients.size,
      behind,
      seq: this.seq,
      messagesSent: this.messagesSent,
      bytesSent: this.bytesSent,
      snapshotsSent: this.snapshotsSent,
    };
  }

  private sendSnapshot(client: FeedClient, state: ClientState): void {
    state.behind = false;
    const text = JSON.stringify({
      type: 'snapshot',
      seq: this.seq,
      clusters: [...this.tiles.values()],
      counts: this.counts,
      events: this.recent,
      chaos: this.opts.chaos,
    } satisfies FeedMessage);
    this.snapshotsSent++;
    this.send(client, state, text, this.seq);
    // A snapshot is a fresh start: the lag counts from it.
    state.acked = this.seq;
  }

  private send(client: FeedClient, state: ClientState, text: string, seq: number): void {
    state.sent = seq;
    client.send(text);
    this.messagesSent++;
    this.bytesSent += text.length;
  }

  private rebuild(): void {
    for (const t of this.opts.tiles()) this.tiles.set(t.k, t);
    this.counts = countTiles(this.tiles.values());
  }

  private remember(events: readonly FleetEvent[]): void {
    const max = this.opts.recentEvents ?? 50;
    this.recent.push(...events);
    if (this.recent.length > max) this.recent.splice(0, this.recent.length - max);
  }
}

function sameTile(a: Tile, b: Tile): boolean {
  return (
    a.s === b.s &&
    a.p === b.p &&
    a.a === b.a &&
    a.l === b.l &&
    a.d === b.d &&
    a.n === b.n &&
    a.v === b.v &&
    a.u === b.u
  );
}

export function countTiles(tiles: Iterable<Tile>): FeedCounts {
  const connectivityStatus: Record<string, number> = {};
  const provisioningState: Record<string, number> = {};
  const agentVersion: Record<string, number> = {};
  let outOfSupport = 0;
  for (const t of tiles) {
    connectivityStatus[t.s] = (connectivityStatus[t.s] ?? 0) + 1;
    provisioningState[t.p] = (provisioningState[t.p] ?? 0) + 1;
    if (t.v !== undefined) agentVersion[t.v] = (agentVersion[t.v] ?? 0) + 1;
    if (t.u) outOfSupport++;
  }
  return { connectivityStatus, provisioningState, agentVersion, outOfSupport };
}
