/**
 * The socket side of the gateway: accepts agent connections, dials nats-server for each, learns the
 * agent and cluster from the client's first bytes (its TLS server name, or its CONNECT line in plain
 * TCP: sniff.ts), and pipes bytes both ways under the cluster's current mode.
 *
 * - drop: bytes are held (not delivered, not lost, like a firewall dropping packets TCP will resend)
 *   up to `holdBytes` per connection, then the connection is silently destroyed; sockets stay open;
 *   a side closing while dropped is not passed on until the mode changes.
 * - reject: the connection is reset (RST) both ways.
 * - latency / bandwidth: each chunk is delivered later, order kept per direction.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../platform/log.js';
import type { ConnectionOutcome, Direction, GatewayMetrics } from './metrics.js';
import type { Effective, EffectiveKind } from './rules.js';
import { RateLimitedReporter } from '../../platform/rate-limited-log.js';
import { BrokerErrorScanner } from './broker-errors.js';
import { DelayLine } from './delay-line.js';
import { identifyClient } from './sniff.js';
import { connectUpstream, type Upstreams } from './upstreams.js';

export interface ProxyOptions {
  /** The broker's nodes, dialled round-robin. */
  readonly upstreams: Upstreams;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** The mode to apply to a cluster's connections now. */
  readonly modeOf: (cluster: string, agent: string) => Effective;
  /** Bytes held per connection while dropped before it is silently destroyed. */
  readonly holdBytes: number;
  readonly random?: () => number;
}

interface Lane {
  readonly from: Socket;
  readonly to: Socket;
  readonly direction: Direction;
  held: Buffer[];
  heldBytes: number;
  /** Real ms when the last scheduled chunk is delivered. */
  lastDeliverAt: number;
  /** Chunks slowed by latency or bandwidth, written in order. */
  readonly line: DelayLine;
}

class Conn {
  cluster: string | undefined;
  mode: Effective = { kind: 'open' };
  private sniffBuf: Buffer = Buffer.alloc(0);
  agent: string | undefined;
  /** TLS after the broker's INFO: the broker's replies are ciphertext, not scanned. */
  private encrypted = false;
  private readonly brokerErrors = new BrokerErrorScanner();
  private closed = false;
  private peerGone = false;
  readonly up: Lane;
  readonly down: Lane;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    private readonly proxy: EgressProxy,
    private readonly opts: ProxyOptions,
  ) {
    this.up = {
      from: client,
      to: upstream,
      direction: 'egress',
      held: [],
      heldBytes: 0,
      lastDeliverAt: 0,
      line: new DelayLine((chunk) => this.closed || upstream.write(chunk)),
    };
    this.down = {
      from: upstream,
      to: client,
      direction: 'ingress',
      held: [],
      heldBytes: 0,
      lastDeliverAt: 0,
      line: new DelayLine((chunk) => this.closed || client.write(chunk)),
    };
    client.on('data', (chunk: Buffer) =>
      this.cluster === undefined ? this.sniff(chunk) : this.send(this.up, chunk),
    );
    upstream.on('data', (chunk: Buffer) => {
      this.scan(chunk);
      this.send(this.down, chunk);
    });
    for (const s of [client, upstream]) {
      s.on('error', () => this.sideClosed());
      s.on('close', () => this.sideClosed());
    }
  }

  private sniff(chunk: Buffer): void {
    this.sniffBuf = Buffer.concat([this.sniffBuf, chunk]);
    const r = identifyClient(this.sniffBuf);
    if (r.kind === 'more') return;
    if (r.kind === 'invalid') {
      this.opts.logger.warn(
        { event: 'egress.connect_invalid', reason: r.reason, remote: this.client.remoteAddress },
        'connection rejected: its agent and cluster cannot be read',
      );
      this.count('invalid');
      this.reset();
      return;
    }
    this.cluster = r.cluster;
    this.agent = r.agent;
    this.encrypted = r.encrypted;
    const buffered = this.sniffBuf;
    this.sniffBuf = Buffer.alloc(0);
    this.mode = this.opts.modeOf(r.cluster, r.agent);
    if (this.mode.kind === 'reject') {
      this.opts.logger.info(
        { event: 'egress.connection_rejected', cluster: r.cluster, agent: r.agent },
        'rejected',
      );
      this.count('rejected');
      this.reset();
      return;
    }
    this.count('accepted');
    this.proxy.register(this);
    this.send(this.up, buffered);
  }

  /**
   * Counts the permission violations nats-server reports to a plain-TCP client (broker-errors.ts);
   * over TLS the agent counts its own (agent-metrics.ts).
   */
  private scan(chunk: Buffer): void {
    if (this.encrypted) return;
    for (const v of this.brokerErrors.feed(chunk)) {
      this.opts.metrics.permissionViolations.inc({ operation: v.operation });
      this.proxy.violations.report(
        'egress.permission_violation',
        `the broker refused ${this.agent ?? '?'}/${this.cluster ?? '?'} a ${v.operation} on ${v.subject}`,
      );
    }
  }

  private count(outcome: ConnectionOutcome): void {
    this.opts.metrics.connections.inc({ outcome, mode: this.mode.kind });
  }

  /** The cluster's mode changed. */
  apply(mode: Effective): void {
    const was = this.mode.kind;
    this.mode = mode;
    if (this.closed) return;
    if (mode.kind === 'reject') return this.reset();
    if (mode.kind === 'drop') return;
    if (was === 'drop' && this.peerGone) return this.destroy();
    for (const lane of [this.up, this.down]) {
      const held = lane.held;
      lane.held = [];
      lane.heldBytes = 0;
      for (const chunk of held) this.send(lane, chunk);
    }
  }

  private send(lane: Lane, chunk: Buffer): void {
    if (this.closed) return;
    const mode = this.mode;
    this.opts.metrics.bytes.inc({ mode: mode.kind, direction: lane.direction }, chunk.length);
    if (mode.kind === 'drop' || mode.kind === 'reject') {
      lane.held.push(chunk);
      lane.heldBytes += chunk.length;
      if (lane.heldBytes > this.opts.holdBytes) {
        this.opts.logger.info(
          { event: 'egress.hold_overflow', cluster: this.cluster },
          'held bytes over the bound',
        );
        this.count('hold_overflow');
        this.destroy();
      }
      return;
    }
    const now = Date.now();
    const random = this.opts.random ?? Math.random;
    let extra = 0;
    if (mode.kind === 'latency') extra = mode.latencyMs + random() * mode.jitterMs;
    const start = Math.max(now + extra, lane.lastDeliverAt);
    const at = mode.kind === 'bandwidth' ? start + (chunk.length / mode.bytesPerSecond) * 1000 : start;
    if (at > now) lane.lastDeliverAt = at;
    lane.line.push(chunk, at);
  }

  private sideClosed(): void {
    if (this.closed) return;
    if (this.mode.kind === 'drop' && !this.client.destroyed) {
      // nats-server gave up on it: the agent learns nothing while dropped (its own pings will tell).
      this.peerGone = true;
      return;
    }
    this.destroy();
  }

  reset(): void {
    if (this.closed) return;
    this.closed = true;
    this.up.line.clear();
    this.down.line.clear();
    this.client.resetAndDestroy();
    this.upstream.resetAndDestroy();
    this.proxy.unregister(this);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.up.line.clear();
    this.down.line.clear();
    this.client.destroy();
    this.upstream.destroy();
    this.proxy.unregister(this);
  }
}

