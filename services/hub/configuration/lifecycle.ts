/**
 * The configuration resources' state machine, pure: ARM writes, agent statuses and deadline
 * evaluation applied to a cluster's ClusterConfigRecord with an explicit `now`. No I/O, no clock.
 *
 * A write bumps `generation`, sets Creating/Updating/Deleting and a deadline (now + operation
 * timeout). The agent's status for the current generation settles it (and acknowledges the held
 * protected settings, which the hub then drops). A deadline passed → Failed with
 * AgentResponseTimeout; the desired state stays, so a later status for the same generation still
 * settles it (recovery).
 */
import { randomUUID } from 'node:crypto';
import {
  findCatalogEntry,
  targetVersion,
  type CatalogEntry,
  type DesiredExtension,
  type DesiredFluxConfiguration,
  type ExtensionScope,
  type ExtensionStatus,
  type FluxConfigurationStatus,
} from '../../../shared/configuration.js';
import { ArcError, ERROR_CODES } from '../../../shared/errors.js';
import type { ProvisioningState } from '../../../shared/arm.js';
import {
  isBusy,
  type Audit,
  type ClusterConfigRecord,
  type ExtensionRecord,
  type FluxRecord,
  type LinkerRecord,
  type Reconciled,
  type Settings,
} from './records.js';
import type { ExtensionPatch, ExtensionPut, FluxPut, LinkerPut } from './validation.js';

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

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function newAudit(ctx: WriteContext): Audit {
  const at = iso(ctx.nowMs);
  return {
    uid: randomUUID(),
    createdBy: ctx.caller,
    createdAt: at,
    lastModifiedBy: ctx.caller,
    lastModifiedAt: at,
  };
}

function touch(a: Audit, ctx: WriteContext): void {
  a.lastModifiedBy = ctx.caller;
  a.lastModifiedAt = iso(ctx.nowMs);
}

