/**
 * The configuration resources' state machine, pure: ARM writes, agent statuses and deadline
 * evaluation applied to a cluster's ClusterConfigRecord with an explicit `now`. No I/O, no clock.
 * This file: what all resources share and the deadlines; extensions.ts, flux.ts and linkers.ts: each
 * resource's writes and statuses.
 *
 * A write bumps `generation`, sets Creating/Updating/Deleting and a deadline (now + operation
 * timeout). The agent's status for the current generation settles it (and acknowledges the held
 * protected settings, which the hub then drops). A deadline passed → Failed with
 * AgentResponseTimeout; the desired state stays, so a later status for the same generation still
 * settles it (recovery).
 */
import { randomUUID } from 'node:crypto';
import { type CatalogEntry, ArcError, ERROR_CODES } from '../../../contract/index.js';
import { isBusy, type Audit, type ClusterConfigRecord, type Reconciled, type Settings } from './records.js';

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
}

/** What an evaluation or a status did, for metrics and logs. */
export interface ConfigEvent {
  kind: 'timedOut' | 'protectedSettingsExpired' | 'removed' | 'settled';
  resource: 'extension' | 'fluxConfiguration';
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

/** Operation timeouts and the protected-settings hold, against `nowMs`. */
export function evaluateDeadlines(cfg: ClusterConfigRecord, nowMs: number, d: Deadlines): ConfigEvent[] {
  const events: ConfigEvent[] = [];
  const time = iso(nowMs);
  for (const r of Object.values(cfg.extensions)) {
    if (r.deadlineMs !== null && nowMs >= r.deadlineMs) {
      r.deadlineMs = null;
      if (isBusy(r.provisioningState)) {
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
        events.push({ kind: 'timedOut', resource: 'extension', name: r.name });
      }
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
