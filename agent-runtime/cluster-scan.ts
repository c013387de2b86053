/**
 * What an agent host looks at on each poll: the clusters the store's change journal names since the
 * last poll (cluster-journal.ts), or every cluster (a full scan) at start, when the journal was
 * rotated, replaced or truncated, and every `rescanIntervalMs`. The periodic full scan is the safety
 * net for changes that bypassed the journal: a hand edit of a cluster's files, a writer that crashed
 * between its file and its journal line. Its cost is the old per-poll cost, once a minute.
 */
import type { ClusterStore } from './cluster-store.js';
import type { ClusterChangeReader } from './cluster-journal.js';
import { clusterExists, statCluster, type FileVersions } from './cluster-versions.js';

export interface ClusterScanOptions {
  /** Real ms between full scans besides those the journal asks for (default 60 s). */
  readonly rescanIntervalMs?: number;
  /** Clusters stat'ed per event-loop turn during a full scan (default 250). */
  readonly statSlice?: number;
  /** Real ms now (default Date.now). */
  readonly now?: () => number;
}

export const DEFAULT_RESCAN_INTERVAL_MS = 60_000;

/** Per cluster looked at: the versions the host knows (if any) and those on disk (if it exists). */
export interface ScanResult {
  readonly known: Map<string, FileVersions>;
  readonly seen: Map<string, FileVersions>;
}

export class ClusterScan {
  private readonly changes: ClusterChangeReader;
  private lastFullScanMs = -Infinity;
  fullScans = 0;

  constructor(
    private readonly store: ClusterStore,
    private readonly opts: ClusterScanOptions = {},
  ) {
    this.changes = store.changeReader();
  }

  async look(entries: ReadonlyMap<string, { readonly versions: FileVersions }>): Promise<ScanResult> {
    const journal = this.changes.read(); // before any scan: lines appended meanwhile come next time
    const known = new Map<string, FileVersions>();
    const seen = new Map<string, FileVersions>();
    const now = (this.opts.now ?? Date.now)();
    const rescanMs = this.opts.rescanIntervalMs ?? DEFAULT_RESCAN_INTERVAL_MS;
    if (journal.kind === 'changes' && now - this.lastFullScanMs < rescanMs) {
      for (const name of journal.clusters) {
        if (!this.store.hosts(name)) continue; // another shard's cluster
        const e = entries.get(name);
        if (e) known.set(name, e.versions);
        if (clusterExists(this.store, name)) seen.set(name, statCluster(this.store, name));
      }
      return { known, seen };
    }
    this.lastFullScanMs = now;
    this.fullScans++;
    const names = await this.store.list();
    // Synchronous stats in slices: the event loop gets a turn between slices.
    const slice = this.opts.statSlice ?? 250;
    for (let i = 0; i < names.length; i += slice) {
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      for (const name of names.slice(i, i + slice)) seen.set(name, statCluster(this.store, name));
    }
    for (const [name, e] of entries) known.set(name, e.versions);
    return { known, seen };
  }
}