/** A new desired generation: the agents have until the deadline to answer it. */
function bump(
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

function conflictIfDeleting(r: Reconciled, kind: string, name: string): void {
  if (r.provisioningState === 'Deleting')
    throw new ArcError(
      ERROR_CODES.Conflict,
      `The ${kind} '${name}' is being deleted; retry once the deletion has completed.`,
      { status: 409 },
    );
}

function notAllowed(field: string, message: string): ArcError {
  return new ArcError(ERROR_CODES.PropertyChangeNotAllowed, message, { status: 400, target: field });
}

function invalid(field: string, message: string): ArcError {
  return new ArcError(ERROR_CODES.InvalidParameter, message, { status: 400, target: field });
}

// ---------------------------------------------------------------------------------------------
// Extensions
// ---------------------------------------------------------------------------------------------

function catalogEntry(catalog: readonly CatalogEntry[], extensionType: string): CatalogEntry {
  const entry = findCatalogEntry(catalog, extensionType);
  if (!entry)
    throw invalid(
      'properties.extensionType',
      `Invalid value for 'properties.extensionType': extension type '${extensionType}' does not exist. Known types: ${catalog.map((e) => e.extensionType).join(', ')}.`,
    );
  return entry;
}

function resolveScope(entry: CatalogEntry, name: string, input: ExtensionPut['scope']): ExtensionScope {
  if (input !== undefined && 'namespace' in input) {
    if (!entry.scopes.includes('namespace'))
      throw invalid(
        'properties.scope',
        `Invalid value for 'properties.scope': extension type '${entry.extensionType}' can only be installed with cluster scope.`,
      );
    return { namespace: { targetNamespace: input.namespace.targetNamespace ?? name } };
  }
  if (!entry.scopes.includes('cluster'))
    throw invalid(
      'properties.scope',
      `Invalid value for 'properties.scope': extension type '${entry.extensionType}' can only be installed with namespace scope.`,
    );
  return { cluster: { releaseNamespace: input?.cluster.releaseNamespace ?? entry.releaseNamespace } };
}

function checkVersion(
  entry: CatalogEntry,
  want: { releaseTrain: string; autoUpgradeMinorVersion: boolean; version: string | null },
  installed: string | null,
): void {
  if (want.autoUpgradeMinorVersion && want.version !== null)
    throw invalid(
      'properties.version',
      "Invalid value for 'properties.version': a version can only be pinned with autoUpgradeMinorVersion false.",
    );
  if (!want.autoUpgradeMinorVersion && want.version === null)
    throw invalid(
      'properties.version',
      "Invalid value for 'properties.version': required when autoUpgradeMinorVersion is false.",
    );
  const trains = Object.keys(entry.releaseTrains);
  if (!trains.some((t) => t.toLowerCase() === want.releaseTrain.toLowerCase()))
    throw invalid(
      'properties.releaseTrain',
      `Invalid value for 'properties.releaseTrain': release train '${want.releaseTrain}' does not exist for '${entry.extensionType}' (${trains.join(', ')}).`,
    );
  if (targetVersion(entry, want, installed) === undefined)
    throw invalid(
      'properties.version',
      `Invalid value for 'properties.version': version '${want.version ?? ''}' of '${entry.extensionType}' does not exist.`,
    );
}

export function putExtension(
  cfg: ClusterConfigRecord,
  name: string,
  input: ExtensionPut,
  ctx: WriteContext,
): { record: ExtensionRecord; created: boolean } {
  const id = name.toLowerCase();
  const existing = cfg.extensions[id];
  const entry = catalogEntry(ctx.catalog, input.extensionType);
  // A re-PUT that leaves scope out keeps the one it was installed with (scope cannot change anyway).
  const scope =
    existing && input.scope === undefined ? existing.scope : resolveScope(entry, name, input.scope);
  const want = {
    releaseTrain: input.releaseTrain ?? 'Stable',
    autoUpgradeMinorVersion: input.autoUpgradeMinorVersion ?? true,
    version: input.version ?? null,
  };
  if (existing) {
    conflictIfDeleting(existing, 'extension', existing.name);
    if (existing.extensionType.toLowerCase() !== input.extensionType.toLowerCase())
      throw notAllowed(
        'properties.extensionType',
        `Changing property 'properties.extensionType' is not allowed: the extension '${existing.name}' is of type '${existing.extensionType}'. Delete it and create a new one.`,
      );
    if (JSON.stringify(existing.scope) !== JSON.stringify(scope))
      throw notAllowed(
        'properties.scope',
        `Changing property 'properties.scope' is not allowed: the extension '${existing.name}' was installed with scope ${JSON.stringify(existing.scope)}.`,
      );
    checkVersion(entry, want, existing.currentVersion);
    Object.assign(existing, want, { configurationSettings: input.configurationSettings ?? {} });
    bump(existing, 'Updating', input.configurationProtectedSettings ?? {}, ctx);
    existing.expiredGeneration = null;
    touch(existing, ctx);
    return { record: existing, created: false };
  }
  checkVersion(entry, want, null);
  const record: ExtensionRecord = {
    ...newAudit(ctx),
    name,
    extensionType: input.extensionType,
    ...want,
    scope,
    configurationSettings: input.configurationSettings ?? {},
    currentVersion: null,
    statuses: [],
    errorInfo: null,
    appliedConnections: [],
    expiredGeneration: null,
    generation: 0,
    deleting: false,
    provisioningState: 'Creating',
    deadlineMs: null,
    protectedSettings: null,
    protectedHeldSinceMs: null,
  };
  bump(record, 'Creating', input.configurationProtectedSettings ?? {}, ctx);
  cfg.extensions[id] = record;
  return { record, created: true };
}

export function patchExtension(
  cfg: ClusterConfigRecord,
  record: ExtensionRecord,
  patch: ExtensionPatch,
  ctx: WriteContext,
): ExtensionRecord {
  conflictIfDeleting(record, 'extension', record.name);
  const entry = catalogEntry(ctx.catalog, record.extensionType);
  const want = {
    releaseTrain: patch.releaseTrain ?? record.releaseTrain,
    autoUpgradeMinorVersion: patch.autoUpgradeMinorVersion ?? record.autoUpgradeMinorVersion,
    // Turning auto-upgrade on unpins; a pin needs it off.
    version:
      patch.version !== undefined
        ? patch.version
        : patch.autoUpgradeMinorVersion === true
          ? null
          : record.version,
  };
  checkVersion(entry, want, record.currentVersion);
  const settings: Settings = { ...record.configurationSettings };
  for (const [k, v] of Object.entries(patch.configurationSettings ?? {}))
    if (v === null) delete settings[k];
    else settings[k] = v;
  Object.assign(record, want, { configurationSettings: settings });
  // As in the real API: the protected settings are what this request sends, omitted ones are deleted.
  bump(record, 'Updating', patch.configurationProtectedSettings ?? {}, ctx);
  record.expiredGeneration = null;
  touch(record, ctx);
  void cfg;
  return record;
}

/** Starts the uninstall; idempotent while one is in progress. */
export function deleteExtension(record: ExtensionRecord, ctx: WriteContext): ExtensionRecord {
  if (record.deleting && record.provisioningState === 'Deleting') return record;
  bump(record, 'Deleting', null, ctx);
  touch(record, ctx);
  return record;
}

export function connectionsFor(
  cfg: ClusterConfigRecord,
  record: ExtensionRecord,
  catalog: readonly CatalogEntry[],
) {
  if (record.deleting || !findCatalogEntry(catalog, record.extensionType)?.supportsConnections) return [];
  return Object.values(cfg.linkers)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((l) => ({
      name: l.name,
      namespace: l.scope,
      authType: l.authInfo.authType,
      targetId: l.targetService.id,
      clientId: l.authInfo.clientId,
      generation: l.generation,
    }));
}

export function desiredExtensions(
  cfg: ClusterConfigRecord,
  catalog: readonly CatalogEntry[],
): DesiredExtension[] {
  return Object.values(cfg.extensions).map((r) => ({
    name: r.name,
    extensionType: r.extensionType.toLowerCase(),
    releaseTrain: r.releaseTrain,
    autoUpgradeMinorVersion: r.autoUpgradeMinorVersion,
    version: r.version,
    scope: r.scope,
    configurationSettings: r.configurationSettings,
    configurationProtectedSettings: r.protectedSettings,
    generation: r.generation,
    deleting: r.deleting,
    connections: connectionsFor(cfg, r, catalog),
  }));
}

/** extension-manager's report on one extension. Returns what happened, or undefined when ignored. */
export function applyExtensionStatus(cfg: ClusterConfigRecord, s: ExtensionStatus): ConfigEvent | undefined {
  const id = s.name.toLowerCase();
  const r = cfg.extensions[id];
  // An older generation's report says nothing about what is wanted now.
  if (!r || s.generation !== r.generation) return undefined;
  // Contradictions (installed while deleting, uninstalled while not) settle nothing: the deadline runs on.
  if (r.deleting ? s.phase === 'Installed' : s.phase === 'Uninstalled') return undefined;
  // The agent has this generation, with its protected settings: the hub need not hold them longer.
  r.protectedSettings = null;
  r.protectedHeldSinceMs = null;
  r.deadlineMs = null;
  if (r.deleting) {
    if (s.phase === 'Uninstalled') {
      delete cfg.extensions[id];
      return { kind: 'removed', resource: 'extension', name: r.name };
    }
    r.provisioningState = 'Failed';
    r.errorInfo = s.errorInfo ?? { code: ERROR_CODES.InstallationFailed, message: 'The uninstall failed.' };
    r.statuses = s.statuses;
    return { kind: 'settled', resource: 'extension', name: r.name, state: r.provisioningState };
  }
  if (s.currentVersion !== null) r.currentVersion = s.currentVersion;
  r.statuses = s.statuses;
  r.appliedConnections = s.appliedConnections.map((n) => n.toLowerCase());
  for (const l of Object.values(cfg.linkers))
    if (l.provisioningState === 'Accepted' && r.appliedConnections.includes(l.name.toLowerCase()))
      l.provisioningState = 'Succeeded';
  if (r.expiredGeneration === r.generation) return undefined;
  if (s.phase === 'Installed') {
    r.provisioningState = 'Succeeded';
    r.errorInfo = null;
  } else {
    r.provisioningState = 'Failed';
    r.errorInfo = s.errorInfo ?? {
      code: ERROR_CODES.InstallationFailed,
      message: s.statuses.find((c) => c.level === 'Error')?.message ?? 'The installation failed.',
    };
  }
  return { kind: 'settled', resource: 'extension', name: r.name, state: r.provisioningState };
}

// ---------------------------------------------------------------------------------------------
// Flux configurations
// ---------------------------------------------------------------------------------------------

function fluxSpec(
  p: FluxPut,
): Omit<
  FluxRecord,
  | keyof Reconciled
  | keyof Audit
  | 'name'
  | 'complianceState'
  | 'statuses'
  | 'errorMessage'
  | 'sourceSyncedCommitId'
  | 'sourceUpdatedAt'
  | 'statusUpdatedAt'
> {
  const g = p.gitRepository;
  const b = p.bucket;
  const a = p.azureBlob;
  const kustomizations: FluxRecord['kustomizations'] = {};
  for (const [name, k] of Object.entries(p.kustomizations ?? {}))
    if (k !== null)
      kustomizations[name] = {
        name,
        path: k.path ?? '',
        dependsOn: k.dependsOn ?? [],
        timeoutInSeconds: k.timeoutInSeconds ?? DEFAULT_INTERVAL_SECONDS,
        syncIntervalInSeconds: k.syncIntervalInSeconds ?? DEFAULT_INTERVAL_SECONDS,
        prune: k.prune ?? false,
        force: k.force ?? false,
      };
  const sourceKind = p.sourceKind ?? 'GitRepository';
  return {
    scope: p.scope ?? 'cluster',
    namespace: p.namespace ?? 'default',
    sourceKind,
    suspend: p.suspend ?? false,
    gitRepository:
      g && sourceKind === 'GitRepository'
        ? {
            url: g.url,
            repositoryRef: Object.fromEntries(
              Object.entries(g.repositoryRef).filter(([, v]) => v !== null && v !== undefined),
            ),
            syncIntervalInSeconds: g.syncIntervalInSeconds ?? DEFAULT_INTERVAL_SECONDS,
            timeoutInSeconds: g.timeoutInSeconds ?? DEFAULT_INTERVAL_SECONDS,
            httpsUser: g.httpsUser ?? null,
            httpsCACert: g.httpsCACert ?? null,
            sshKnownHosts: g.sshKnownHosts ?? null,
            localAuthRef: g.localAuthRef ?? null,
            provider: g.provider ?? null,
          }
        : null,
    bucket:
      b && sourceKind === 'Bucket'
        ? {
            url: b.url,
            bucketName: b.bucketName,
            insecure: b.insecure ?? false,
            syncIntervalInSeconds: b.syncIntervalInSeconds ?? DEFAULT_INTERVAL_SECONDS,
            timeoutInSeconds: b.timeoutInSeconds ?? DEFAULT_INTERVAL_SECONDS,
            accessKey: b.accessKey ?? null,
            localAuthRef: b.localAuthRef ?? null,
          }
        : null,
    azureBlob:
      a && sourceKind === 'AzureBlob'
        ? {
            url: a.url,
            containerName: a.containerName,
            syncIntervalInSeconds: a.syncIntervalInSeconds ?? DEFAULT_INTERVAL_SECONDS,
            timeoutInSeconds: a.timeoutInSeconds ?? DEFAULT_INTERVAL_SECONDS,
            localAuthRef: a.localAuthRef ?? null,
          }
        : null,
    kustomizations,
  };
}

export function putFlux(
  cfg: ClusterConfigRecord,
  name: string,
  input: FluxPut,
  ctx: WriteContext,
): { record: FluxRecord; created: boolean } {
  const id = name.toLowerCase();
  const existing = cfg.fluxConfigurations[id];
  // scope and namespace cannot change: a re-PUT that leaves them out keeps the stored ones.
  const spec = fluxSpec(
    existing
      ? { ...input, scope: input.scope ?? existing.scope, namespace: input.namespace ?? existing.namespace }
      : input,
  );
  if (existing) {
    conflictIfDeleting(existing, 'Flux configuration', existing.name);
    for (const field of ['scope', 'namespace'] as const)
      if (existing[field] !== spec[field])
        throw notAllowed(
          `properties.${field}`,
          `Changing property 'properties.${field}' is not allowed: the Flux configuration '${existing.name}' has ${field} '${existing[field]}'.`,
        );
    Object.assign(existing, spec);
    bump(existing, 'Updating', input.configurationProtectedSettings ?? {}, ctx);
    existing.complianceState = 'Pending';
    touch(existing, ctx);
    return { record: existing, created: false };
  }
  const record: FluxRecord = {
    ...newAudit(ctx),
    name,
    ...spec,
    complianceState: 'Pending',
    statuses: [],
    errorMessage: null,
    sourceSyncedCommitId: null,
    sourceUpdatedAt: null,
    statusUpdatedAt: null,
    generation: 0,
    deleting: false,
    provisioningState: 'Creating',
    deadlineMs: null,
    protectedSettings: null,
    protectedHeldSinceMs: null,
  };
  bump(record, 'Creating', input.configurationProtectedSettings ?? {}, ctx);
  cfg.fluxConfigurations[id] = record;
  return { record, created: true };
}

/** The stored resource as a PUT document, for PATCH to merge into. */
export function fluxDocument(r: FluxRecord): Record<string, unknown> {
  const kustomizations: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.kustomizations)) {
    const { name: _name, ...rest } = v;
    kustomizations[k] = rest;
  }
  return {
    scope: r.scope,
    namespace: r.namespace,
    sourceKind: r.sourceKind,
    suspend: r.suspend,
    ...(r.gitRepository ? { gitRepository: r.gitRepository } : {}),
    ...(r.bucket ? { bucket: r.bucket } : {}),
    ...(r.azureBlob ? { azureBlob: r.azureBlob } : {}),
    kustomizations,
  };
}

