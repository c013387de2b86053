/**
 * The clusters the apiserver serves: every directory of the cluster store with a readable
 * cluster.json. A cluster is looked up on each request (so a new one is served at once, without a
 * restart) and its stored objects are loaded on first use. A poll drops clusters whose directory
 * disappeared, with their objects and watches.
 */
import { stat } from 'node:fs/promises';
import { type ClusterState, clusterStateSchema } from '../../contract/index.js';
import type { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { SimClock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { DERIVED_NEEDS, derivedObjects, type DerivedInput, type DerivedNeeds } from './derived.js';
import type { DerivedConnectivity } from './derived-meta.js';
import { CLUSTER_METADATA, withLastConnectivity } from './derived-arc-config.js';
import { ClusterObjects } from './object-store.js';
import { CoalescingWriter, loadObjects, saveObjects } from './persistence.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';

const NAME = clusterStateSchema.shape.name;

const REAL_TIME = new SimClock(1, 0);

export interface ClustersOptions {
  readonly store: ClusterStore;
  readonly persistIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly staleAfterMs: number;
  /** The fleet's simulated clock (`clustermetadata` times are simulated); default: real time. */
  readonly clock?: SimClock;
  readonly logger: Logger;
  /** Real ms (timestamps of objects, agent freshness). */
  readonly now?: () => number;
  readonly onPersist?: (ok: boolean) => void;
}

export class ClusterHandle {
  readonly writer: CoalescingWriter;
  private stateCache: { mtimeMs: number; state: ClusterState } | undefined;
  private closed = false;
  private readonly closeListeners = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly objects: ClusterObjects,
    private readonly opts: ClustersOptions,
    private readonly createdAtMs: number,
  ) {
    const dir = opts.store.dir(name);
    this.writer = new CoalescingWriter(opts.persistIntervalMs, async () => {
      // Snapshot before the first await: the write holds every change made so far.
      const text = JSON.stringify(objects.snapshot());
      try {
        await saveObjects(dir, text);
        opts.onPersist?.(true);
        // The agents that read the apiserver hear of it through the store's change journal.
        await opts.store.noteKubeObjects(name);
      } catch (err) {
        opts.onPersist?.(false);
        opts.logger.error(
          { event: 'kube-apiserver.persist_failed', cluster: name, err },
          'persisting objects failed',
        );
        throw err;
      }
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Makes every change so far durable (a write answers only after this resolves). */
  persist(): Promise<void> {
    return this.writer.request();
  }

  /** The cluster's state, re-read when cluster.json changes; undefined once it is gone. */
  async state(): Promise<ClusterState | undefined> {
    const mtimeMs = await this.opts.store.stateVersion(this.name);
    if (mtimeMs === undefined) return undefined;
    if (this.stateCache?.mtimeMs === mtimeMs) return this.stateCache.state;
    const state = await this.opts.store.readState(this.name);
    if (!state) return undefined;
    this.stateCache = { mtimeMs, state };
    return state;
  }

  /** The derived objects of one resource (`group/plural`); empty for resources without any. */
  async derived(resource: string): Promise<KubeObject[]> {
    const needs = DERIVED_NEEDS[resource];
    if (!needs) return [];
    const input = await this.input(needs);
    return input ? derivedObjects(resource, input) : [];
  }

  private async input(needs: DerivedNeeds): Promise<DerivedInput | undefined> {
    const state = await this.state();
    if (!state) return undefined;
    const now = (this.opts.now ?? Date.now)();
    return {
      state,
      createdAtMs: this.createdAtMs,
      nowMs: now,
      storedNamespaces: this.objects.namespaces(),
      ...(needs.identity
        ? { identity: await this.opts.store.readIdentity(this.name).catch(() => undefined) }
        : {}),
    };
  }

  /** Stored objects as a read returns them: clustermetadata's lastConnectivityTime is filled in. */
  async presented(resource: string, objects: KubeObject[]): Promise<KubeObject[]> {
    if (resource !== CLUSTER_METADATA.resource) return objects;
    if (!objects.some((o) => o.metadata.name === CLUSTER_METADATA.name)) return objects;
    const connectivity = await this.connectivity((this.opts.now ?? Date.now)());
    return objects.map((o) => withLastConnectivity(o, connectivity));
  }

  /** resource-sync-agent's link record, with its process's liveness, on the simulated clock. */
  private async connectivity(realNowMs: number): Promise<DerivedConnectivity> {
    const clock = this.opts.clock ?? REAL_TIME;
    const record = await this.opts.store.readConnectivity(this.name).catch(() => undefined);
    const beat = (await this.opts.store.readProcessBeats(this.name)).get('resource-sync-agent');
    const alive = beat !== undefined && realNowMs - beat.lastSeenMs <= this.opts.staleAfterMs;
    return {
      record,
      // A killed process stopped heartbeating about when its beat stopped.
      untilMs: alive ? clock.now() : beat ? clock.at(beat.lastSeenMs) : (record?.lastContactMs ?? 0),
    };
  }

  onClose(listener: () => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.closeListeners) l();
    this.closeListeners.clear();
  }
}

export class KubeClusters {
  private readonly handles = new Map<string, Promise<ClusterHandle>>();
  /** The handles whose load finished (for synchronous stats at scrape time). */
  private readonly ready = new Map<string, ClusterHandle>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ClustersOptions) {}

  static validName(name: string): boolean {
    return NAME.safeParse(name).success;
  }

  /** The cluster, loading its stored objects on first use; undefined when it is not in the store. */
  async resolve(name: string): Promise<ClusterHandle | undefined> {
    if (!KubeClusters.validName(name)) return undefined;
    if ((await this.opts.store.stateVersion(name)) === undefined) {
      this.drop(name);
      return undefined;
    }
    let handle = this.handles.get(name);
    if (!handle) {
      handle = this.load(name);
      this.handles.set(name, handle);
      void handle.then(
        (h) => {
          if (this.handles.get(name) !== undefined && !h.isClosed) this.ready.set(name, h);
        },
        () => undefined,
      );
      handle.catch(() => this.handles.delete(name));
    }
    return handle;
  }

  /** Clusters whose objects are in memory. */
  async loaded(): Promise<ClusterHandle[]> {
    return Promise.all([...this.handles.values()].map((h) => h.catch(() => undefined))).then((hs) =>
      hs.filter((h): h is ClusterHandle => h !== undefined),
    );
  }

  stats(): { clustersLoaded: number; objectsStored: number } {
    let objectsStored = 0;
    for (const h of this.ready.values()) objectsStored += h.objects.count();
    return { clustersLoaded: this.ready.size, objectsStored };
  }

  /** Starts the poll that forgets removed clusters. */
  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.opts.pollIntervalMs);
    this.timer.unref();
  }

  async sweep(): Promise<void> {
    try {
      const present = new Set(await this.opts.store.list());
      for (const name of [...this.handles.keys()])
        if (!present.has(name) || (await this.opts.store.stateVersion(name)) === undefined) this.drop(name);
    } catch (err) {
      this.opts.logger.warn({ event: 'kube-apiserver.sweep_failed', err }, 'listing clusters failed');
    }
  }

  /** Stops polling and writes what is pending. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const h of await this.loaded()) {
      await h.writer.flush().catch(() => undefined);
      h.close();
    }
  }

  private drop(name: string): void {
    const handle = this.handles.get(name);
    if (!handle) return;
    this.handles.delete(name);
    this.ready.delete(name);
    void handle.then(
      (h) => {
        h.close();
        this.opts.logger.info(
          { event: 'kube-apiserver.cluster_dropped', cluster: name },
          `cluster ${name} is gone`,
        );
      },
      () => undefined,
    );
  }

  private async load(name: string): Promise<ClusterHandle> {
    const dir = this.opts.store.dir(name);
    const initial = await loadObjects(dir, (err, movedTo) =>
      this.opts.logger.error(
        { event: 'kube-apiserver.objects_corrupt', cluster: name, movedTo, err },
        `stored objects of ${name} are unreadable; moved aside, starting empty`,
      ),
    );
    const st = await stat(dir);
    const createdAtMs = st.birthtimeMs > 0 ? st.birthtimeMs : st.mtimeMs;
    const objects = new ClusterObjects(this.opts.now ?? Date.now, initial);
    this.opts.logger.info(
      { event: 'kube-apiserver.cluster_loaded', cluster: name, objects: objects.count() },
      `serving cluster ${name}`,
    );
    return new ClusterHandle(name, objects, this.opts, createdAtMs);
  }
}
