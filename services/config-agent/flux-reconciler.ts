/**
 * config-agent, per cluster: makes the cluster's Flux configurations true in the emulated apiserver,
 * as the Flux controllers would. There is no git server to clone from, so the source is emulated: a
 * (url, ref) pair always resolves to the same commit (`<ref>@sha1:<40 hex>`), and every kustomization
 * applies one ConfigMap named after it, carrying its path and the revision. What is real is the shape
 * of the outcome: a GitRepository and Kustomizations with Flux's conditions, per-object compliance
 * in `statuses[]`, Suspended while suspended, Non-Compliant with an errorMessage when an injected fault
 * (`faults.fluxApply`) makes the apply fail. Each reconcile is logged as the controllers log it
 * (flux-log-lines.ts), for flux-logs-agent to ship.
 */
import { createHash } from 'node:crypto';
import type { ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { Clock } from '../../platform/clock.js';
import type {
  ComplianceState,
  DesiredFluxConfiguration,
  FluxConfigurationStatus,
  FluxObjectStatus,
  DesiredStateReply,
} from '../../contract/index.js';
import type { ReconcileResult, Reconciler } from '../../agent-runtime/config-sync.js';
import type { KubeClient, KubeObject } from '../../agent-runtime/kube-client.js';
import type { Logger } from '../../platform/log.js';
import type { FluxLogWriter } from '../../agent-runtime/flux-log.js';
import { FluxLogLines } from './flux-log-lines.js';

export const AGENT = 'config-agent' as const;

const SOURCE_API = 'source.toolkit.fluxcd.io/v1';
const KUSTOMIZE_API = 'kustomize.toolkit.fluxcd.io/v1';
const CONFIG_LABEL = 'clusterconfig.azure.com/name';

export interface FluxReconcilerOptions {
  readonly clock: Clock;
  /** Where the controllers' log lines go (none: not logged). */
  readonly fluxLog?: FluxLogWriter;
}

/** The emulated source's revision for a configuration: stable for the same URL and ref. */
export function sourceRevision(f: Pick<DesiredFluxConfiguration, 'url' | 'repositoryRef'>): {
  revision: string;
  commit: string;
} {
  const ref = f.repositoryRef;
  const commit =
    ref.commit ??
    createHash('sha1')
      .update(`${f.url}\n${JSON.stringify(ref)}`)
      .digest('hex');
  const name = ref.branch ?? ref.tag ?? ref.semver ?? 'HEAD';
  return { revision: `${name}@sha1:${commit}`, commit };
}

function kustomizationName(config: string, kustomization: string): string {
  return `${config}-${kustomization}`;
}

export class FluxReconciler implements Reconciler {
  constructor(
    private readonly kube: KubeClient,
    private readonly log: Logger,
    private readonly opts: FluxReconcilerOptions,
  ) {}

  async reconcile(desired: DesiredStateReply, snapshot: ClusterSnapshot): Promise<ReconcileResult> {
    const fluxConfigurations: FluxConfigurationStatus[] = [];
    const lines = new FluxLogLines(this.opts.clock);
    for (const f of desired.fluxConfigurations) {
      try {
        fluxConfigurations.push(
          f.deleting
            ? await this.remove(f, lines)
            : await this.apply(f, snapshot.state.faults.fluxApply, lines),
        );
      } catch (err) {
        this.log.warn({ event: 'flux.reconcile_failed', configuration: f.name, err }, 'reconcile failed');
      }
    }
    await this.opts.fluxLog?.write(lines.entries).catch((err: unknown) => {
      this.log.warn({ event: 'flux.log_write_failed', err }, 'could not write the Flux controllers log');
    });
    return { fluxConfigurations };
  }

  private now(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }

  private condition(
    ok: boolean,
    reason: string,
    message: string,
  ): FluxObjectStatus['statusConditions'][number] {
    return { lastTransitionTime: this.now(), message, reason, status: ok ? 'True' : 'False', type: 'Ready' };
  }

  private async apply(
    f: DesiredFluxConfiguration,
    fault: string | undefined,
    lines: FluxLogLines,
  ): Promise<FluxConfigurationStatus> {
    const started = Date.now();
    const { revision, commit } = sourceRevision(f);
    const labels = { [CONFIG_LABEL]: f.name };
    const state: ComplianceState = f.suspend
      ? 'Suspended'
      : fault !== undefined
        ? 'Non-Compliant'
        : 'Compliant';
    const sourceReady = !f.suspend;
    await this.kube.apply({
      apiVersion: SOURCE_API,
      // Bucket and AzureBlob sources are emulated as a GitRepository too: the outcome is the same.
      kind: 'GitRepository',
      metadata: { name: f.name, namespace: f.namespace, labels },
      spec: { url: f.url, ref: f.repositoryRef, interval: '10m0s', suspend: f.suspend },
      status: {
        artifact: { revision },
        conditions: [this.condition(sourceReady, 'Succeeded', `stored artifact for revision '${revision}'`)],
      },
    } as KubeObject);
    const source: FluxObjectStatus = {
      name: f.name,
      namespace: f.namespace,
      kind: 'GitRepository',
      complianceState: f.suspend ? 'Suspended' : 'Compliant',
      appliedBy: null,
      statusConditions: [
        this.condition(sourceReady, 'Succeeded', `stored artifact for revision '${revision}'`),
      ],
    };
    const statuses: FluxObjectStatus[] = [source];
    lines.source(f, revision);
    for (const [k, spec] of Object.entries(f.kustomizations)) {
      const name = kustomizationName(f.name, k);
      const failure = fault === undefined ? undefined : `kustomize build failed: ${fault}`;
      const cond = f.suspend
        ? this.condition(false, 'Suspended', 'reconciliation is suspended')
        : failure !== undefined
          ? this.condition(false, 'ReconciliationFailed', failure)
          : this.condition(true, 'ReconciliationSucceeded', `Applied revision: ${revision}`);
      await this.kube.apply({
        apiVersion: KUSTOMIZE_API,
        kind: 'Kustomization',
        metadata: { name, namespace: f.namespace, labels },
        spec: {
          path: spec.path,
          prune: spec.prune,
          force: spec.force,
          dependsOn: spec.dependsOn.map((d) => ({ name: kustomizationName(f.name, d) })),
          interval: `${spec.syncIntervalInSeconds}s`,
          timeout: `${spec.timeoutInSeconds}s`,
          sourceRef: { kind: 'GitRepository', name: f.name },
          suspend: f.suspend,
        },
        status: {
          ...(failure === undefined && !f.suspend ? { lastAppliedRevision: revision } : {}),
          lastAttemptedRevision: revision,
          conditions: [cond],
        },
      } as KubeObject);
      if (failure === undefined && !f.suspend)
        await this.kube.apply({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name,
            namespace: f.namespace,
            labels: { ...labels, 'kustomize.toolkit.fluxcd.io/name': name },
          },
          data: { path: spec.path, revision },
        });
      lines.kustomization(f, name, spec.syncIntervalInSeconds, {
        revision,
        tookMs: Date.now() - started,
        ...(failure === undefined ? {} : { failure }),
      });
      statuses.push({
        name,
        namespace: f.namespace,
        kind: 'Kustomization',
        complianceState: f.suspend ? 'Suspended' : failure === undefined ? 'Compliant' : 'Non-Compliant',
        appliedBy: null,
        statusConditions: [cond],
      });
    }
    if (state === 'Non-Compliant')
      this.log.warn({ event: 'flux.apply_failed', configuration: f.name, fault }, 'apply failed');
    return {
      name: f.name,
      generation: f.generation,
      deleted: false,
      complianceState: state,
      statuses,
      errorMessage: state === 'Non-Compliant' ? `kustomize build failed: ${fault ?? ''}` : null,
      sourceSyncedCommitId: `${revision.split('@')[0]}/${commit}`,
      sourceUpdatedAt: this.now(),
      statusUpdatedAt: this.now(),
    };
  }

  private async remove(f: DesiredFluxConfiguration, lines: FluxLogLines): Promise<FluxConfigurationStatus> {
    for (const k of Object.keys(f.kustomizations)) {
      const name = kustomizationName(f.name, k);
      await this.kube.delete(KUSTOMIZE_API, 'Kustomization', name, f.namespace);
      // Flux prunes what a deleted Kustomization applied only with prune on.
      const prune = f.kustomizations[k]?.prune === true;
      if (prune) await this.kube.delete('v1', 'ConfigMap', name, f.namespace);
      lines.deleted(f, name, prune);
    }
    await this.kube.delete(SOURCE_API, 'GitRepository', f.name, f.namespace);
    this.log.info({ event: 'flux.deleted', configuration: f.name }, `flux configuration ${f.name} removed`);
    return {
      name: f.name,
      generation: f.generation,
      deleted: true,
      complianceState: 'Unknown',
      statuses: [],
      errorMessage: null,
      sourceSyncedCommitId: null,
      sourceUpdatedAt: null,
      statusUpdatedAt: this.now(),
    };
  }
}
