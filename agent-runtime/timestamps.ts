/**
 * Cluster-state timestamps are written by hand (fleet specs, the CLI) and may not parse; a report
 * to the hub must carry a valid ISO time, so agents normalise them here.
 */

/** ISO string for a cluster-state timestamp, `fallbackMs` when it does not parse. */
export function toIso(value: string, fallbackMs: number): string {
  const t = Date.parse(value);
  return new Date(Number.isNaN(t) ? fallbackMs : t).toISOString();
}
