/**
 * flux-logs-agent, per cluster: ships the Flux controllers' log (agent-runtime/flux-log.ts) to the hub,
 * oldest first, in `flux-logs` requests, with the cursor rule of cursor-shipping.ts (the cursor moves
 * only on the hub's acknowledgement of durable entries, so nothing is skipped).
 *
 * A cluster without Flux configurations has no log, and its instance holds no link: the link opens
 * with the first log line (a fleet mostly without Flux costs no connection per cluster). It looks
 * at the log when the cluster's apiserver objects change (each reconcile writes the Flux objects) and
 * every `lookIntervalMs` besides.
 */
import type {
  AgentContext,
  AgentFactory,
  AgentInstance,
  ClusterChanges,
  ClusterSnapshot,
} from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import { FluxLogReader } from '../../agent-runtime/flux-log.js';
import { LinkedAgent } from '../../agent-runtime/linked-agent.js';
import type { Clock } from '../../platform/clock.js';
import { AGENT, CursorShipping, type ShipperCounters } from './cursor-shipping.js';

export { AGENT, type ShipperCounters } from './cursor-shipping.js';

/** Real ms after an apiserver change before the log is read: the reconcile writes its lines last. */
const AFTER_CHANGE_MS = 250;

export interface FluxLogsAgentOptions {
  readonly clock: Clock;
  /** Real ms between looks at the log. */
  readonly lookIntervalMs: number;
  readonly counters?: ShipperCounters;
  /** Entries per request (default FLUX_LOGS_MAX_ENTRIES). */
  readonly batch?: number;
}

export function fluxLogsAgentFactory(opts: FluxLogsAgentOptions): AgentFactory {
  return (ctx, snapshot) => new FluxLogShipper(ctx, opts, snapshot);
}

export class FluxLogShipper implements AgentInstance {
  private readonly reader: FluxLogReader;
  private readonly shipping: CursorShipping;
  private linked: LinkedAgent | undefined;
  private link: AgentLink | undefined;
  private inFlight: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly interval: NodeJS.Timeout;
  private soon: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: AgentContext,
    private readonly opts: FluxLogsAgentOptions,
    private snapshot: ClusterSnapshot,
  ) {
    this.reader = new FluxLogReader(ctx.store.dir(ctx.clusterName));
    const name = ctx.clusterName;
    this.shipping = new CursorShipping({
      reader: this.reader,
      cursor: {
        load: async () => (await ctx.store.readAgentMemo(name, AGENT))?.fluxLogsShippedSeq ?? 0,
        save: async (seq) => {
          const memo = (await ctx.store.readAgentMemo(name, AGENT)) ?? {};
          await ctx.store.writeAgentMemo(name, AGENT, { ...memo, fluxLogsShippedSeq: seq });
        },
      },
      send: (report) => (this.closed ? undefined : this.link?.request('flux-logs', report)),
      halt: (code) => this.linked?.halt(code),
      clock: opts.clock,
      logger: ctx.logger,
      counters: opts.counters,
      batch: opts.batch,
    });
    this.interval = setInterval(() => this.look(), opts.lookIntervalMs);
    this.interval.unref();
    this.look();
  }

  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void {
    this.snapshot = snapshot;
    this.linked?.update(snapshot, changes);
    if (changes.kube && this.soon === undefined) {
      this.soon = setTimeout(() => {
        this.soon = undefined;
        this.look();
      }, AFTER_CHANGE_MS);
      this.soon.unref();
    }
  }

  outboxDepth(): number {
    return this.shipping.pending;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.interval);
    if (this.soon) clearTimeout(this.soon);
    await this.linked?.close();
    await this.inFlight;
  }

  private look(): void {
    if (this.closed) return;
    if (!this.linked) {
      if (!this.reader.exists()) return;
      this.linked = new LinkedAgent(this.ctx, this.snapshot, {
        onLinkUp: (link) => {
          this.link = link;
          this.look();
        },
        onLinkDown: () => {
          this.link = undefined;
        },
        outboxDepth: () => this.shipping.pending,
      });
    }
    if (!this.link) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.shipping
      .shipAll()
      .catch((err: unknown) => {
        this.ctx.logger.warn({ event: 'flux_logs.ship_failed', err }, 'could not ship the Flux logs');
      })
      .finally(() => {
        this.inFlight = undefined;
        if (this.again) {
          this.again = false;
          this.look();
        }
      });
  }
}
