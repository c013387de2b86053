/** Service Connector linkers: the preconditions of a write (the extension installed, the cluster not updating) and validation. */
import { type CatalogEntry, type ProvisioningState, ArcError, ERROR_CODES } from '../../../contract/index.js';
import { findCatalogEntry } from '../../../platform/extension-catalog.js';
import { newAudit, touch, type WriteContext } from './lifecycle.js';
import { isBusy, type ClusterConfigRecord, type ExtensionRecord, type LinkerRecord } from './records.js';
import type { LinkerPut } from './validation-linker.js';

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
