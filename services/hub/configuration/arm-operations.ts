/**
 * The ARM side of the hub's configuration service: GET, LIST, PUT, PATCH and DELETE of a cluster's
 * extensions, Flux configurations and linkers, linker validation, and the status of an asynchronous
 * operation. Split from service.ts (which adds the agents' side on top of this class) to keep each
 * concern's file short.
 */
import { ArcError, ERROR_CODES, type ClusterRef } from '../../../contract/index.js';
import type { ResourceKind } from './documents.js';
import { AuthorizationArm } from './authorization-arm.js';
import { deleteExtension, patchExtension, putExtension } from './extensions.js';
import { deleteFlux, mergeFluxPatch, putFlux } from './flux.js';
import { putLinker, validateLinker, type LinkerValidation } from './linkers.js';
import type {
  ClusterConfigRecord,
  ExtensionRecord,
  FluxRecord,
  LinkerRecord,
  SourceControlRecord,
} from './records.js';
import { deleteSourceControl, putSourceControl } from './source-control.js';
import type { SourceControlPut } from './validation-source-control.js';
import type { ExtensionPatch, ExtensionPut } from './validation-extension.js';
import { validateFluxDocument, type FluxPut } from './validation-flux.js';
import type { LinkerPut } from './validation-linker.js';

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed' | 'Canceled';

export abstract class ConfigurationArm extends AuthorizationArm {
  listExtensions(ref: ClusterRef): ExtensionRecord[] {
    return sorted(Object.values(this.doc(ref).extensions));
  }

  getExtension(ref: ClusterRef, name: string): ExtensionRecord {
    const r = this.doc(ref).extensions[name.toLowerCase()];
    if (!r) throw this.notFound('extension', ref, name);
    return r;
  }

  putExtension(ref: ClusterRef, name: string, input: ExtensionPut, caller: string) {
    const doc = this.writableDoc(ref);
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
    const doc = this.writableDoc(ref);
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
    const doc = this.writableDoc(ref);
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
    const doc = this.writableDoc(ref);
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

  listSourceControl(ref: ClusterRef): SourceControlRecord[] {
    return sorted(Object.values(this.doc(ref).sourceControlConfigurations));
  }

  getSourceControl(ref: ClusterRef, name: string): SourceControlRecord {
    const r = this.doc(ref).sourceControlConfigurations[name.toLowerCase()];
    if (!r) throw this.notFound('sourceControlConfiguration', ref, name);
    return r;
  }

  putSourceControl(ref: ClusterRef, name: string, input: SourceControlPut, caller: string) {
    const doc = this.writableDoc(ref);
    const result = putSourceControl(doc, name, input, this.ctx(caller));
    const r = result.record;
    this.commit(doc, `sourceControlConfiguration ${r.name} ${result.created ? 'created' : 'updated'}`);
    this.logWrite('sourceControlConfiguration', doc, r.name, r.generation, r.provisioningState);
    return result;
  }

  /** Undefined when there is nothing to delete. */
  deleteSourceControl(ref: ClusterRef, name: string, caller: string): SourceControlRecord | undefined {
    const doc = this.doc(ref);
    const r = doc.sourceControlConfigurations[name.toLowerCase()];
    if (!r) return undefined;
    deleteSourceControl(r, this.ctx(caller));
    this.commit(doc, `sourceControlConfiguration ${r.name} deleted`);
    this.logWrite('sourceControlConfiguration', doc, r.name, r.generation, r.provisioningState);
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
    const doc = this.writableDoc(ref);
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
    // Source control configurations have no asynchronous operations (their writes are synchronous).
    const r =
      kind === 'extension'
        ? doc.extensions[id]
        : kind === 'fluxConfiguration'
          ? doc.fluxConfigurations[id]
          : kind === 'linker'
            ? doc.linkers[id]
            : undefined;
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
}

/** The operation id of a write (`w`) or delete (`d`) of a resource's current generation. */
export function operationId(r: { uid: string; generation: number }, op: 'w' | 'd'): string {
  return `${r.uid}.${r.generation}.${op}`;
}

function sorted<T extends { name: string }>(rs: T[]): T[] {
  return rs.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1));
}
