/**
 * extension-manager, per cluster: makes the cluster's extensions true in the emulated apiserver.
 *
 * For each desired extension it "helm installs" the catalog's chart: the release namespace, the
 * chart's objects, a Helm-style release Secret (`sh.helm.release.v1.<name>.v1`, holding the values,
 * protected settings included, as Helm does) and an `ExtensionConfig` in azure-arc (as the real
 * config-agent/extension-manager pair keeps). With auto-upgrade on it moves to the newest minor of the
 * release train, checking at most once per upgrade interval. Service Connector connections become a
 * Secret (plus a ServiceAccount for Workload Identity) in the namespace the connection names; removing
 * a connection leaves them, as the real extension does. An injected fault (`faults.extensionInstall`)
 * fails installs and upgrades with Helm's own wording.
 */
import { createHash } from 'node:crypto';
import type { ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { Clock } from '../../platform/clock.js';
import {
  type CatalogEntry,
  type DesiredConnection,
  type DesiredExtension,
  type ExtensionStatus,
  ERROR_CODES,
  type DesiredStateReply,
} from '../../contract/index.js';
import { findCatalogEntry, targetVersion } from '../../platform/extension-catalog.js';
import type { ReconcileResult, Reconciler } from '../../agent-runtime/config-sync.js';
import type { KubeClient, KubeObject } from '../../agent-runtime/kube-client.js';
import type { Logger } from '../../platform/log.js';

export const AGENT = 'extension-manager' as const;

export interface ExtensionManagerOptions {
  readonly clock: Clock;
  readonly catalog: readonly CatalogEntry[];
  /** Simulated ms between checks for a newer minor version (auto-upgrade). */
  readonly upgradeIntervalMs: number;
}

interface Release {
  readonly extensionType: string;
  readonly version: string;
  readonly generation: number;
  readonly namespace: string;
  readonly configurationSettings: Record<string, string>;
  readonly configurationProtectedSettings: Record<string, string>;
  /** Simulated ms of the last upgrade check. */
  readonly checkedAt: number;
}

const RELEASE_LABEL = 'arcfleet.io/extension';

function releaseSecretName(extension: string): string {
  return `sh.helm.release.v1.${extension}.v1`;
}

function b64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

/** Kubernetes names are lower-case RFC 1123: connection names may not be. */
function dnsLabel(value: string): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned.slice(0, 50) || createHash('sha1').update(value).digest('hex').slice(0, 10);
}

export class ExtensionReconciler implements Reconciler {
  constructor(
    private readonly kube: KubeClient,
    private readonly log: Logger,
    private readonly opts: ExtensionManagerOptions,
  ) {}

  async reconcile(desired: DesiredStateReply, snapshot: ClusterSnapshot): Promise<ReconcileResult> {
    const extensions: ExtensionStatus[] = [];
    for (const d of desired.extensions) {
      try {
        extensions.push(await this.reconcileOne(d, snapshot));
      } catch (err) {
        // The apiserver refused or is unreachable: report nothing for it, so the pull retries.
        this.log.warn({ event: 'extension.reconcile_failed', extension: d.name, err }, 'reconcile failed');
      }
    }
    return { extensions };
  }

  private now(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }

  private failed(d: DesiredExtension, current: string | null, message: string): ExtensionStatus {
    return {
      name: d.name,
      generation: d.generation,
      phase: 'Failed',
      currentVersion: current,
      statuses: [
        {
          code: ERROR_CODES.InstallationFailed,
          displayStatus: 'Failed',
          level: 'Error',
          message,
          time: this.now(),
        },
      ],
      errorInfo: { code: ERROR_CODES.InstallationFailed, message },
      appliedConnections: [],
    };
  }

  private async readRelease(name: string, namespace: string): Promise<Release | undefined> {
    const secret = await this.kube.get('v1', 'Secret', releaseSecretName(name), namespace);
    const data = (secret?.['data'] as Record<string, string> | undefined)?.['release'];
    if (data === undefined) return undefined;
    try {
      return JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as Release;
    } catch {
      return undefined;
    }
  }

  private async reconcileOne(d: DesiredExtension, snapshot: ClusterSnapshot): Promise<ExtensionStatus> {
    const entry = findCatalogEntry(this.opts.catalog, d.extensionType);
    const namespace =
      'cluster' in d.scope ? d.scope.cluster.releaseNamespace : d.scope.namespace.targetNamespace;
    const release = await this.readRelease(d.name, namespace);
    if (d.deleting) return this.uninstall(d, entry, namespace, release);
    if (!entry)
      return this.failed(
        d,
        release?.version ?? null,
        `extension type '${d.extensionType}' is not in the catalog`,
      );

    const fault = snapshot.state.faults.extensionInstall;
    const now = this.opts.clock.now();
    const settled = release !== undefined && release.generation === d.generation;
    // Within the upgrade interval an installed release keeps its version; a new generation always resolves.
    const upgradeDue = !settled || now - release.checkedAt >= this.opts.upgradeIntervalMs;
    // The versions Azure offers now (published ones included) come with the desired state.
    const offered = d.releaseTrains ? { ...entry, releaseTrains: d.releaseTrains } : entry;
    const version = upgradeDue ? targetVersion(offered, d, release?.version ?? null) : release.version;
    if (version === undefined)
      return this.failed(
        d,
        release?.version ?? null,
        d.version === null
          ? `release train '${d.releaseTrain}' does not exist for '${entry.extensionType}'`
          : `version '${d.version}' does not exist for '${entry.extensionType}'`,
      );
    if (fault !== undefined && (!settled || version !== release.version))
      return this.failed(d, release?.version ?? null, `Unable to install helm release: Error: ${fault}`);

    const protectedSettings =
      d.configurationProtectedSettings ?? (settled ? release.configurationProtectedSettings : {});
    if (!settled || version !== release.version) {
      await this.install(d, entry, namespace, version);
      this.log.info(
        { event: settled ? 'extension.upgraded' : 'extension.installed', extension: d.name, version },
        `extension ${d.name} ${version}`,
      );
    }
    const next: Release = {
      extensionType: entry.extensionType,
      version,
      generation: d.generation,
      namespace,
      configurationSettings: d.configurationSettings,
      configurationProtectedSettings: protectedSettings,
      checkedAt: upgradeDue ? now : release.checkedAt,
    };
    if (!settled || upgradeDue) await this.writeRelease(d.name, namespace, next);
    const appliedConnections = entry.supportsConnections ? await this.applyConnections(d.connections) : [];
    return {
      name: d.name,
      generation: d.generation,
      phase: 'Installed',
      currentVersion: version,
      statuses: [],
      errorInfo: null,
      appliedConnections,
    };
  }

