/** Extensions: writes (validated against the catalog), desired state and extension-manager's statuses. */
import {
  type CatalogEntry,
  type DesiredExtension,
  type ExtensionScope,
  type ExtensionStatus,
  ERROR_CODES,
} from '../../../contract/index.js';
import { findCatalogEntry, targetVersion } from '../../../platform/extension-catalog.js';
import {
  bump,
  created,
  conflictIfDeleting,
  invalid,
  newAudit,
  notAllowed,
  touch,
  type ConfigEvent,
  type WriteContext,
} from './lifecycle.js';
import type { ClusterConfigRecord, ExtensionRecord, Settings } from './records.js';
import type { ExtensionPatch, ExtensionPut } from './validation-extension.js';

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
    ...created(input.configurationProtectedSettings ?? {}, ctx),
  };
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

function releaseTrainsOf(catalog: readonly CatalogEntry[], extensionType: string) {
  const entry = findCatalogEntry(catalog, extensionType);
  return entry ? { releaseTrains: entry.releaseTrains } : {};
}

export function desiredExtensions(
  cfg: ClusterConfigRecord,
  catalog: readonly CatalogEntry[],
): DesiredExtension[] {
  return Object.values(cfg.extensions).map((r) => ({
    ...releaseTrainsOf(catalog, r.extensionType),
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
