/**
 * Timestamps as the cluster side writes them. Cluster-state timestamps are written by hand (fleet
 * specs, the CLI) and may not parse; a report to the hub must carry a valid ISO time, so agents
 * normalise them here. Kubernetes objects carry whole-second RFC 3339 times (`kubeTime`), shared by
 * the emulated apiserver and the controllers that write objects through it.
 */

/** ISO string for a cluster-state timestamp, `fallbackMs` when it does not parse. */
export function toIso(value: string, fallbackMs: number): string {
  const t = Date.parse(value);
  return new Date(Number.isNaN(t) ? fallbackMs : t).toISOString();
}

/** Kubernetes' metav1.Time: RFC 3339 at whole seconds (`2026-01-01T00:00:00Z`). */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