  private objectsOf(
    d: DesiredExtension,
    entry: CatalogEntry,
    namespace: string,
    version: string,
  ): KubeObject[] {
    const labels = {
      'app.kubernetes.io/managed-by': 'Helm',
      'app.kubernetes.io/instance': d.name,
      'app.kubernetes.io/version': version,
      [RELEASE_LABEL]: d.name,
    };
    return entry.objects.map((o) => {
      const name = o.name.replaceAll('{release}', d.name);
      const metadata = { name, namespace, labels };
      if (o.kind === 'Deployment')
        return {
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata,
          spec: {
            replicas: 1,
            selector: { matchLabels: { 'app.kubernetes.io/name': name } },
            template: {
              metadata: { labels: { 'app.kubernetes.io/name': name } },
              spec: {
                containers: [{ name, image: `mcr.microsoft.com/${entry.extensionType}/${name}:${version}` }],
              },
            },
          },
        };
      if (o.kind === 'ConfigMap')
        return { apiVersion: o.apiVersion, kind: o.kind, metadata, data: { ...d.configurationSettings } };
      if (o.kind === 'Secret')
        return { apiVersion: o.apiVersion, kind: o.kind, metadata, type: 'Opaque', data: {} };
      return { apiVersion: o.apiVersion, kind: o.kind, metadata };
    });
  }

  private async install(
    d: DesiredExtension,
    entry: CatalogEntry,
    namespace: string,
    version: string,
  ): Promise<void> {
    for (const obj of this.objectsOf(d, entry, namespace, version)) await this.kube.apply(obj);
    await this.kube.apply({
      apiVersion: 'clusterconfig.azure.com/v1beta1',
      kind: 'ExtensionConfig',
      metadata: { name: d.name, namespace: 'azure-arc', labels: { [RELEASE_LABEL]: d.name } },
      spec: {
        extensionType: entry.extensionType,
        version,
        releaseTrain: d.releaseTrain,
        autoUpgradeMinorVersion: d.autoUpgradeMinorVersion,
        releaseNamespace: namespace,
        parameter: d.configurationSettings,
      },
      status: { installedVersion: version, provisioningState: 'Succeeded', lastModifiedTime: this.now() },
    });
  }

  private async writeRelease(name: string, namespace: string, release: Release): Promise<void> {
    await this.kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: releaseSecretName(name),
        namespace,
        labels: { owner: 'helm', name, status: 'deployed', version: '1', [RELEASE_LABEL]: name },
      },
      type: 'helm.sh/release.v1',
      data: { release: b64(JSON.stringify(release)) },
    });
  }

  private async uninstall(
    d: DesiredExtension,
    entry: CatalogEntry | undefined,
    namespace: string,
    release: Release | undefined,
  ): Promise<ExtensionStatus> {
    if (entry) {
      for (const obj of this.objectsOf(d, entry, namespace, release?.version ?? '0.0.0'))
        await this.kube.delete(obj.apiVersion, obj.kind, obj.metadata.name, namespace);
    }
    await this.kube.delete('v1', 'Secret', releaseSecretName(d.name), namespace);
    await this.kube.delete('clusterconfig.azure.com/v1beta1', 'ExtensionConfig', d.name, 'azure-arc');
    this.log.info({ event: 'extension.uninstalled', extension: d.name }, `extension ${d.name} uninstalled`);
    return {
      name: d.name,
      generation: d.generation,
      phase: 'Uninstalled',
      currentVersion: null,
      statuses: [],
      errorInfo: null,
      appliedConnections: [],
    };
  }

  /** Secret (and ServiceAccount for Workload Identity) per connection; returns the applied names. */
  private async applyConnections(connections: readonly DesiredConnection[]): Promise<string[]> {
    const applied: string[] = [];
    for (const c of connections) {
      const labels = { 'servicelinker.azure.com/connection': dnsLabel(c.name) };
      await this.kube.apply({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `sc-${dnsLabel(c.name)}-secret`, namespace: c.namespace, labels },
        type: 'Opaque',
        data: {
          AZURE_TARGET_RESOURCE_ID: b64(c.targetId),
          AZURE_AUTH_TYPE: b64(c.authType),
          ...(c.clientId === null ? {} : { AZURE_CLIENT_ID: b64(c.clientId) }),
        },
      });
      if (c.authType === 'workloadIdentity' && c.clientId !== null)
        await this.kube.apply({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: {
            name: `sc-account-${dnsLabel(c.clientId)}`,
            namespace: c.namespace,
            labels,
            annotations: { 'azure.workload.identity/client-id': c.clientId },
          },
        });
      applied.push(c.name);
    }
    return applied;
  }
}
