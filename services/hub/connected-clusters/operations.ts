/**
 * The asynchronous operations of connectedClusters writes, run as ARM runs them (docs/arc-parity.md):
 * - a PUT answers at once, `Accepted` (new) or `Updating` (existing), and its operation completes on its
 *   own after `provisioningDelayMs`, whether or not any agent ever comes: `az connectedk8s connect` waits
 *   for it before it installs the agents, so an operation that waited for the agents would deadlock;
 * - a DELETE answers 202, shows `Deleting`, and the resource goes after `deleteDelayMs`;
 * - a newer operation on the resource cancels a running one (`Canceled`).
 * Operation ids carry the resource's key, so a DELETE's status is still known once the resource is gone.
 * Pure: a record and times in, the record changed in place.
 */
import { randomUUID } from 'node:crypto';
import { ERROR_CODES } from '../../../contract/index.js';
import type { ClusterRecord, OperationStatus } from './projection.js';

export type OperationKind = 'write' | 'delete';

export interface ClusterOperation {
  id: string;
  /** Absent in records from before DELETE was asynchronous: a write. */
  kind?: OperationKind | undefined;
  status: OperationStatus;
  startTime: string;
  endTime?: string | undefined;
  /** Simulated ms at which a running operation completes; absent in older records: at once. */
  dueMs?: number | undefined;
  error?: { code: string; message: string } | undefined;
}

/** What a status read answers. */
export interface OperationView {
  status: OperationStatus;
  kind: OperationKind;
  startTime?: string | undefined;
  endTime?: string | undefined;
  error?: { code: string; message: string } | undefined;
}

/** Finished operations of a record still answered by id after a newer one started (bounded). */
export const PAST_OPERATIONS_KEPT = 5;

/**
 * The tag that makes a PUT's operation fail, with the tag's value as the message: how a test makes the
 * service refuse an onboarding (the real reasons, such as policy or a failed identity creation, are not
 * emulated). Tag names cannot hold '/', so no `arcfleet.io/` prefix.
 */
export const FAIL_PROVISIONING_TAG = 'arcfleet-fail-provisioning';

const KIND_LETTER: Record<OperationKind, string> = { write: 'w', delete: 'd' };

export function newOperationId(key: string, kind: OperationKind): string {
  return `${randomUUID()}.${KIND_LETTER[kind]}.${Buffer.from(key).toString('base64url')}`;
}

/** The resource key and kind an operation id names; undefined for ids of another form. */
export function parseOperationId(id: string): { key: string; kind: OperationKind } | undefined {
  const m = /^[0-9a-f-]{36}\.([wd])\.([A-Za-z0-9_-]{1,400})$/.exec(id);
  if (!m) return undefined;
  return { key: Buffer.from(m[2] ?? '', 'base64url').toString(), kind: m[1] === 'd' ? 'delete' : 'write' };
}

function retire(record: ClusterRecord, nowIso: string): void {
  const op = record.operation;
  const past = record.pastOperations ?? [];
  past.push(
    op.status === 'InProgress'
      ? { id: op.id, kind: op.kind ?? 'write', status: 'Canceled', endTime: nowIso }
      : { id: op.id, kind: op.kind ?? 'write', status: op.status, endTime: op.endTime },
  );
  record.pastOperations = past.slice(-PAST_OPERATIONS_KEPT);
}

/** A new operation of `kind` on resource `key`, completing `delayMs` from now. */
export function createOperation(
  key: string,
  kind: OperationKind,
  nowMs: number,
  delayMs: number,
): ClusterOperation {
  return {
    id: newOperationId(key, kind),
    kind,
    status: 'InProgress',
    startTime: new Date(nowMs).toISOString(),
    dueMs: nowMs + delayMs,
  };
}

function begin(
  record: ClusterRecord,
  kind: OperationKind,
  state: 'Updating' | 'Deleting',
  nowMs: number,
  delayMs: number,
): void {
  retire(record, new Date(nowMs).toISOString());
  record.provisioningState = state;
  record.operation = createOperation(record.key, kind, nowMs, delayMs);
}

/** A PUT over an existing resource: `Updating` until its operation completes. */
export function beginUpdate(record: ClusterRecord, nowMs: number, delayMs: number): void {
  begin(record, 'write', 'Updating', nowMs, delayMs);
}

/** A DELETE: `Deleting` until the resource goes; false when one is already running (same operation). */
export function beginDelete(record: ClusterRecord, nowMs: number, delayMs: number): boolean {
  if (record.provisioningState === 'Deleting' && record.operation.kind === 'delete') return false;
  begin(record, 'delete', 'Deleting', nowMs, delayMs);
  return true;
}

/** A running operation whose time has come (older records' running operations: at once). */
export function isDue(record: ClusterRecord, nowMs: number): boolean {
  return record.operation.status === 'InProgress' && (record.operation.dueMs ?? 0) <= nowMs;
}

/** Why a write's operation fails, if the resource asks for it (FAIL_PROVISIONING_TAG). */
export function provisioningFailure(record: ClusterRecord): { code: string; message: string } | undefined {
  for (const [k, v] of Object.entries(record.desired.tags))
    if (k.toLowerCase() === FAIL_PROVISIONING_TAG)
      return {
        code: ERROR_CODES.OnboardingFailed,
        message: `The onboarding of connected cluster '${record.ref.name}' was refused: ${v === '' ? 'requested by the resource tag' : v}.`,
      };
  return undefined;
}

/** Completes a running write: Succeeded, or Failed with `failure`. */
export function completeWrite(
  record: ClusterRecord,
  nowMs: number,
  failure: { code: string; message: string } | undefined,
): void {
  record.provisioningState = failure ? 'Failed' : 'Succeeded';
  record.operation = {
    ...record.operation,
    status: failure ? 'Failed' : 'Succeeded',
    endTime: new Date(nowMs).toISOString(),
    dueMs: undefined,
    ...(failure ? { error: failure } : {}),
  };
}

/** Completes a due write: Succeeded, or Failed when the resource asks for it; a refused onboarding's agents cannot register. */
export function completeDueWrite(record: ClusterRecord, nowMs: number): void {
  const failure = provisioningFailure(record);
  completeWrite(record, nowMs, failure);
  if (failure && record.identity.serials.length === 0) record.bootstrapTokenHash = undefined;
}

/**
 * The status of operation `id` given the record its id names (undefined: gone). A DELETE whose resource
 * is gone (or was created again since) succeeded; any other unknown id is not found.
 */
export function operationView(record: ClusterRecord | undefined, id: string): OperationView | undefined {
  if (record) {
    const op = record.operation;
    if (op.id === id)
      return {
        status: op.status,
        kind: op.kind ?? 'write',
        startTime: op.startTime,
        endTime: op.endTime,
        error: op.error,
      };
    const past = record.pastOperations?.find((p) => p.id === id);
    if (past) return { status: past.status, kind: past.kind, endTime: past.endTime };
  }
  const parsed = parseOperationId(id);
  if (parsed?.kind === 'delete') return { status: 'Succeeded', kind: 'delete' };
  return undefined;
}
