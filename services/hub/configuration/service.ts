/**
 * The hub's configuration service: ARM operations on a cluster's extensions, Flux configurations and
 * linkers, the agents' `config-pull` / `config-status`, and deadline evaluation, over an injected
 * store, clock and control publisher. State transitions are in lifecycle.ts.
 */
import type { Clock } from '../../../platform/clock.js';
import {
  type CatalogEntry,
  type ComplianceState,
  ArcError,
  ERROR_CODES,
  IdentityError,
  MessageRejectedError,
  type AckReply,
  type ConfigStatus,
  type ControlMessage,
  type DesiredStateReply,
  PROTOCOL_VERSION,
  type AgentName,
  type ClusterRef,
} from '../../../contract/index.js';
import type { Logger } from '../../../platform/log.js';
import type { ClusterRecord } from '../connected-clusters/projection.js';
import type { ProjectionStore } from '../persistence/projection-store.js';
import {
  applyExtensionStatus,
  deleteExtension,
  desiredExtensions,
  patchExtension,
  putExtension,
} from './extensions.js';
import { applyFluxStatus, deleteFlux, desiredFlux, mergeFluxPatch, putFlux } from './flux.js';
import { evaluateDeadlines, type ConfigEvent, type WriteContext } from './lifecycle.js';
import { putLinker, validateLinker, type LinkerValidation } from './linkers.js';
import type { ConfigurationCounts, ConfigurationMetrics } from './metrics.js';
import {
  emptyConfig,
  type ClusterConfigRecord,
  type ConfigProvisioningState,
  type ExtensionRecord,
  type FluxRecord,
  type LinkerRecord,
} from './records.js';
import { type ExtensionPatch, type ExtensionPut } from './validation-extension.js';
import { validateFluxDocument, type FluxPut } from './validation-flux.js';
import { type LinkerPut } from './validation-linker.js';

export interface ConfigurationDeps {
  store: ProjectionStore<ClusterConfigRecord>;
  clock: Clock;
  catalog: readonly CatalogEntry[];
  operationTimeoutMs: number;
  protectedSettingsHoldMs: number;
  /** The connectedClusters projection (the parent resource). */
  cluster: (ref: ClusterRef) => ClusterRecord | undefined;
  publishControl: (ref: ClusterRef, message: ControlMessage) => void;
  logger: Logger;
  metrics?: ConfigurationMetrics | undefined;
}

export type ResourceKind = 'extension' | 'fluxConfiguration' | 'linker';

