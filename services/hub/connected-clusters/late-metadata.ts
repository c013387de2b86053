/**
 * Cluster metadata shows up late, as in the real service (roughly 5-10 minutes after onboarding): the
 * hub takes and acknowledges the agents' reports at once (nothing is lost), but keeps them pending
 * until the cluster's metadata time, drawn once when its agents first register. Until then the
 * resource's read-only metadata fields are null. Pure: record and times in, record changed in place.
 */
import type { ClusterRecord } from './projection.js';

type Metadata = NonNullable<ClusterRecord['metadata']>;

/** When a cluster whose agents register now first shows its metadata. */
export function metadataDueAt(
  nowMs: number,
  delayMs: number,
  jitterMs: number,
  random = Math.random,
): number {
  return nowMs + delayMs + Math.floor(random() * jitterMs);
}

/** The newest report the hub holds, shown or pending. */
export function newestMetadata(record: ClusterRecord): Metadata | undefined {
  return record.pendingMetadata ?? record.metadata;
}

/** Takes a report newer than any held; returns false for an older or repeated one. */
export function offerMetadata(record: ClusterRecord, incoming: Metadata, nowMs: number): boolean {
  const held = newestMetadata(record);
  if (held !== undefined && incoming.generation <= held.generation) return false;
  if (record.metadataDueMs !== undefined && nowMs < record.metadataDueMs) record.pendingMetadata = incoming;
  else {
    record.metadata = incoming;
    record.pendingMetadata = undefined;
  }
  return true;
}

/** Shows a pending report once its time has come; returns true when it did. */
export function showDueMetadata(record: ClusterRecord, nowMs: number): boolean {
  const pending = record.pendingMetadata;
  if (pending === undefined || (record.metadataDueMs ?? 0) > nowMs) return false;
  record.metadata = pending;
  record.pendingMetadata = undefined;
  return true;
}
