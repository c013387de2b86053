/**
 * `AgentHost` polls the cluster store and keeps one agent instance per cluster: created when the
 * cluster appears (unless the agent is in `stoppedAgents`), closed when it disappears or is stopped,
 * told about changes (state generation, onboarding secret, identity secret). One process hosts many
 * clusters, so a poll must stay cheap: it reads the store's change journal (cluster-journal.ts) and
 * stats only the clusters named there; a file is read only when its version changed
 * (cluster-versions.ts). A full scan (four `stat`s per cluster) happens at start, when the journal
 * was rotated or replaced, and every `rescanIntervalMs` to catch what bypassed the journal (hand edits).
 *
 * A cluster's error never leaves its instance: it is logged (`event` field) and the host carries on.
 * Pieces: agent-instance.ts (what an agent sees), agent-context.ts (its links), status-beat.ts (the
 * emulated pod status), agent-link.ts (one NATS connection per cluster and agent).
 */
import type { AgentName, ClusterState } from '../contract/index.js';
import type { Logger } from '../platform/log.js';
import { ConnectionGate, mapLimit, type ConnectionGateOptions } from '../platform/limit.js';
import type { AgentHostStats, LinkMetrics } from './agent-metrics.js';
import type { AgentLink, LinkConnectionOptions } from './agent-link.js';
import type { AgentFactory, ClusterSnapshot, CloseReason } from './agent-instance.js';
import { makeAgentContext } from './agent-context.js';
import type { ClusterStore } from './cluster-store.js';
import {
  NO_FILES,
  agentWanted,
  diffVersions,
  type ClusterFile,
  type FileVersions,
} from './cluster-versions.js';
import { ClusterScan } from './cluster-scan.js';
import { StatusBeat } from './status-beat.js';
import { newEntry, nothingPending, readChanged, type Entry } from './cluster-entry.js';

export interface AgentHostOptions {
  readonly agentName: AgentName;
  readonly store: ClusterStore;
  /** Real ms between polls of the cluster store. */
  readonly pollIntervalMs: number;
  /** Real ms between full scans of the store, besides those the journal asks for (default 60 s). */
  readonly rescanIntervalMs?: number;
  readonly logger: Logger;
  readonly factory: AgentFactory;
  readonly natsUrl: string;
  /** The fleet CA: every link runs over TLS (platform/nats.ts); none: plain TCP. */
  readonly natsCa?: string | undefined;
  readonly maxMessageBytes: number;
  /** Real ms (default 5000). */
  readonly requestTimeoutMs?: number;
  readonly gate?: ConnectionGateOptions;
  /** Dead-link detection and reconnect backoff of every link (default: nats.ts defaults). */
  readonly connection?: LinkConnectionOptions;
  /** Clusters stat'ed per event-loop turn during a poll (default 250). */
  readonly statSlice?: number;
  /** Clusters whose changed files are read in parallel (default 64). */
  readonly readConcurrency?: number;
  /** Counters every link of this host reports to. */
  readonly linkMetrics?: LinkMetrics;
  /**
   * Real ms between refreshes of each running instance's status file (`status/<agent>.json`, the
   * emulated pod status metrics-agent reads); undefined = no status files. Removed when the instance stops.
   */
  readonly statusIntervalMs?: number;
}

/** Real ms before retrying an instance whose factory threw, when no file changed. */
const FAILED_START_RETRY_MS = 30_000;

export class AgentHost {
  private readonly entries = new Map<string, Entry>();
  private readonly gate: ConnectionGate;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;
  private closingAll: Promise<void> | undefined;
  private readonly links = new Set<AgentLink>();
  private readonly beat: StatusBeat | undefined;
  private readonly scan: ClusterScan;

  constructor(private readonly opts: AgentHostOptions) {
    this.scan = new ClusterScan(opts.store, opts);
    this.gate = new ConnectionGate(opts.gate);
    if (opts.statusIntervalMs !== undefined)
      this.beat = new StatusBeat({ ...opts, intervalMs: opts.statusIntervalMs });
  }

  /** Starts polling (first poll at once). */
  start(): void {
    if (this.closed || this.timer || this.polling) return;
    this.schedule(0);
    this.beat?.start();
  }

  /** Full scans of the store so far (the journal makes most polls incremental). */
  get fullScans(): number {
    return this.scan.fullScans;
  }

  /** Aggregate figures for the metrics (one process hosts many clusters: no per-cluster values). */
  stats(): AgentHostStats {
    let outboxDepth = 0;
    const certificateExpiriesMs: number[] = [];
    for (const e of this.entries.values()) {
      outboxDepth += e.instance?.outboxDepth?.() ?? 0;
      const t = e.identity ? Date.parse(e.identity['azure-identity-certificate-expiration-time']) : NaN;
      if (Number.isFinite(t)) certificateExpiriesMs.push(t);
    }
    let linksConnected = 0;
    for (const l of this.links) {
      if (l.isClosed) this.links.delete(l);
      else if (l.connected) linksConnected++;
    }
    return {
      clusters: this.entries.size,
      running: this.running,
      linksOpen: this.links.size,
      linksConnected,
      certificateExpiriesMs,
      outboxDepth,
    };
  }

