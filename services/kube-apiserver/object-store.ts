/**
 * The stored (user-written) objects of ONE emulated cluster, in memory: what etcd holds for a real
 * apiserver. Pure and synchronous: the HTTP layer decides what is allowed (derived objects, namespace
 * existence) and makes the change durable (persistence.ts) before answering.
 *
 * resourceVersion is one per-cluster counter, bumped by every write, as etcd's revision is; objects
 * carry it as a string. Recent changes are kept in a ring for watches that resume from a version.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { kubeTime } from '../../agent-runtime/timestamps.js';
import { resourceForKind, type KubeResource } from '../../contract/index.js';
import { KubeStatusError } from './status.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly type: WatchEventType;
  /** `group/plural` of the object. */
  readonly resource: string;
  readonly object: KubeObject;
  /** The object before a MODIFIED change (to tell a watch whether it stopped matching). */
  readonly previous?: KubeObject;
  readonly resourceVersion: number;
}

/** The file format of `kube/objects.json`. */
export const persistedObjectsSchema = z.object({
  version: z.literal(1),
  resourceVersion: z.int().min(0),
  objects: z.array(
    z.looseObject({
      apiVersion: z.string(),
      kind: z.string(),
      metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
    }),
  ),
});
export type PersistedObjects = z.infer<typeof persistedObjectsSchema>;

/** Changes kept for watches resuming from a resourceVersion; older ones get 410 Expired. */
const EVENT_RING = 1000;

