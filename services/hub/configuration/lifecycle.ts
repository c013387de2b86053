/**
 * The configuration resources' state machine, pure: ARM writes, agent statuses and deadline
 * evaluation applied to a cluster's ClusterConfigRecord with an explicit `now`. No I/O, no clock.
 * This file: what all resources share and the deadlines; extensions.ts, flux.ts and linkers.ts: each
 * resource's writes and statuses.
 *
 * A write bumps `generation`, sets Creating/Updating/Deleting and a deadline (now + operation
 * timeout). The agent's status for the current generation settles it (and acknowledges the held
 * protected settings, which the hub then drops). A deadline passed while the cluster is Connected →
 * Failed with AgentResponseTimeout (its extension agents do not answer); the desired state stays, so a
 * later status for the same generation still settles it (recovery). While the cluster is not connected,
 * an extension is Pending instead, as the real service shows it, until the protected-settings hold
 * runs out (then Failed); the cluster's return starts a fresh operation deadline.
 */
import { randomUUID } from 'node:crypto';
import {
  type CatalogEntry,
  type ExtensionStatusCondition,
  ArcError,
  ERROR_CODES,
} from '../../../contract/index.js';
import {
  isBusy,
  type Audit,
  type ClusterConfigRecord,
  type ExtensionRecord,
  type Reconciled,
  type Settings,
} from './records.js';

/** The real service's words (ARC-FACTS). */
export const AGENT_TIMEOUT_MESSAGE = 'Unable to get a response from the agent in time';
export const DEFAULT_INTERVAL_SECONDS = 600;

export interface WriteContext {
  nowMs: number;
  caller: string;
  catalog: readonly CatalogEntry[];
  operationTimeoutMs: number;
}

export interface Deadlines {
  operationTimeoutMs: number;
  protectedSettingsHoldMs: number;
  /** The cluster heartbeats (Connected): silence is its agents', not the link's. Default true. */
  clusterConnected?: boolean;
}

