/**
 * Legacy `sourceControlConfigurations` (Flux v1): writes, desired state and config-agent's statuses.
 * Unlike fluxConfigurations the write is synchronous: a PUT is `Succeeded` at once and the operator's
 * progress shows only in `complianceStatus` (Pending until config-agent reports, then Installed,
 * Compliant, Noncompliant or Failed). A DELETE shows `Deleting` until config-agent has removed the
 * operator; the hub forgets it anyway when the protected-settings hold runs out, so a cluster that
 * never comes back cannot keep it forever.
 */
import {
  ArcError,
  ERROR_CODES,
  type DesiredSourceControl,
  type SourceControlStatus,
} from '../../../contract/index.js';
import { iso, newAudit, notAllowed, touch, type ConfigEvent, type WriteContext } from './lifecycle.js';
import type { ClusterConfigRecord, SourceControlRecord } from './records.js';
import type { SourceControlPut } from './validation-source-control.js';

const IMMUTABLE = ['operatorNamespace', 'operatorInstanceName', 'operatorScope'] as const;

function pending(message: string): SourceControlRecord['complianceStatus'] {
  return { complianceState: 'Pending', lastConfigApplied: null, message, messageLevel: 'Information' };
}

export function putSourceControl(
  cfg: ClusterConfigRecord,
  name: string,
  input: SourceControlPut,
  ctx: WriteContext,
): { record: SourceControlRecord; created: boolean } {
  const id = name.toLowerCase();
  const existing = cfg.sourceControlConfigurations[id];
  const spec = {
    repositoryUrl: input.repositoryUrl,
    operatorNamespace: input.operatorNamespace ?? existing?.operatorNamespace ?? 'default',
    operatorInstanceName: input.operatorInstanceName ?? existing?.operatorInstanceName ?? name,
    operatorType: 'Flux' as const,
    operatorParams: input.operatorParams ?? '',
    operatorScope: input.operatorScope ?? existing?.operatorScope ?? 'cluster',
    sshKnownHostsContents: input.sshKnownHostsContents ?? '',
    enableHelmOperator: input.enableHelmOperator ?? false,
    helmOperatorProperties: input.helmOperatorProperties
      ? {
          chartVersion: input.helmOperatorProperties.chartVersion ?? '',
          chartValues: input.helmOperatorProperties.chartValues ?? '',
        }
      : null,
  };
  const held = {
    protectedSettings: input.configurationProtectedSettings ?? {},
    protectedHeldSinceMs: ctx.nowMs,
  };
  if (existing) {
    if (existing.deleting)
      throw new ArcError(
        ERROR_CODES.Conflict,
        `The source control configuration '${existing.name}' is being deleted; retry once the deletion has completed.`,
        { status: 409 },
      );
    for (const field of IMMUTABLE)
      if (existing[field] !== spec[field])
        throw notAllowed(
          `properties.${field}`,
          `Changing property 'properties.${field}' is not allowed: the source control configuration '${existing.name}' has ${field} '${existing[field]}'.`,
        );
    Object.assign(existing, spec, held);
    existing.generation += 1;
    existing.provisioningState = 'Succeeded';
    existing.complianceStatus = pending('Configuration successfully updated');
    touch(existing, ctx);
    return { record: existing, created: false };
  }
  const record: SourceControlRecord = {
    ...newAudit(ctx),
    name,
    ...spec,
    ...held,
    repositoryPublicKey: '',
    generation: 1,
    deleting: false,
    provisioningState: 'Succeeded',
    complianceStatus: pending('Configuration successfully created'),
  };
  cfg.sourceControlConfigurations[id] = record;
  return { record, created: true };
}

export function deleteSourceControl(r: SourceControlRecord, ctx: WriteContext): void {
  if (r.deleting) return;
  r.deleting = true;
  r.generation += 1;
  r.provisioningState = 'Deleting';
  r.protectedSettings = null;
  // The hold bounds how long the hub waits for config-agent to confirm.
  r.protectedHeldSinceMs = ctx.nowMs;
  touch(r, ctx);
}

export function desiredSourceControl(cfg: ClusterConfigRecord): DesiredSourceControl[] {
  return Object.values(cfg.sourceControlConfigurations).map((r) => ({
    name: r.name,
    repositoryUrl: r.repositoryUrl,
    operatorNamespace: r.operatorNamespace,
    operatorInstanceName: r.operatorInstanceName,
    operatorScope: r.operatorScope,
    operatorParams: r.operatorParams,
    sshKnownHostsContents: r.sshKnownHostsContents,
    enableHelmOperator: r.enableHelmOperator,
    helmOperatorProperties: r.helmOperatorProperties,
    configurationProtectedSettings: r.deleting ? null : r.protectedSettings,
    generation: r.generation,
    deleting: r.deleting,
  }));
}

export function applySourceControlStatus(
  cfg: ClusterConfigRecord,
  s: SourceControlStatus,
): ConfigEvent | undefined {
  const id = s.name.toLowerCase();
  const r = cfg.sourceControlConfigurations[id];
  if (!r || s.generation !== r.generation) return undefined;
  if (r.deleting) {
    if (!s.deleted) return undefined;
    delete cfg.sourceControlConfigurations[id];
    return { kind: 'removed', resource: 'sourceControlConfiguration', name: r.name };
  }
  // config-agent has this generation: the hub stops holding its protected settings.
  r.protectedSettings = null;
  r.protectedHeldSinceMs = null;
  r.repositoryPublicKey = s.repositoryPublicKey;
  r.complianceStatus = {
    complianceState: s.complianceState,
    lastConfigApplied: s.lastConfigApplied ?? r.complianceStatus.lastConfigApplied,
    message: s.message,
    messageLevel: s.messageLevel,
  };
  return {
    kind: 'settled',
    resource: 'sourceControlConfiguration',
    name: r.name,
    state: s.complianceState,
  };
}

/**
 * The hold, against `nowMs`: protected settings config-agent never fetched are dropped (the operator
 * then cannot authenticate: Failed, as the real service shows it), and a deletion never confirmed is
 * forgotten.
 */
export function evaluateSourceControlHold(
  cfg: ClusterConfigRecord,
  nowMs: number,
  holdMs: number,
): ConfigEvent[] {
  const events: ConfigEvent[] = [];
  for (const [id, r] of Object.entries(cfg.sourceControlConfigurations)) {
    if (r.protectedHeldSinceMs === null || nowMs < r.protectedHeldSinceMs + holdMs) continue;
    r.protectedHeldSinceMs = null;
    if (r.deleting) {
      delete cfg.sourceControlConfigurations[id];
      events.push({ kind: 'removed', resource: 'sourceControlConfiguration', name: r.name });
      continue;
    }
    const had = Object.keys(r.protectedSettings ?? {}).length > 0;
    r.protectedSettings = null;
    if (!had) continue;
    r.complianceStatus = {
      complianceState: 'Failed',
      lastConfigApplied: r.complianceStatus.lastConfigApplied,
      message: `The configuration protected settings of '${r.name}' were not fetched by the cluster's agents by ${iso(nowMs)} and have been discarded. Send them again with a PUT once the cluster is connected.`,
      messageLevel: 'Error',
    };
    events.push({ kind: 'protectedSettingsExpired', resource: 'sourceControlConfiguration', name: r.name });
  }
  return events;
}