/** PATCH semantics: given source objects replace the stored ones; kustomizations merge by name (null deletes). */
export function mergeFluxPatch(r: FluxRecord, patch: Record<string, unknown>): Record<string, unknown> {
  const doc = fluxDocument(r);
  for (const [k, v] of Object.entries(patch)) {
    if (k === 'kustomizations' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const merged = { ...(doc.kustomizations as Record<string, unknown>) };
      for (const [name, kv] of Object.entries(v as Record<string, unknown>))
        if (kv === null) delete merged[name];
        else
          merged[name] =
            typeof kv === 'object' && typeof merged[name] === 'object'
              ? { ...(merged[name] as object), ...(kv as object) }
              : kv;
      doc.kustomizations = merged;
    } else if (k !== 'configurationProtectedSettings') doc[k] = v;
  }
  doc.configurationProtectedSettings = patch.configurationProtectedSettings ?? undefined;
  return doc;
}

export function deleteFlux(record: FluxRecord, ctx: WriteContext): FluxRecord {
  if (record.deleting && record.provisioningState === 'Deleting') return record;
  bump(record, 'Deleting', null, ctx);
  touch(record, ctx);
  return record;
}

function joinUrl(base: string, name: string): string {
  return `${base.replace(/\/+$/, '')}/${name}`;
}

