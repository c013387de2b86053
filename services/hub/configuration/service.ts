/**
 * The hub's configuration service: ARM operations on a cluster's extensions, Flux configurations and
 * linkers, the agents' `config-pull` / `config-status`, and deadline evaluation, over an injected
 * store, clock and control publisher. State transitions are in lifecycle.ts. This file is the agents'
 * side (desired state, status reports) and upkeep (deadlines, removal, counts); the ARM operations are
 * in arm-operations.ts and the shared document access in documents.ts, the classes it extends.
 */
import {
  type ComplianceState,
  IdentityError,
  MessageRejectedError,
  ERROR_CODES,
  type AckReply,
  type ConfigStatus,
  type DesiredStateReply,
  PROTOCOL_VERSION,
  type AgentName,
} from '../../../contract/index.js';
import type { ClusterRecord } from '../connected-clusters/projection.js';
import { ConfigurationArm } from './arm-operations.js';
import { applyExtensionStatus, desiredExtensions } from './extensions.js';
import { applyFluxStatus, desiredFlux } from './flux.js';
import {
  applySourceControlStatus,
  desiredSourceControl,
  evaluateSourceControlHold,
} from './source-control.js';
import { evaluateDeadlines, type ConfigEvent } from './lifecycle.js';
import { grantsOf } from './role-assignments.js';
import type { ConfigurationCounts } from './metrics.js';
import type {
  ClusterConfigRecord,
  ConfigProvisioningState,
  SourceControlComplianceState,
} from './records.js';

export class ConfigurationService extends ConfigurationArm {
  // ---- agents ----

  desiredState(cluster: ClusterRecord, agent: AgentName): DesiredStateReply {
    this.refuseExpired(cluster);
    const doc = this.docOf(cluster);
    return {
      v: PROTOCOL_VERSION,
      type: 'desired-state',
      extensions: doc && agent === 'extension-manager' ? desiredExtensions(doc, this.deps.catalog) : [],
      fluxConfigurations: doc && agent === 'config-agent' ? desiredFlux(doc) : [],
      sourceControlConfigurations: doc && agent === 'config-agent' ? desiredSourceControl(doc) : [],
      roleAssignments:
        doc && agent === 'guard' ? grantsOf(doc.roleAssignments ?? {}, (id) => this.customRole(id)) : [],
    };
  }

  /** Whether the cluster has (or is deleting) this Flux configuration: its logs are kept, others not. */
  hasFluxConfiguration(cluster: ClusterRecord, name: string): boolean {
    return this.docOf(cluster)?.fluxConfigurations[name.toLowerCase()] !== undefined;
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
    if (
      (message.fluxConfigurations.length > 0 || message.sourceControlConfigurations.length > 0) &&
      message.agent !== 'config-agent'
    )
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
    for (const s of message.sourceControlConfigurations) {
      const e = applySourceControlStatus(doc, s);
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
      const cluster = this.deps.cluster(doc.ref);
      doc.sourceControlConfigurations ??= {};
      const events = [
        ...evaluateDeadlines(doc, now, {
          ...d,
          clusterConnected: cluster?.connectivity.status === 'Connected',
        }),
        ...evaluateSourceControlHold(doc, now, d.protectedSettingsHoldMs),
      ];
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
    const sourceControlByCompliance = new Map<SourceControlComplianceState, number>();
    for (const doc of this.deps.store.values()) {
      if (!this.owned(doc)) continue;
      for (const e of Object.values(doc.extensions))
        extensionsByState.set(e.provisioningState, (extensionsByState.get(e.provisioningState) ?? 0) + 1);
      for (const f of Object.values(doc.fluxConfigurations))
        fluxByCompliance.set(f.complianceState, (fluxByCompliance.get(f.complianceState) ?? 0) + 1);
      for (const { complianceStatus: c } of Object.values(doc.sourceControlConfigurations ?? {}))
        sourceControlByCompliance.set(
          c.complianceState,
          (sourceControlByCompliance.get(c.complianceState) ?? 0) + 1,
        );
    }
    return { extensionsByState, fluxByCompliance, sourceControlByCompliance };
  }

  private logEvent(doc: ClusterConfigRecord, e: ConfigEvent): void {
    const level = e.kind === 'timedOut' || e.kind === 'protectedSettingsExpired' ? 'warn' : 'info';
    this.deps.logger[level](
      { event: `config.${e.kind}`, key: doc.key, resource: e.resource, name: e.name, state: e.state },
      `${e.resource} ${e.name}: ${e.kind}${e.state ? ` (${e.state})` : ''}`,
    );
  }
}