  /** Clusters with a running instance. */
  get running(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.instance) n++;
    return n;
  }

  /** One poll: journal (or list), stat, read changed files, reconcile. Never throws. */
  async pollOnce(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.poll().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** Stops polling and closes every instance. Safe to call twice. */
  close(): Promise<void> {
    this.closingAll ??= (async () => {
      this.closed = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.beat?.stop();
      await this.polling;
      await Promise.all(
        [...this.entries.keys()].map((name) => this.stopInstance(name, 'host closing', 'shutdown')),
      );
      await Promise.all([...this.entries.values()].map((e) => e.closing));
    })();
    return this.closingAll;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pollOnce().finally(() => {
        if (!this.closed) this.schedule(this.opts.pollIntervalMs);
      });
    }, delayMs);
  }

  private async poll(): Promise<void> {
    try {
      const { known, seen } = await this.scan.look(this.entries);
      if (this.closed) return;
      const diff = diffVersions(known, seen);
      for (const name of diff.removed) {
        await this.guard(name, 'host.cluster_removed_failed', () => this.forget(name));
      }
      const work = new Set<string>([...diff.changed.keys()]);
      // Clusters whose previous instance was closing last time may be due a (re)start now.
      for (const [name, e] of this.entries)
        if (!e.instance && e.closing === undefined && agentWanted(e.state, this.opts.agentName))
          work.add(name);
      await mapLimit([...work], this.opts.readConcurrency ?? 64, (name) =>
        this.guard(name, 'host.cluster_failed', () =>
          this.reconcile(name, seen.get(name) ?? NO_FILES, diff.changed.get(name) ?? []),
        ),
      );
    } catch (err) {
      this.opts.logger.error({ event: 'host.poll_failed', err }, 'cluster store poll failed');
    }
  }

  private async reconcile(
    name: string,
    versions: FileVersions,
    files: readonly ClusterFile[],
  ): Promise<void> {
    let e = this.entries.get(name);
    if (!e) {
      e = newEntry();
      this.entries.set(name, e);
    }
    const previousGeneration = e.state?.generation;
    await readChanged(this.opts.store, this.opts.logger, name, e, versions, files);
    e.versions = versions;
    if (this.closed) return;
    if (e.state && e.state.generation !== previousGeneration) e.pending.state = true;

    if (!agentWanted(e.state, this.opts.agentName)) {
      if (e.instance) {
        if (e.state) await this.stopInstance(name, 'agent stopped for this cluster', 'stopped');
        else await this.stopInstance(name, 'cluster state missing', 'removed');
      }
      return;
    }
    if (e.closing) return; // started again on a later poll, once the old instance has closed
    const snapshot: ClusterSnapshot = {
      name,
      state: e.state as ClusterState,
      onboarding: e.onboarding,
      identity: e.identity,
    };
    if (!e.instance) {
      this.startInstance(name, e, versions, snapshot);
      return;
    }
    if (e.runningVersion !== undefined && snapshot.state.agentVersion !== e.runningVersion) {
      // The azure-arc release was upgraded (or rolled back): the Deployment rolls, old pod out, new in.
      await this.stopInstance(name, `agent version ${snapshot.state.agentVersion}`, 'upgrade');
      if (!this.closed && !e.instance && !e.closing) this.startInstance(name, e, versions, snapshot);
      return;
    }
    const changes = e.pending;
    if (changes.state || changes.onboarding || changes.identity || changes.kube) {
      e.pending = nothingPending();
      e.instance.update(snapshot, changes);
    }
  }

  private startInstance(name: string, e: Entry, versions: FileVersions, snapshot: ClusterSnapshot): void {
    // After a failed start, try again when a file changes or after a pause, not on every poll.
    const key = `${versions.state}|${versions.onboarding}|${versions.identity}`;
    if (e.failedStart && e.failedStart.key === key && Date.now() < e.failedStart.retryAtMs) return;
    e.pending = nothingPending();
    try {
      e.instance = this.opts.factory(
        makeAgentContext(name, { ...this.opts, gate: this.gate, onOpened: (l) => this.links.add(l) }),
        snapshot,
      );
      e.failedStart = undefined;
      e.runningVersion = snapshot.state.agentVersion;
      if (!this.closed) this.beat?.writeRunning(name, snapshot.state.agentVersion);
    } catch (err) {
      e.failedStart = { key, retryAtMs: Date.now() + FAILED_START_RETRY_MS };
      throw err;
    }
    this.opts.logger.info(
      { event: 'host.instance_started', cluster: name, agent: this.opts.agentName },
      'agent instance started',
    );
  }

  private async forget(name: string): Promise<void> {
    await this.stopInstance(name, 'cluster removed', 'removed');
    const e = this.entries.get(name);
    await e?.closing;
    // Only drop it if nothing re-created it meanwhile.
    if (e && !e.instance) this.entries.delete(name);
  }

  private async stopInstance(name: string, reason: string, why: CloseReason): Promise<void> {
    const e = this.entries.get(name);
    if (!e?.instance) return;
    const instance = e.instance;
    e.instance = undefined;
    this.opts.logger.info(
      { event: 'host.instance_stopping', cluster: name, agent: this.opts.agentName, reason },
      'agent instance stopping',
    );
    e.closing = instance
      .close(why)
      .catch((err: unknown) => {
        this.opts.logger.error({ event: 'host.instance_close_failed', cluster: name, err }, 'close failed');
      })
      .finally(() => {
        e.closing = undefined;
      });
    await e.closing;
    await this.beat?.remove(name);
  }

  private async guard(name: string, event: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.opts.logger.error({ event, cluster: name, err }, 'cluster handling failed');
    }
  }
}
