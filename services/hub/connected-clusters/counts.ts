/**
 * Counting the connected clusters: the fleet's breakdowns (metrics, the summary, the page) and the
 * clusters per resource group that ARM's 800-per-group quota needs. Pure over the records given.
 */
import type { ClusterRef, ConnectivityStatus, ProvisioningState } from '../../../contract/index.js';
import type { ClusterRecord } from './projection.js';

export interface FleetCounts {
  byStatus: Map<ConnectivityStatus, number>;
  byProvisioningState: Map<ProvisioningState, number>;
  byLocation: Map<string, number>;
  byDistribution: Map<string, number>;
  /** By the agent version the clusters report (those that reported metadata; deleting ones not). */
  byAgentVersion: Map<string, number>;
}

function bump<K>(m: Map<K, number>, k: K): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

export function countRecords(records: Iterable<ClusterRecord>): FleetCounts {
  const counts: FleetCounts = {
    byStatus: new Map(),
    byProvisioningState: new Map(),
    byLocation: new Map(),
    byDistribution: new Map(),
    byAgentVersion: new Map(),
  };
  for (const r of records) {
    bump(counts.byStatus, r.connectivity.status);
    bump(counts.byProvisioningState, r.provisioningState);
    bump(counts.byLocation, r.desired.location);
    bump(counts.byDistribution, r.desired.distribution ?? r.metadata?.distribution ?? '');
    if (r.metadata && r.provisioningState !== 'Deleting')
      bump(counts.byAgentVersion, r.metadata.agentVersion);
  }
  return counts;
}

function groupKey(ref: ClusterRef): string {
  return `${ref.subscriptionId.toLowerCase()}/${ref.resourceGroup.toLowerCase()}`;
}

/** Clusters per resource group, built from the records on first use and kept by `adjust` after. */
export class GroupCounts {
  private counts: Map<string, number> | undefined;

  constructor(private readonly records: () => Iterable<ClusterRecord>) {}

  count(ref: ClusterRef): number {
    if (!this.counts) {
      this.counts = new Map();
      for (const r of this.records()) bump(this.counts, groupKey(r.ref));
    }
    return this.counts.get(groupKey(ref)) ?? 0;
  }

  adjust(ref: ClusterRef, delta: number): void {
    if (!this.counts) return;
    const k = groupKey(ref);
    this.counts.set(k, (this.counts.get(k) ?? 0) + delta);
  }
}