export function desiredFlux(cfg: ClusterConfigRecord): DesiredFluxConfiguration[] {
  return Object.values(cfg.fluxConfigurations).map((r) => {
    const kustomizations: DesiredFluxConfiguration['kustomizations'] = {};
    for (const [k, v] of Object.entries(r.kustomizations)) {
      const { name: _name, ...rest } = v;
      kustomizations[k] = rest;
    }
    const url = r.gitRepository
      ? r.gitRepository.url
      : r.bucket
        ? joinUrl(r.bucket.url, r.bucket.bucketName)
        : r.azureBlob
          ? joinUrl(r.azureBlob.url, r.azureBlob.containerName)
          : '';
    return {
      name: r.name,
      namespace: r.namespace,
      scope: r.scope,
      sourceKind: r.sourceKind,
      url,
      repositoryRef: r.gitRepository?.repositoryRef ?? {},
      kustomizations,
      suspend: r.suspend,
      generation: r.generation,
      deleting: r.deleting,
    };
  });
}

export function applyFluxStatus(
  cfg: ClusterConfigRecord,
  s: FluxConfigurationStatus,
): ConfigEvent | undefined {
  const id = s.name.toLowerCase();
  const r = cfg.fluxConfigurations[id];
  if (!r || s.generation !== r.generation) return undefined;
  // A deleting configuration is settled only by `deleted`; progress reports leave the deadline running.
  if (r.deleting && !s.deleted) return undefined;
  r.protectedSettings = null;
  r.protectedHeldSinceMs = null;
  r.deadlineMs = null;
  if (r.deleting) {
    delete cfg.fluxConfigurations[id];
    return { kind: 'removed', resource: 'fluxConfiguration', name: r.name };
  }
  r.provisioningState = 'Succeeded';
  r.complianceState = r.suspend ? 'Suspended' : s.complianceState;
  r.statuses = s.statuses;
  r.errorMessage = s.errorMessage;
  r.sourceSyncedCommitId = s.sourceSyncedCommitId;
  r.sourceUpdatedAt = s.sourceUpdatedAt;
  r.statusUpdatedAt = s.statusUpdatedAt;
  return { kind: 'settled', resource: 'fluxConfiguration', name: r.name, state: r.complianceState };
}

