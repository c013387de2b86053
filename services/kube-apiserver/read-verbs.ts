/**
 * Why this file: the read verbs (get, list and the selection a watch shares with list) in one place.
 * A read merges the cluster's stored objects with the derived ones (derived.ts) and filters them by
 * namespace, name, label selector and field selector; the write verbs reuse getObject and derivedOf
 * to find what they change.
 */
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { groupVersion, type KubeResource } from '../../contract/index.js';
import type { ClusterHandle } from './clusters.js';
import { resourceKey } from './object-store.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';

export interface Selection {
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  matches(obj: KubeObject): boolean;
}

function sortObjects(items: KubeObject[]): KubeObject[] {
  return items.sort((a, b) => {
    const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
    const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

export function select(
  r: KubeResource,
  namespace: string | undefined,
  name: string | undefined,
  query: URLSearchParams,
): Selection {
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
  return {
    namespace,
    name,
    matches: (obj) =>
      (namespace === undefined || !r.namespaced || obj.metadata.namespace === namespace) &&
      (name === undefined || obj.metadata.name === name) &&
      matchesLabels(labels, obj.metadata.labels) &&
      matchesFields(fields, obj.metadata),
  };
}

export async function derivedOf(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
): Promise<KubeObject[]> {
  const all = await cluster.derived(resourceKey(r));
  return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
}

export async function getObject(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
): Promise<KubeObject | undefined> {
  const stored = cluster.objects.get(r, namespace, name);
  if (stored) return (await cluster.presented(resourceKey(r), [stored]))[0];
  return (await derivedOf(cluster, r, namespace)).find((o) => o.metadata.name === name);
}

export async function list(
  cluster: ClusterHandle,
  r: KubeResource,
  selection: Selection,
): Promise<{
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string };
  items: KubeObject[];
}> {
  const rv = cluster.objects.resourceVersion;
  const items = [
    ...(await derivedOf(cluster, r, selection.namespace)),
    ...(await cluster.presented(resourceKey(r), cluster.objects.list(r, selection.namespace))),
  ].filter(selection.matches);
  return {
    kind: `${r.kind}List`,
    apiVersion: groupVersion(r),
    metadata: { resourceVersion: String(rv) },
    items: sortObjects(items),
  };
}