const KIND_TEXT: Record<ResourceKind, string> = {
  extension: 'Microsoft.KubernetesConfiguration/extensions',
  fluxConfiguration: 'Microsoft.KubernetesConfiguration/fluxConfigurations',
  linker: 'Microsoft.ServiceLinker/linkers',
};

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export class ConfigurationService {
  constructor(private readonly deps: ConfigurationDeps) {}

  get catalog(): readonly CatalogEntry[] {
    return this.deps.catalog;
  }

  // ---- ARM ----

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

  private doc(ref: ClusterRef): ClusterConfigRecord {
    const cluster = this.requireCluster(ref);
    return this.docOf(cluster) ?? emptyConfig(cluster.key, cluster.ref, cluster.identity.principalId);
  }

  /** The cluster's stored document, unless it is a leftover of an earlier cluster of that name. */
  private docOf(cluster: ClusterRecord): ClusterConfigRecord | undefined {
    const doc = this.deps.store.get(cluster.key);
    return doc && doc.clusterUid === cluster.identity.principalId ? doc : undefined;
  }

  private owned(doc: ClusterConfigRecord): boolean {
    return this.deps.cluster(doc.ref)?.identity.principalId === doc.clusterUid;
  }

  private notFound(kind: ResourceKind, ref: ClusterRef, name: string): ArcError {
    return new ArcError(
      ERROR_CODES.ResourceNotFound,
      `The Resource '${KIND_TEXT[kind]}/${name}' under connected cluster '${ref.name}' was not found.`,
      { status: 404 },
    );
  }

  private ctx(caller: string): WriteContext {
    return {
      nowMs: this.deps.clock.now(),
      caller,
      catalog: this.deps.catalog,
      operationTimeoutMs: this.deps.operationTimeoutMs,
    };
  }

  /** Stores the document and nudges the cluster's agents to pull. */
  private commit(doc: ClusterConfigRecord, reason: string): void {
    this.deps.store.set(doc);
    this.deps.publishControl(doc.ref, {
      v: PROTOCOL_VERSION,
      type: 'control',
      action: 'config-changed',
      reason,
    });
  }

  listExtensions(ref: ClusterRef): ExtensionRecord[] {
    return sorted(Object.values(this.doc(ref).extensions));
  }

  getExtension(ref: ClusterRef, name: string): ExtensionRecord {
    const r = this.doc(ref).extensions[name.toLowerCase()];
    if (!r) throw this.notFound('extension', ref, name);
    return r;
  }

  putExtension(ref: ClusterRef, name: string, input: ExtensionPut, caller: string) {
    const doc = this.doc(ref);
    const result = putExtension(doc, name, input, this.ctx(caller));
    this.commit(doc, `extension ${result.record.name} ${result.created ? 'created' : 'updated'}`);
    this.logWrite(
      'extension',
      doc,
      result.record.name,
      result.record.generation,
      result.record.provisioningState,
    );
    return result;
  }

  patchExtension(ref: ClusterRef, name: string, patch: ExtensionPatch, caller: string): ExtensionRecord {
    const doc = this.doc(ref);
    const r = doc.extensions[name.toLowerCase()];
    if (!r) throw this.notFound('extension', ref, name);
    patchExtension(doc, r, patch, this.ctx(caller));
    this.commit(doc, `extension ${r.name} updated`);
    this.logWrite('extension', doc, r.name, r.generation, r.provisioningState);
    return r;
  }

  /** Undefined when there is nothing to delete. */
  deleteExtension(ref: ClusterRef, name: string, caller: string): ExtensionRecord | undefined {
    const doc = this.doc(ref);
    const r = doc.extensions[name.toLowerCase()];
    if (!r) return undefined;
    deleteExtension(r, this.ctx(caller));
    this.commit(doc, `extension ${r.name} deleted`);
    this.logWrite('extension', doc, r.name, r.generation, r.provisioningState);
    return r;
  }

  listFlux(ref: ClusterRef): FluxRecord[] {
    return sorted(Object.values(this.doc(ref).fluxConfigurations));
  }

  getFlux(ref: ClusterRef, name: string): FluxRecord {
    const r = this.doc(ref).fluxConfigurations[name.toLowerCase()];
    if (!r) throw this.notFound('fluxConfiguration', ref, name);
    return r;
  }

  putFlux(ref: ClusterRef, name: string, input: FluxPut, caller: string) {
    const doc = this.doc(ref);
    const result = putFlux(doc, name, input, this.ctx(caller));
    this.commit(doc, `fluxConfiguration ${result.record.name} ${result.created ? 'created' : 'updated'}`);
    this.logWrite(
      'fluxConfiguration',
      doc,
      result.record.name,
      result.record.generation,
      result.record.provisioningState,
    );
    return result;
  }

  patchFlux(ref: ClusterRef, name: string, patch: Record<string, unknown>, caller: string): FluxRecord {
    const doc = this.doc(ref);
    const r = doc.fluxConfigurations[name.toLowerCase()];
    if (!r) throw this.notFound('fluxConfiguration', ref, name);
    const merged = validateFluxDocument(mergeFluxPatch(r, patch));
    return this.putFlux(ref, r.name, merged, caller).record;
  }

  deleteFlux(ref: ClusterRef, name: string, caller: string): FluxRecord | undefined {
    const doc = this.doc(ref);
    const r = doc.fluxConfigurations[name.toLowerCase()];
    if (!r) return undefined;
    deleteFlux(r, this.ctx(caller));
    this.commit(doc, `fluxConfiguration ${r.name} deleted`);
    this.logWrite('fluxConfiguration', doc, r.name, r.generation, r.provisioningState);
    return r;
  }

  listLinkers(ref: ClusterRef): LinkerRecord[] {
    return sorted(Object.values(this.doc(ref).linkers));
  }

  getLinker(ref: ClusterRef, name: string): LinkerRecord {
    const r = this.doc(ref).linkers[name.toLowerCase()];
    if (!r) throw this.notFound('linker', ref, name);
    return r;
  }

  putLinker(ref: ClusterRef, name: string, input: LinkerPut, caller: string) {
    const cluster = this.requireCluster(ref);
    const doc = this.doc(ref);
    const result = putLinker(doc, name, input, this.ctx(caller), {
      name: cluster.ref.name,
      provisioningState: cluster.provisioningState,
    });
    this.commit(doc, `linker ${result.record.name} ${result.created ? 'created' : 'updated'}`);
    return result;
  }

  /** Removes the linker only: the agent leaves its Kubernetes objects, as the real one does. */
  deleteLinker(ref: ClusterRef, name: string): boolean {
    const doc = this.doc(ref);
    const id = name.toLowerCase();
    if (!doc.linkers[id]) return false;
    delete doc.linkers[id];
    this.commit(doc, `linker ${name} deleted`);
    return true;
  }

  validateLinker(ref: ClusterRef, name: string): { linker: LinkerRecord; result: LinkerValidation } {
    const doc = this.doc(ref);
    const linker = doc.linkers[name.toLowerCase()];
    if (!linker) throw this.notFound('linker', ref, name);
    return { linker, result: validateLinker(doc, linker, this.deps.catalog) };
  }

  /**
   * Status of an operation id `<uid>.<generation>.<w|d>` (see operationId): derived from the resource,
   * so it survives a hub restart without an operations table.
   */
  operationStatus(
    ref: ClusterRef,
    kind: ResourceKind,
    name: string,
    operationId: string,
  ): { status: OperationStatus; error?: { code: string; message: string } } {
    const m = /^([0-9a-f-]{36})\.(\d+)\.([wd])$/.exec(operationId);
    if (!m)
      throw new ArcError(ERROR_CODES.ResourceNotFound, `The operation '${operationId}' was not found.`, {
        status: 404,
      });
    const [, uid, gen, op] = m as unknown as [string, string, string, string];
    const doc = this.doc(ref);
    const id = name.toLowerCase();
    const r =
      kind === 'extension'
        ? doc.extensions[id]
        : kind === 'fluxConfiguration'
          ? doc.fluxConfigurations[id]
          : doc.linkers[id];
    if (!r || r.uid !== uid) return { status: op === 'd' ? 'Succeeded' : 'Canceled' };
    if (r.generation !== Number(gen)) return { status: 'Canceled' };
    if ('deleting' in r) {
      if (r.provisioningState === 'Succeeded') return { status: 'Succeeded' };
      if (r.provisioningState === 'Failed') {
        const error =
          'errorInfo' in r
            ? (r.errorInfo ?? undefined)
            : { code: ERROR_CODES.AgentResponseTimeout, message: r.errorMessage ?? 'Failed' };
        return { status: 'Failed', ...(error ? { error } : {}) };
      }
      return { status: r.provisioningState === 'Canceled' ? 'Canceled' : 'InProgress' };
    }
    return { status: r.provisioningState === 'Accepted' ? 'InProgress' : r.provisioningState };
  }

  // ---- agents ----

  desiredState(cluster: ClusterRecord, agent: AgentName): DesiredStateReply {
    this.refuseExpired(cluster);
    const doc = this.docOf(cluster);
    return {
      v: PROTOCOL_VERSION,
      type: 'desired-state',
      extensions: doc && agent === 'extension-manager' ? desiredExtensions(doc, this.deps.catalog) : [],
      fluxConfigurations: doc && agent === 'config-agent' ? desiredFlux(doc) : [],
    };
  }

  /** An agent's report; the caller replies once `persisted(key)` resolves. */
  status(cluster: ClusterRecord, message: ConfigStatus, subject: string): AckReply {
    this.refuseExpired(cluster);
    if (message.extensions.length > 0 && message.agent !== 'extension-manager')
      throw new MessageRejectedError(
        ERROR_CODES.InvalidMessage,
        'only extension-manager reports extensions',
        subject,
      );
    if (message.fluxConfigurations.length > 0 && message.agent !== 'config-agent')
      throw new MessageRejectedError(
        ERROR_CODES.InvalidMessage,
        'only config-agent reports Flux configurations',
        subject,
      );
    const doc = this.docOf(cluster);
    if (!doc) return { v: PROTOCOL_VERSION, type: 'ack' };
    const before = JSON.stringify(doc);
    const events: ConfigEvent[] = [];
    for (const s of message.extensions) {
      const e = applyExtensionStatus(doc, s);
      if (e) events.push(e);
    }
    for (const s of message.fluxConfigurations) {
      const e = applyFluxStatus(doc, s);
      if (e) events.push(e);
    }
    // A periodic report that changes nothing costs no KV write.
    if (JSON.stringify(doc) !== before) this.deps.store.set(doc);
    for (const e of events) this.logEvent(doc, e);
    return { v: PROTOCOL_VERSION, type: 'ack' };
  }

  /** An Expired cluster's agents get nothing until it is deleted and connected again. */
  private refuseExpired(cluster: ClusterRecord): void {
    if (cluster.connectivity.status === 'Expired')
      throw new IdentityError(ERROR_CODES.ClusterExpired, 'the cluster certificate has expired');
  }

  /** Simulated now, for report times. */
  now(): number {
    return this.deps.clock.now();
  }

  persisted(key: string): Promise<void> {
    return this.deps.store.whenPersisted(key);
  }

  /** Operation timeouts and protected-settings holds against the simulated clock. */
  tick(): void {
    const now = this.deps.clock.now();
    const d = {
      operationTimeoutMs: this.deps.operationTimeoutMs,
      protectedSettingsHoldMs: this.deps.protectedSettingsHoldMs,
    };
    for (const doc of [...this.deps.store.values()]) {
      if (!this.owned(doc)) {
        // Left behind by a deleted cluster (the cascade did not complete): collect it.
        void this.removeCluster(doc.key).catch((err: unknown) =>
          this.deps.logger.warn(
            { event: 'config.gc_failed', key: doc.key, err },
            'could not remove orphaned configuration',
          ),
        );
        continue;
      }
      const events = evaluateDeadlines(doc, now, d);
      if (events.length === 0) continue;
      this.deps.store.set(doc);
      for (const e of events) {
        if (e.kind === 'timedOut') this.deps.metrics?.timedOut.inc({ resource: e.resource });
        if (e.kind === 'protectedSettingsExpired') this.deps.metrics?.protectedSettingsExpired.inc();
        this.logEvent(doc, e);
      }
    }
  }

  /** The cluster was deleted: its configuration resources go with it (ARC-FACTS). */
  async removeCluster(key: string): Promise<void> {
    if (this.deps.store.get(key) === undefined) return;
    await this.deps.store.delete(key);
    this.deps.logger.info(
      { event: 'config.cluster_removed', key },
      'configuration resources of a deleted cluster removed',
    );
  }

  counts(): ConfigurationCounts {
    const extensionsByState = new Map<ConfigProvisioningState, number>();
    const fluxByCompliance = new Map<ComplianceState, number>();
    for (const doc of this.deps.store.values()) {
      if (!this.owned(doc)) continue;
      for (const e of Object.values(doc.extensions))
        extensionsByState.set(e.provisioningState, (extensionsByState.get(e.provisioningState) ?? 0) + 1);
      for (const f of Object.values(doc.fluxConfigurations))
        fluxByCompliance.set(f.complianceState, (fluxByCompliance.get(f.complianceState) ?? 0) + 1);
    }
    return { extensionsByState, fluxByCompliance };
  }

  private logWrite(
    kind: ResourceKind,
    doc: ClusterConfigRecord,
    name: string,
    generation: number,
    state: string,
  ): void {
    this.deps.logger.info(
      { event: 'config.write', key: doc.key, resource: kind, name, generation, provisioningState: state },
      `${kind} ${name}: ${state} (generation ${generation})`,
    );
  }

  private logEvent(doc: ClusterConfigRecord, e: ConfigEvent): void {
    const level = e.kind === 'timedOut' || e.kind === 'protectedSettingsExpired' ? 'warn' : 'info';
    this.deps.logger[level](
      { event: `config.${e.kind}`, key: doc.key, resource: e.resource, name: e.name, state: e.state },
      `${e.resource} ${e.name}: ${e.kind}${e.state ? ` (${e.state})` : ''}`,
    );
  }
}

/** The operation id of a write (`w`) or delete (`d`) of a resource's current generation. */
export function operationId(r: { uid: string; generation: number }, op: 'w' | 'd'): string {
  return `${r.uid}.${r.generation}.${op}`;
}

function sorted<T extends { name: string }>(rs: T[]): T[] {
  return rs.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
}
