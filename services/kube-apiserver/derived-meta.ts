/**
 * Why this file: what every derived object shares, split out of derived.ts so the nodes, the Arc
 * Arc config objects can each live in their own file. It holds the input
 * they are computed from (DerivedInput), the Arc agents' namespace, and the stamping each gets: a
 * deterministic uid, a creationTimestamp and a content-hash resourceVersion (see derived.ts for why).
 */
import { createHash } from 'node:crypto';
import type { ClusterState, IdentitySecret, LinkConnectivity } from '../../contract/index.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { kubeTime } from './object-store.js';

export const ARC_NAMESPACE = 'azure-arc';

export interface DerivedInput {
  readonly state: ClusterState;
  /** Real ms the cluster came into being (its directory's birth time); creationTimestamp of derived objects. */
  readonly createdAtMs: number;
  /** Real ms now. */
  readonly nowMs: number;
  /** Stored namespaces (each gets a `default` ServiceAccount). */
  readonly storedNamespaces?: readonly string[];
  readonly identity?: IdentitySecret | undefined;
}

/** What the stored `clustermetadata`'s lastConnectivityTime is filled in from (derived-arc-config.ts). */
export interface DerivedConnectivity {
  /** resource-sync-agent's link record; undefined before its first link. */
  readonly record: LinkConnectivity | undefined;
  /** Simulated ms up to which a link still marked up kept heartbeating: now, or when its process died. */
  readonly untilMs: number;
}

export function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Deterministic uid: the same object gets the same uid on every read. */
export function uidOf(cluster: string, kind: string, namespace: string, name: string): string {
  const h = hash(`${cluster}/${kind}/${namespace}/${name}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Stamps uid, creationTimestamp (unless set) and a content-hash resourceVersion. */
export function finish(input: DerivedInput, obj: KubeObject): KubeObject {
  const meta = obj.metadata;
  const out: KubeObject = {
    ...obj,
    metadata: {
      ...meta,
      uid: uidOf(input.state.name, obj.kind, meta.namespace ?? '', meta.name),
      creationTimestamp: meta.creationTimestamp ?? kubeTime(input.createdAtMs),
    },
  };
  // A decimal string like the stored ones (some clients parse it as a number); 48 bits of the hash.
  out.metadata.resourceVersion = String(parseInt(hash(JSON.stringify(out)).slice(0, 12), 16));
  return out;
}

export function kubeletVersion(v: string): string {
  return v.startsWith('v') ? v : `v${v}`;
}