// ---------------------------------------------------------------------------------------------
// Deadlines
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Service Connector linkers
// ---------------------------------------------------------------------------------------------

export function connectorExtension(
  cfg: ClusterConfigRecord,
  catalog: readonly CatalogEntry[],
): ExtensionRecord | undefined {
  return Object.values(cfg.extensions).find(
    (e) => findCatalogEntry(catalog, e.extensionType)?.supportsConnections,
  );
}

export function connectorTypes(catalog: readonly CatalogEntry[]): string {
  return catalog
    .filter((e) => e.supportsConnections)
    .map((e) => e.extensionType)
    .join(', ');
}

export function putLinker(
  cfg: ClusterConfigRecord,
  name: string,
  input: LinkerPut,
  ctx: WriteContext,
  cluster: { name: string; provisioningState: ProvisioningState },
): { record: LinkerRecord; created: boolean } {
  const ext = connectorExtension(cfg, ctx.catalog);
  // The real service refuses connections while the cluster is being changed.
  if (cluster.provisioningState !== 'Succeeded' || (ext && isBusy(ext.provisioningState)))
    throw new ArcError(
      ERROR_CODES.Conflict,
      ext && isBusy(ext.provisioningState)
        ? `The cluster '${cluster.name}' is updating: extension '${ext.name}' is ${ext.provisioningState}. Retry once it is Succeeded.`
        : `The cluster '${cluster.name}' is updating (provisioningState ${cluster.provisioningState}). Retry once it is Succeeded.`,
      { status: 409 },
    );
  if (!ext || ext.provisioningState !== 'Succeeded')
    throw new ArcError(
      ERROR_CODES.ExtensionNotInstalled,
      `The Service Connector extension (${connectorTypes(ctx.catalog)}) is not installed on the cluster '${cluster.name}'${ext ? ` (extension '${ext.name}' is ${ext.provisioningState})` : ''}. Install it before creating a connection.`,
      { status: 409 },
    );
  const id = name.toLowerCase();
  const existing = cfg.linkers[id];
  const spec = {
    targetService: { type: 'AzureResource' as const, id: input.targetService.id },
    authInfo: { authType: input.authInfo.authType, clientId: input.authInfo.clientId ?? null },
    scope: input.scope ?? 'default',
    clientType: input.clientType ?? 'none',
  };
  if (existing) {
    Object.assign(existing, spec);
    existing.generation += 1;
    existing.provisioningState = 'Accepted';
    // The agent must confirm the new version of the connection.
    ext.appliedConnections = ext.appliedConnections.filter((n) => n !== id);
    touch(existing, ctx);
    return { record: existing, created: false };
  }
  const record: LinkerRecord = {
    ...newAudit(ctx),
    name,
    ...spec,
    generation: 1,
    provisioningState: 'Accepted',
  };
  cfg.linkers[id] = record;
  return { record, created: true };
}