export class EgressProxy {
  private readonly server: Server;
  /** One log line per cluster, operation and subject a minute; the counter has every one. */
  readonly violations: RateLimitedReporter;
  private readonly byCluster = new Map<string, Set<Conn>>();
  private readonly all = new Set<Conn>();
  /** Clients whose broker node is still being dialled. */
  private readonly dialing = new Set<Socket>();

  constructor(private readonly opts: ProxyOptions) {
    this.violations = new RateLimitedReporter(opts.logger);
    this.server = createServer({ noDelay: true }, (client) => this.accept(client));
    this.server.on('error', (err) =>
      opts.logger.error({ event: 'egress.server_error', err }, 'listener error'),
    );
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  private accept(client: Socket): void {
    // Until the broker answers, the client only waits (NATS servers speak first); its errors are its close.
    const ignore = (): void => undefined;
    client.on('error', ignore);
    this.dialing.add(client);
    connectUpstream(this.opts.upstreams, { cancelled: () => client.destroyed }).then(
      (upstream) => {
        this.dialing.delete(client);
        client.off('error', ignore);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        this.all.add(new Conn(client, upstream, this, this.opts));
      },
      (err: Error) => {
        // The agent reconnects (its link backs off); the nodes that failed are skipped for a while.
        this.dialing.delete(client);
        client.destroy();
        this.opts.logger.warn(
          { event: 'egress.upstream_error', err: err.message },
          'cannot reach nats-server',
        );
        this.opts.metrics.connections.inc({ outcome: 'upstream_error', mode: 'open' });
      },
    );
  }

  register(conn: Conn): void {
    const key = (conn.cluster as string).toLowerCase();
    let set = this.byCluster.get(key);
    if (!set) this.byCluster.set(key, (set = new Set()));
    set.add(conn);
  }

  unregister(conn: Conn): void {
    this.all.delete(conn);
    if (conn.cluster === undefined) return;
    const key = conn.cluster.toLowerCase();
    const set = this.byCluster.get(key);
    set?.delete(conn);
    if (set?.size === 0) this.byCluster.delete(key);
  }

  /** Applies a cluster's rules to its established connections, each by its agent. */
  apply(cluster: string, modeOf: (agent: string | undefined) => Effective): number {
    const set = this.byCluster.get(cluster.toLowerCase());
    if (!set) return 0;
    const conns = [...set];
    for (const c of conns) c.apply(modeOf(c.agent));
    return conns.length;
  }

  connectionCount(cluster: string, agent?: string): number {
    const set = this.byCluster.get(cluster.toLowerCase());
    if (!set) return 0;
    if (agent === undefined) return set.size;
    let n = 0;
    for (const c of set) if (c.agent === agent) n++;
    return n;
  }

  activeByMode(): Map<EffectiveKind, number> {
    const m = new Map<EffectiveKind, number>();
    for (const set of this.byCluster.values())
      for (const c of set) m.set(c.mode.kind, (m.get(c.mode.kind) ?? 0) + 1);
    return m;
  }

  async close(): Promise<void> {
    for (const c of [...this.all]) c.destroy();
    for (const client of this.dialing) client.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
