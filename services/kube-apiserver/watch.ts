/**
 * `?watch=true`: a newline-delimited stream of `{"type":"ADDED|MODIFIED|DELETED|ERROR","object":...}`.
 * Stored objects come from the cluster's change feed (resumable from a resourceVersion while the
 * change is still in the ring, else one ERROR event with a 410 Expired Status, as real apiservers
 * do). Derived objects have no change feed: they are recomputed every poll interval and diffed by
 * their content-hash resourceVersion.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import type { KubeResource } from '../../contract/index.js';
import type { Logger } from '../../platform/log.js';
import type { ClusterHandle } from './clusters.js';
import type { KubeApiMetrics } from './metrics.js';
import { resourceKey, type StoreEvent, type WatchEventType } from './object-store.js';
import { KubeStatusError } from './status.js';
import { DERIVED_NEEDS } from './derived.js';

export interface WatchSelection {
  readonly namespace: string | undefined;
  matches(obj: KubeObject): boolean;
}

/** Open watches, so a shutdown ends them (a stream would otherwise hold the server open). */
export class WatchRegistry {
  private readonly open = new Set<() => void>();
  add(stop: () => void): () => void {
    this.open.add(stop);
    return () => this.open.delete(stop);
  }
  get size(): number {
    return this.open.size;
  }
  closeAll(): void {
    for (const stop of [...this.open]) stop();
  }
}

export interface WatchOptions {
  readonly req: FastifyRequest;
  readonly reply: FastifyReply;
  readonly cluster: ClusterHandle;
  readonly resource: KubeResource;
  readonly selection: WatchSelection;
  readonly fromResourceVersion: number | undefined;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  readonly derived: () => Promise<KubeObject[]>;
  readonly registry: WatchRegistry;
  readonly metrics: KubeApiMetrics;
  readonly logger: Logger;
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export async function startWatch(o: WatchOptions): Promise<void> {
  const { cluster, resource, selection } = o;
  const key = resourceKey(resource);
  // Everything that can fail (an expired version) is decided before the 200 goes out.
  const replay =
    o.fromResourceVersion === undefined || o.fromResourceVersion === 0
      ? undefined
      : cluster.objects.since(o.fromResourceVersion);
  const expired = o.fromResourceVersion !== undefined && o.fromResourceVersion !== 0 && replay === undefined;
  const initialDerived = (await o.derived()).filter(selection.matches);
  const known = new Map(initialDerived.map((d) => [keyOf(d), d] as const));

  o.reply.hijack();
  const raw = o.reply.raw;
  raw.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
  // Headers out now: a client waits for them before reading events, and there may be none for a while.
  raw.flushHeaders();
  const send = (type: WatchEventType | 'ERROR', object: unknown): void => {
    if (!raw.writableEnded) raw.write(`${JSON.stringify({ type, object })}\n`);
  };
  o.metrics.watches.inc();
  o.metrics.requests.inc({ verb: 'watch', resource: resource.plural, code: '200' });
  o.logger.info(
    {
      event: 'kube-apiserver.watch_started',
      cluster: cluster.name,
      resource: resource.plural,
      namespace: selection.namespace,
      from: o.fromResourceVersion,
    },
    `watch ${resource.plural} of ${cluster.name}`,
  );

  let stopped = false;
  const cleanups: (() => void)[] = [];
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const c of cleanups) c();
    o.metrics.watches.dec();
    if (!raw.writableEnded) raw.end();
  };

  if (expired) {
    const oldest = cluster.objects.oldestWatchable;
    send(
      'ERROR',
      new KubeStatusError(
        'Expired',
        `too old resource version: ${o.fromResourceVersion} (${oldest})`,
      ).toStatus(),
    );
    stop();
    return;
  }

  const onEvent = (e: StoreEvent): void => {
    if (e.resource !== key) return;
    const now = selection.matches(e.object);
    if (e.type === 'MODIFIED') {
      const before = e.previous ? selection.matches(e.previous) : false;
      if (before && now) send('MODIFIED', e.object);
      else if (before) send('DELETED', e.object);
      else if (now) send('ADDED', e.object);
    } else if (now) send(e.type, e.object);
  };

  if (replay === undefined) {
    for (const d of initialDerived) send('ADDED', d);
    for (const s of cluster.objects.list(resource, selection.namespace))
      if (selection.matches(s)) send('ADDED', s);
  } else for (const e of replay) onEvent(e);

  cleanups.push(cluster.objects.subscribe(onEvent));
  cleanups.push(cluster.onClose(stop));
  cleanups.push(o.registry.add(stop));
  const timeout = setTimeout(stop, o.timeoutMs);
  cleanups.push(() => clearTimeout(timeout));
  o.req.raw.on('close', stop);
  raw.on('error', stop);

  if (DERIVED_NEEDS[key]) {
    let polling = false;
    const poll = setInterval(() => {
      if (polling || stopped) return;
      polling = true;
      o.derived()
        .then((list) => {
          const seen = new Set<string>();
          for (const d of list) {
            if (!selection.matches(d)) continue;
            const k = keyOf(d);
            seen.add(k);
            const prev = known.get(k);
            if (!prev) send('ADDED', d);
            else if (prev.metadata.resourceVersion !== d.metadata.resourceVersion) send('MODIFIED', d);
            known.set(k, d);
          }
          for (const [k, d] of known)
            if (!seen.has(k)) {
              known.delete(k);
              send('DELETED', d);
            }
        })
        .catch((err: unknown) =>
          o.logger.warn({ event: 'kube-apiserver.watch_poll_failed', err }, 'derived poll failed'),
        )
        .finally(() => {
          polling = false;
        });
    }, o.pollIntervalMs);
    cleanups.push(() => clearInterval(poll));
  }
}
