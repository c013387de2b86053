/**
 * The base of the hub's configuration service (service.ts): its dependencies and the access to a
 * cluster's configuration document that both the ARM operations (arm-operations.ts) and the agents'
 * side (service.ts) use: the parent-cluster check, the current cluster's document, and a write's
 * context and commit. Split from service.ts to keep each concern's file short.
 */
import type { Clock } from '../../../platform/clock.js';
import {
  type CatalogEntry,
  ArcError,
  ERROR_CODES,
  type ControlMessage,
  PROTOCOL_VERSION,
  type ClusterRef,
} from '../../../contract/index.js';
import type { Logger } from '../../../platform/log.js';
import type { ClusterRecord } from '../connected-clusters/projection.js';
import type { ProjectionStore } from '../persistence/projection-store.js';
import type { WriteContext } from './lifecycle.js';
import type { ConfigurationMetrics } from './metrics.js';
import { replaceContents } from '../persistence/merge.js';
import { emptyConfig, type ClusterConfigRecord } from './records.js';
import type { CustomRoleLookup } from './role-assignments.js';

export interface ConfigurationDeps {
  store: ProjectionStore<ClusterConfigRecord>;
  clock: Clock;
  catalog: readonly CatalogEntry[];
  operationTimeoutMs: number;
  protectedSettingsHoldMs: number;
  /** The connectedClusters projection (the parent resource). */
  cluster: (ref: ClusterRef) => ClusterRecord | undefined;
  publishControl: (ref: ClusterRef, message: ControlMessage) => void;
  /** The tenant's custom roles (custom-roles.ts); none: only the built-in roles exist. */
  customRole?: CustomRoleLookup | undefined;
  logger: Logger;
  metrics?: ConfigurationMetrics | undefined;
}

/**
 * Largest configuration document of one cluster: it is one JetStream KV value, which must fit in one NATS
 * message (max_payload 1 MiB) with room for the KV headers. A write that would make it larger is refused
 * before anything is stored or acknowledged (413), instead of being answered and then never written.
 */
export const MAX_DOCUMENT_BYTES = 1_000_000;

export type ResourceKind = 'extension' | 'fluxConfiguration' | 'linker' | 'sourceControlConfiguration';

const KIND_TEXT: Record<ResourceKind, string> = {
  extension: 'Microsoft.KubernetesConfiguration/extensions',
  fluxConfiguration: 'Microsoft.KubernetesConfiguration/fluxConfigurations',
  sourceControlConfiguration: 'Microsoft.KubernetesConfiguration/sourceControlConfigurations',
  linker: 'Microsoft.ServiceLinker/linkers',
};

export abstract class ConfigurationDocuments {
  /** The document a write is changing, as it was before (writableDoc), to undo a refused write. */
  private preImage: { doc: ClusterConfigRecord; json: string } | undefined;

  constructor(protected readonly deps: ConfigurationDeps) {}

  get catalog(): readonly CatalogEntry[] {
    return this.deps.catalog;
  }

  /** ARM answers 404 for a child of a missing parent. */
  requireCluster(ref: ClusterRef): ClusterRecord {
    const c = this.deps.cluster(ref);
    if (!c)
      throw new ArcError(
        ERROR_CODES.ResourceNotFound,
        `The Resource 'Microsoft.Kubernetes/connectedClusters/${ref.name}' under resource group '${ref.resourceGroup}' was not found.`,
        { status: 404 },
      );
    return c;
  }

  protected doc(ref: ClusterRef): ClusterConfigRecord {
    const cluster = this.requireCluster(ref);
    return this.docOf(cluster) ?? emptyConfig(cluster.key, cluster.ref, cluster.identity.principalId);
  }

  /**
   * The document a PUT or PATCH changes. Arc features stop on an Expired cluster (its agents cannot
   * take anything until it is deleted and connected again), and a cluster being deleted takes no new
   * configuration: both are refused here, before anything is stored.
   */
  protected writableDoc(ref: ClusterRef): ClusterConfigRecord {
    const cluster = this.requireCluster(ref);
    if (cluster.connectivity.status === 'Expired')
      throw new ArcError(
        ERROR_CODES.ClusterExpired,
        `The connected cluster '${ref.name}' is Expired: its managed identity certificate expired, so Arc features no longer work on it. Delete the connectedClusters resource and connect the cluster again.`,
        { status: 403 },
      );
    if (cluster.provisioningState === 'Deleting')
      throw new ArcError(ERROR_CODES.Conflict, `The connected cluster '${ref.name}' is being deleted.`, {
        status: 409,
      });
    const doc = this.doc(ref);
    this.preImage = { doc, json: JSON.stringify(doc) };
    return doc;
  }

  /** The cluster's stored document, unless it is a leftover of an earlier cluster of that name. */
  protected docOf(cluster: ClusterRecord): ClusterConfigRecord | undefined {
    const doc = this.deps.store.get(cluster.key);
    if (!doc || doc.clusterUid !== cluster.identity.principalId) return undefined;
    // Stored before legacy Flux v1 configurations existed.
    doc.sourceControlConfigurations ??= {};
    return doc;
  }

  protected owned(doc: ClusterConfigRecord): boolean {
    return this.deps.cluster(doc.ref)?.identity.principalId === doc.clusterUid;
  }

  protected notFound(kind: ResourceKind, ref: ClusterRef, name: string): ArcError {
    return new ArcError(
      ERROR_CODES.ResourceNotFound,
      `The Resource '${KIND_TEXT[kind]}/${name}' under connected cluster '${ref.name}' was not found.`,
      { status: 404 },
    );
  }

  protected ctx(caller: string): WriteContext {
    return {
      nowMs: this.deps.clock.now(),
      caller,
      catalog: this.deps.catalog,
      operationTimeoutMs: this.deps.operationTimeoutMs,
    };
  }

  /** Stores the document and nudges the cluster's agents to pull; refuses (and undoes) one too large. */
  protected commit(doc: ClusterConfigRecord, reason: string): void {
    const pre = this.preImage?.doc === doc ? this.preImage.json : undefined;
    this.preImage = undefined;
    const bytes = Buffer.byteLength(JSON.stringify(doc));
    if (bytes > MAX_DOCUMENT_BYTES) {
      if (pre !== undefined) replaceContents(doc, JSON.parse(pre) as object);
      throw new ArcError(
        ERROR_CODES.RequestEntityTooLarge,
        `The configuration resources of connected cluster '${doc.ref.name}' would take ${bytes} bytes, more than the ${MAX_DOCUMENT_BYTES} bytes one cluster's configuration can hold; nothing was changed.`,
        { status: 413 },
      );
    }
    this.deps.store.set(doc);
    this.deps.publishControl(doc.ref, {
      v: PROTOCOL_VERSION,
      type: 'control',
      action: 'config-changed',
      reason,
    });
  }
}
