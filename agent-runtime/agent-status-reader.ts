/**
 * Reads the emulated pod status for metrics-agent and the emulated apiserver: each cluster's
 * `status/<agent>.json` files and every agent process's beat. metrics-agent asks about every cluster
 * every interval (1 s real at the default time scale), almost always finding nothing new, so:
 *
 * - a cluster's status directory is listed and its files stat'ed again only when the directory's
 *   version (inode, mtime, size) changed. Status files are written by atomic rename and removed,
 *   which both change the directory's mtime; a file rewritten in place (by hand) would not, so the
 *   files are looked at anyway every `revalidateMs`. A listing is trusted only once the directory's
 *   mtime is `SETTLE_MS` older than the listing: a change in the same timestamp tick as the listing
 *   would leave the mtime as it was.
 * - each file is parsed again only when its size or mtime changed;
 * - the beats are read once for every caller of the same moment (concurrent callers share the read in
 *   flight; 1,000 clusters reporting in one tick used to read the six beat files 1,000 times), then
 *   kept `maxAgeMs`.
 */
import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  AGENT_NAMES,
  agentStatusSchema,
  processBeatSchema,
  type AgentStatus,
  type ProcessBeat,
} from '../contract/index.js';

/** Parsed status files kept at most (a fleet of 10,000 clusters with 6 agents each fits). */
const STATUS_CACHE_LIMIT = 100_000;
/** Real ms a directory's mtime must be older than a listing for the listing to be reused. */
const SETTLE_MS = 2000;
/** Real ms after which the files are stat'ed again even if the directory looks unchanged. */
const DEFAULT_REVALIDATE_MS = 30_000;

export interface AgentStatuses {
  statuses: AgentStatus[];
  /** Unreadable or invalid files. */
  invalid: string[];
}

export interface AgentStatusReaderOptions {
  /** `<dataDir>/clusters/<name>` */
  readonly clusterDir: (name: string) => string;
  /** `<dataDir>/run/<agent>.alive.json` (a sharded fleet: one per shard) */
  readonly beatPath: (agent: string, shard: number) => string;
  /** Reads and validates a JSON file; undefined when it does not exist. */
  readonly readJson: <T>(path: string, schema: z.ZodType<T>) => Promise<T | undefined>;
  /** Real ms now (default Date.now). */
  readonly now?: () => number;
  readonly revalidateMs?: number;
}

interface Listing {
  readonly dirVersion: string;
  readonly listedAtMs: number;
  readonly result: AgentStatuses;
}

export class AgentStatusReader {
  private readonly files = new Map<string, { version: string; status: AgentStatus }>();
  private readonly listings = new Map<string, Listing>();
  /** Per shard (the agent processes of one shard). */
  private readonly beats = new Map<
    number,
    { at: number; value: Promise<ReadonlyMap<string, ProcessBeat>> }
  >();
  private readonly now: () => number;

  constructor(private readonly opts: AgentStatusReaderOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Every readable status file of the cluster; unreadable or invalid ones are listed in `invalid`. */
  async statuses(name: string): Promise<AgentStatuses> {
    const dir = join(this.opts.clusterDir(name), 'status');
    const startedMs = this.now();
    const st = statSync(dir, { throwIfNoEntry: false });
    if (!st) {
      this.listings.delete(name);
      return { statuses: [], invalid: [] };
    }
    const dirVersion = `${st.ino}:${st.mtimeMs}:${st.size}`;
    const last = this.listings.get(name);
    const revalidateMs = this.opts.revalidateMs ?? DEFAULT_REVALIDATE_MS;
    if (last?.dirVersion === dirVersion && startedMs - last.listedAtMs < revalidateMs)
      return copy(last.result);
    const result = await this.list(dir);
    // Reused only when nothing can have changed unseen: the mtime had settled, every file read.
    if (startedMs - st.mtimeMs >= SETTLE_MS && result.invalid.length === 0) {
      if (this.listings.size >= STATUS_CACHE_LIMIT) this.listings.clear();
      this.listings.set(name, { dirVersion, listedAtMs: startedMs, result: copy(result) });
    } else this.listings.delete(name);
    return result;
  }

  /**
   * Every agent process's last beat, by agent: a read started less than `maxAgeMs` ago (finished or
   * still in flight) is shared.
   */
  processBeats(maxAgeMs: number, shard = 0): Promise<ReadonlyMap<string, ProcessBeat>> {
    const now = this.now();
    const cached = this.beats.get(shard);
    if (cached && now - cached.at < maxAgeMs) return cached.value;
    const value = this.readBeats(shard);
    this.beats.set(shard, { at: now, value });
    return value;
  }

  private async readBeats(shard: number): Promise<ReadonlyMap<string, ProcessBeat>> {
    const value = new Map<string, ProcessBeat>();
    for (const agent of AGENT_NAMES) {
      const beat = await this.opts
        .readJson(this.opts.beatPath(agent, shard), processBeatSchema)
        .catch(() => undefined);
      if (beat) value.set(agent, beat);
    }
    return value;
  }

  private async list(dir: string): Promise<AgentStatuses> {
    let files: string[];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { statuses: [], invalid: [] };
      throw err;
    }
    const statuses: AgentStatus[] = [];
    const invalid: string[] = [];
    for (const file of files) {
      const path = join(dir, file);
      try {
        const st = statSync(path);
        const version = `${st.size}:${st.mtimeMs}`;
        const cached = this.files.get(path);
        if (cached?.version === version) {
          statuses.push(cached.status);
          continue;
        }
        const status = await this.opts.readJson(path, agentStatusSchema);
        if (!status) continue;
        if (this.files.size >= STATUS_CACHE_LIMIT) this.files.clear();
        this.files.set(path, { version, status });
        statuses.push(status);
      } catch (err) {
        // Removed between the listing and the read: the agent stopped; not an invalid file.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') invalid.push(file);
      }
    }
    return { statuses, invalid };
  }
}

/** Callers may change what they get: a cached listing is never handed out itself. */
function copy(r: AgentStatuses): AgentStatuses {
  return { statuses: [...r.statuses], invalid: [...r.invalid] };
}