/** What an evaluation or a status did, for metrics and logs. */
export interface ConfigEvent {
  kind: 'timedOut' | 'protectedSettingsExpired' | 'removed' | 'settled' | 'pending';
  resource: 'extension' | 'fluxConfiguration' | 'sourceControlConfiguration';
  name: string;
  state?: string;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function newAudit(ctx: WriteContext): Audit {
  const at = iso(ctx.nowMs);
  return {
    uid: randomUUID(),
    createdBy: ctx.caller,
    createdAt: at,
    lastModifiedBy: ctx.caller,
    lastModifiedAt: at,
  };
}

export function touch(a: Audit, ctx: WriteContext): void {
  a.lastModifiedBy = ctx.caller;
  a.lastModifiedAt = iso(ctx.nowMs);
}

/** A new desired generation: the agents have until the deadline to answer it. */
/** The lifecycle fields of a resource just created: generation 1, Creating, the agents' clock running. */
export function created(protectedSettings: Settings, ctx: WriteContext): Reconciled {
  const r: Reconciled = {
    generation: 0,
    deleting: false,
    provisioningState: 'Creating',
    deadlineMs: null,
    protectedSettings: null,
    protectedHeldSinceMs: null,
  };
  bump(r, 'Creating', protectedSettings, ctx);
  return r;
}

export function bump(
  r: Reconciled,
  state: 'Creating' | 'Updating' | 'Deleting',
  protectedSettings: Settings | null,
  ctx: WriteContext,
): void {
  r.generation += 1;
  r.provisioningState = state;
  r.deleting = state === 'Deleting';
  r.deadlineMs = ctx.nowMs + ctx.operationTimeoutMs;
  r.protectedSettings = protectedSettings;
  r.protectedHeldSinceMs = protectedSettings === null ? null : ctx.nowMs;
  r.pendingSinceMs = null;
}

export function conflictIfDeleting(r: Reconciled, kind: string, name: string): void {
  if (r.provisioningState === 'Deleting')
    throw new ArcError(
      ERROR_CODES.Conflict,
      `The ${kind} '${name}' is being deleted; retry once the deletion has completed.`,
      { status: 409 },
    );
}

export function notAllowed(field: string, message: string): ArcError {
  return new ArcError(ERROR_CODES.PropertyChangeNotAllowed, message, { status: 400, target: field });
}

export function invalid(field: string, message: string): ArcError {
  return new ArcError(ERROR_CODES.InvalidParameter, message, { status: 400, target: field });
}

// ---- deadlines ----

function holdText(ms: number): string {
  const h = ms / 3_600_000;
  return Number.isInteger(h) ? `${h} hours` : `${Math.round(ms / 60_000)} minutes`;
}

/** The agents did not answer in time: Failed with the real service's words. */
function failTimedOut(r: ExtensionRecord, time: string): ConfigEvent {
  r.provisioningState = 'Failed';
  r.errorInfo = { code: ERROR_CODES.AgentResponseTimeout, message: AGENT_TIMEOUT_MESSAGE };
  r.statuses = [
    {
      code: ERROR_CODES.AgentResponseTimeout,
      displayStatus: 'Failed',
      level: 'Error',
      message: AGENT_TIMEOUT_MESSAGE,
      time,
    },
  ];
  return { kind: 'timedOut', resource: 'extension', name: r.name };
}

/** What a Pending extension says while its cluster is not connected. */
function pendingStatus(
  r: { name: string; protectedHeldSinceMs: number | null },
  d: Deadlines,
  time: string,
): ExtensionStatusCondition {
  const until = iso((r.protectedHeldSinceMs ?? Date.parse(time)) + d.protectedSettingsHoldMs);
  return {
    code: 'Pending',
    displayStatus: 'Pending',
    level: 'Warning',
    message: `The cluster is not connected: the operation on extension '${r.name}' waits for the cluster's agents and completes once they connect. It fails if they have not by ${until} (the service keeps protected settings for ${holdText(d.protectedSettingsHoldMs)}).`,
    time,
  };
}

/** Operation timeouts and the protected-settings hold, against `nowMs`. */
export function evaluateDeadlines(cfg: ClusterConfigRecord, nowMs: number, d: Deadlines): ConfigEvent[] {
  const events: ConfigEvent[] = [];
  const time = iso(nowMs);
  const connected = d.clusterConnected ?? true;
  for (const r of Object.values(cfg.extensions)) {
    // The cluster is back while an extension waited for it: its agents get a fresh deadline.
    if (connected && r.pendingSinceMs != null) {
      r.pendingSinceMs = null;
      if (isBusy(r.provisioningState)) r.deadlineMs = nowMs + d.operationTimeoutMs;
    }
    if (r.deadlineMs !== null && nowMs >= r.deadlineMs && isBusy(r.provisioningState) && !connected) {
      r.deadlineMs = null;
      r.pendingSinceMs = nowMs;
      r.statuses = [pendingStatus(r, d, time)];
      events.push({ kind: 'pending', resource: 'extension', name: r.name });
    }
    if (r.deadlineMs !== null && nowMs >= r.deadlineMs) {
      r.deadlineMs = null;
      if (isBusy(r.provisioningState)) {
        events.push(failTimedOut(r, time));
      }
    }
    // Pending with nothing held: the hold's length still bounds the wait.
    if (
      r.pendingSinceMs != null &&
      Object.keys(r.protectedSettings ?? {}).length === 0 &&
      nowMs >= r.pendingSinceMs + d.protectedSettingsHoldMs &&
      isBusy(r.provisioningState)
    ) {
      r.pendingSinceMs = null;
      events.push(failTimedOut(r, time));
    }
    if (
      r.protectedSettings !== null &&
      r.protectedHeldSinceMs !== null &&
      nowMs >= r.protectedHeldSinceMs + d.protectedSettingsHoldMs
    ) {
      const had = Object.keys(r.protectedSettings).length > 0;
      r.protectedSettings = null;
      r.protectedHeldSinceMs = null;
      // An empty set protects nothing: dropping it is not a failure.
      if (had) {
        const message = `The configuration protected settings of extension '${r.name}' were not fetched by the cluster's agents within ${holdText(d.protectedSettingsHoldMs)} and have been discarded. Send them again with a PUT or PATCH once the cluster is connected.`;
        r.provisioningState = 'Failed';
        r.pendingSinceMs = null;
        r.expiredGeneration = r.generation;
        r.errorInfo = { code: ERROR_CODES.ProtectedSettingsExpired, message };
        r.statuses = [
          {
            code: ERROR_CODES.ProtectedSettingsExpired,
            displayStatus: 'Failed',
            level: 'Error',
            message,
            time,
          },
        ];
        events.push({ kind: 'protectedSettingsExpired', resource: 'extension', name: r.name });
      }
    }
  }
  for (const r of Object.values(cfg.fluxConfigurations)) {
    if (r.deadlineMs !== null && nowMs >= r.deadlineMs) {
      r.deadlineMs = null;
      if (isBusy(r.provisioningState)) {
        r.provisioningState = 'Failed';
        r.complianceState = 'Unknown';
        r.errorMessage = AGENT_TIMEOUT_MESSAGE;
        events.push({ kind: 'timedOut', resource: 'fluxConfiguration', name: r.name });
      }
    }
    // Flux protected settings never leave the hub (the desired state has no field for them): just drop them.
    if (r.protectedHeldSinceMs !== null && nowMs >= r.protectedHeldSinceMs + d.protectedSettingsHoldMs) {
      r.protectedSettings = null;
      r.protectedHeldSinceMs = null;
    }
  }
  return events;
}