export interface LinkerValidation {
  isConnectionAvailable: boolean;
  details: Array<{ name: string; description: string; result: 'success' | 'failure' }>;
}

export function validateLinker(
  cfg: ClusterConfigRecord,
  linker: LinkerRecord,
  catalog: readonly CatalogEntry[],
): LinkerValidation {
  const ext = connectorExtension(cfg, catalog);
  const installed = ext !== undefined && !ext.deleting && ext.provisioningState === 'Succeeded';
  const applied = installed && ext.appliedConnections.includes(linker.name.toLowerCase());
  const details: LinkerValidation['details'] = [
    {
      name: 'Service Connector extension',
      description: installed
        ? `Extension '${ext.name}' is installed.`
        : `The Service Connector extension (${connectorTypes(catalog)}) is not installed on the cluster${ext ? ` (extension '${ext.name}' is ${ext.deleting ? 'being deleted' : ext.provisioningState})` : ''}: the connection is unusable.`,
      result: installed ? 'success' : 'failure',
    },
    {
      name: 'Connection applied',
      description: applied
        ? `The connection's Kubernetes objects exist in namespace '${linker.scope}'.`
        : `The connection has not been applied in the cluster yet (namespace '${linker.scope}').`,
      result: applied ? 'success' : 'failure',
    },
  ];
  return { isConnectionAvailable: installed && applied, details };
}