export function resourceKey(r: Pick<KubeResource, 'group' | 'plural'>): string {
  return `${r.group}/${r.plural}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** Everything but metadata and status: a change there bumps `metadata.generation`. */
function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, resourceVersion: _r, ...rest } = obj;
  return JSON.stringify(rest);
}

export class ClusterObjects {
  private rv: number;
  private readonly byResource = new Map<string, Map<string, KubeObject>>();
  private readonly ring: StoreEvent[] = [];
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(
    private readonly now: () => number,
    initial?: PersistedObjects,
  ) {
    this.rv = initial?.resourceVersion ?? 0;
    for (const o of initial?.objects ?? []) {
      const obj = o as KubeObject;
      // A kind no longer in the table (an older build wrote it) is dropped rather than served wrong.
      const r = resourceForKind(obj.apiVersion, obj.kind);
      if (r) this.bucket(resourceKey(r)).set(objectKey(obj.metadata.namespace, obj.metadata.name), obj);
    }
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** The oldest resourceVersion a watch can resume from (older → 410 Expired). */
  get oldestWatchable(): number {
    const first = this.ring[0];
    return first ? first.resourceVersion - 1 : this.rv;
  }

  count(): number {
    let n = 0;
    for (const m of this.byResource.values()) n += m.size;
    return n;
  }

  get(r: KubeResource, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.byResource.get(resourceKey(r))?.get(objectKey(r.namespaced ? namespace : undefined, name));
  }

  /** Objects of a resource (one namespace, or all when undefined), in namespace/name order. */
  list(r: KubeResource, namespace?: string): KubeObject[] {
    const m = this.byResource.get(resourceKey(r));
    if (!m) return [];
    const out: KubeObject[] = [];
    for (const obj of m.values())
      if (namespace === undefined || !r.namespaced || obj.metadata.namespace === namespace) out.push(obj);
    return out;
  }

  /** Stored namespaces' names (derived ones are not here). */
  namespaces(): string[] {
    return [...(this.byResource.get('/namespaces')?.values() ?? [])].map((o) => o.metadata.name);
  }

  /** Stores a new object; with `dryRun`, answers what would be stored and changes nothing. */
  create(r: KubeResource, obj: KubeObject, opts: { dryRun?: boolean } = {}): KubeObject {
    const ns = r.namespaced ? obj.metadata.namespace : undefined;
    const bucket = this.bucket(resourceKey(r));
    const key = objectKey(ns, obj.metadata.name);
    if (bucket.has(key)) throw KubeStatusError.alreadyExists(r.plural, obj.metadata.name, r.group);
    const rv = opts.dryRun ? this.rv : ++this.rv;
    const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, generation: _g, ...meta } = obj.metadata;
    const stored: KubeObject = {
      ...obj,
      metadata: {
        ...meta,
        ...(ns === undefined ? {} : { namespace: ns }),
        uid: randomUUID(),
        resourceVersion: String(rv),
        generation: 1,
        creationTimestamp: kubeTime(this.now()),
      },
    };
    if (!r.namespaced) delete stored.metadata.namespace;
    if (opts.dryRun) {
      // A dry run was never stored: it has no version yet.
      delete stored.metadata.resourceVersion;
      return stored;
    }
    bucket.set(key, stored);
    this.emit({ type: 'ADDED', resource: resourceKey(r), object: stored, resourceVersion: rv });
    return stored;
  }

  /**
   * Replaces an object. `metadata.resourceVersion`, when given, must be the current one (409
   * Conflict otherwise: optimistic concurrency); uid and creationTimestamp are kept. With `dryRun`,
   * answers what would be stored and changes nothing.
   */
  update(r: KubeResource, obj: KubeObject, opts: { dryRun?: boolean } = {}): KubeObject {
    const ns = r.namespaced ? obj.metadata.namespace : undefined;
    const bucket = this.bucket(resourceKey(r));
    const key = objectKey(ns, obj.metadata.name);
    const current = bucket.get(key);
    if (!current) throw KubeStatusError.notFound(r.plural, obj.metadata.name, r.group);
    const wanted = obj.metadata.resourceVersion;
    if (wanted !== undefined && wanted !== '' && wanted !== current.metadata.resourceVersion)
      throw new KubeStatusError(
        'Conflict',
        `Operation cannot be fulfilled on ${r.group === '' ? r.plural : `${r.plural}.${r.group}`} "${obj.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
        { name: obj.metadata.name, group: r.group, kind: r.plural },
      );
    const rv = opts.dryRun ? Number(current.metadata.resourceVersion) : ++this.rv;
    const generation = typeof current.metadata.generation === 'number' ? current.metadata.generation : 1;
    const stored: KubeObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        ...(ns === undefined ? {} : { namespace: ns }),
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        resourceVersion: String(rv),
        generation: specOf(obj) === specOf(current) ? generation : generation + 1,
      },
    };
    if (!r.namespaced) delete stored.metadata.namespace;
    if (opts.dryRun) return stored;
    bucket.set(key, stored);
    this.emit({
      type: 'MODIFIED',
      resource: resourceKey(r),
      object: stored,
      previous: current,
      resourceVersion: rv,
    });
    return stored;
  }

  /** Deletes an object; a namespace takes its namespaced objects with it. */
  delete(
    r: KubeResource,
    namespace: string | undefined,
    name: string,
    namespacedResources: readonly KubeResource[] = [],
  ): KubeObject {
    const ns = r.namespaced ? namespace : undefined;
    const bucket = this.bucket(resourceKey(r));
    const key = objectKey(ns, name);
    const current = bucket.get(key);
    if (!current) throw KubeStatusError.notFound(r.plural, name, r.group);
    if (r.group === '' && r.plural === 'namespaces')
      for (const nr of namespacedResources) {
        const m = this.byResource.get(resourceKey(nr));
        if (!m) continue;
        for (const [k, obj] of m)
          if (obj.metadata.namespace === name) {
            m.delete(k);
            this.emitDeleted(nr, obj);
          }
      }
    bucket.delete(key);
    return this.emitDeleted(r, current);
  }

  /** Recent changes after `resourceVersion`, or undefined when they are no longer kept. */
  since(resourceVersion: number): StoreEvent[] | undefined {
    if (resourceVersion < this.oldestWatchable) return undefined;
    return this.ring.filter((e) => e.resourceVersion > resourceVersion);
  }

  subscribe(listener: (e: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): PersistedObjects {
    const objects: KubeObject[] = [];
    for (const m of this.byResource.values()) objects.push(...m.values());
    return { version: 1, resourceVersion: this.rv, objects };
  }

  private emitDeleted(r: KubeResource, obj: KubeObject): KubeObject {
    const rv = ++this.rv;
    const gone: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    this.emit({ type: 'DELETED', resource: resourceKey(r), object: gone, resourceVersion: rv });
    return gone;
  }

  private bucket(key: string): Map<string, KubeObject> {
    let m = this.byResource.get(key);
    if (!m) this.byResource.set(key, (m = new Map()));
    return m;
  }

  private emit(e: StoreEvent): void {
    this.ring.push(e);
    if (this.ring.length > EVENT_RING) this.ring.splice(0, this.ring.length - EVENT_RING);
    for (const l of this.listeners) l(e);
  }
}

export { kubeTime };
