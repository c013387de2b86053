/** Flux configurations: writes, PATCH merging, desired state and config-agent's statuses. */
import type { DesiredFluxConfiguration, FluxConfigurationStatus } from '../../../contract/index.js';
import {
  DEFAULT_INTERVAL_SECONDS,
  bump,
  created,
  conflictIfDeleting,
  newAudit,
  notAllowed,
  touch,
  type ConfigEvent,
  type WriteContext,
} from './lifecycle.js';
import type { Audit, ClusterConfigRecord, FluxRecord, Reconciled } from './records.js';
import type { FluxPut } from './validation-flux.js';

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
    ...created(input.configurationProtectedSettings ?? {}, ctx),
  };
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

/**
 * PATCH semantics: source objects merge field by field into the stored ones (a new `repositoryRef`
 * replaces the old one, since exactly one ref kind may be set); kustomizations merge by name (null
 * deletes one); anything else replaces.
 */
const SOURCE_FIELDS = new Set(['gitRepository', 'bucket', 'azureBlob']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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
    } else if (SOURCE_FIELDS.has(k) && isObject(v) && isObject(doc[k])) {
      doc[k] = { ...(doc[k] as object), ...v };
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
