/**
 * config-agent's Flux v1 half: makes the cluster's legacy `sourceControlConfigurations` true in the
 * emulated apiserver, as the Flux v1 operator Helm chart would. Per configuration it installs the
 * operator (Deployment `<operatorInstanceName>` and its memcached, plus `<instance>-helm-operator` with
 * `enableHelmOperator`) and its deploy-key Secret, then, from the next pull on, the operator's sync
 * of the repository (ConfigMap `<instance>-sync` with the revision). The compliance it reports follows
 * the legacy API: Installed once the operator runs, Compliant once it has synced, Noncompliant when the
 * sync fails (the injected `faults.fluxApply`), Failed when the operator cannot be installed (its
 * instance name taken by another configuration, or an operatorParams argument it does not take).
 */
import type { ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { KubeClient, KubeObject } from '../../agent-runtime/kube-client.js';
import {
  isSshRepositoryUrl,
  type DesiredSourceControl,
  type SourceControlStatus,
} from '../../contract/index.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { generateDeployKey, givenDeployKey, type DeployKey } from './deploy-key.js';
import { sourceRevision } from './flux-reconciler.js';

const CONFIG_LABEL = 'clusterconfig.azure.com/name';
const GENERATION_ANNOTATION = 'clusterconfig.azure.com/generation';
const FLUX_IMAGE = 'mcr.microsoft.com/oss/fluxcd/flux:1.21.2';
const MEMCACHED_IMAGE = 'mcr.microsoft.com/oss/memcached/memcached:1.5.20';
const HELM_OPERATOR_IMAGE = 'mcr.microsoft.com/oss/fluxcd/helm-operator:1.4.0';
/** Flux v1's default branch. */
const DEFAULT_BRANCH = 'master';

type Status = Omit<SourceControlStatus, 'name' | 'generation' | 'deleted'>;

/** The operator's arguments: `--flag` or `--flag=value` tokens; anything else stops it from starting. */
export function operatorArgs(
  params: string,
): { ok: true; args: string[]; branch: string; path: string } | { ok: false; bad: string } {
  const args = params.split(/\s+/).filter((t) => t !== '');
  const bad = args.find((a) => !/^--[a-z0-9][a-z0-9-]*(=.*)?$/.test(a));
  if (bad !== undefined) return { ok: false, bad };
  const value = (flag: string): string | undefined =>
    args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
  return { ok: true, args, branch: value('git-branch') ?? DEFAULT_BRANCH, path: value('git-path') ?? '' };
}

function deployment(s: DesiredSourceControl, name: string, image: string, args: string[]): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace: s.operatorNamespace,
      labels: { [CONFIG_LABEL]: s.name, 'app.kubernetes.io/instance': s.operatorInstanceName },
      annotations: { [GENERATION_ANNOTATION]: String(s.generation) },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { name } },
      template: { metadata: { labels: { name } }, spec: { containers: [{ name, image, args }] } },
    },
  };
}

export class FluxV1Reconciler {
  constructor(
    private readonly kube: KubeClient,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  async reconcile(
    desired: readonly DesiredSourceControl[],
    snapshot: ClusterSnapshot,
  ): Promise<SourceControlStatus[]> {
    const out: SourceControlStatus[] = [];
    for (const s of desired) {
      try {
        if (s.deleting) {
          await this.remove(s);
          out.push({ ...this.status(s, 'Pending', 'Configuration deleted', 'Information'), deleted: true });
        } else out.push(await this.apply(s, snapshot.state.faults.fluxApply));
      } catch (err) {
        this.log.warn({ event: 'fluxv1.reconcile_failed', configuration: s.name, err }, 'reconcile failed');
      }
    }
    return out;
  }

  private status(
    s: DesiredSourceControl,
    complianceState: Status['complianceState'],
    message: string,
    messageLevel: Status['messageLevel'],
    extra: Partial<Status> = {},
  ): SourceControlStatus {
    return {
      name: s.name,
      generation: s.generation,
      deleted: false,
      complianceState,
      lastConfigApplied: null,
      message,
      messageLevel,
      repositoryPublicKey: '',
      ...extra,
    };
  }

  private async apply(s: DesiredSourceControl, fault: string | undefined): Promise<SourceControlStatus> {
    const ns = s.operatorNamespace;
    const instance = s.operatorInstanceName;
    const current = await this.kube.get('apps/v1', 'Deployment', instance, ns);
    const owner = current?.metadata.labels?.[CONFIG_LABEL];
    if (current && owner !== s.name)
      return this.status(
        s,
        'Failed',
        `Error: the operator instance '${instance}' already exists in namespace '${ns}' (configuration '${owner ?? 'unknown'}'); choose another operatorInstanceName.`,
        'Error',
      );
    const parsed = operatorArgs(s.operatorParams);
    if (!parsed.ok)
      return this.status(
        s,
        'Failed',
        `Error: the flux operator did not start: unknown argument '${parsed.bad}' in operatorParams.`,
        'Error',
      );
    const key = await this.deployKey(s);
    const scopeArgs = s.operatorScope === 'namespace' ? [`--k8s-allow-namespace=${ns}`] : [];
    const args = [`--git-url=${s.repositoryUrl}`, ...parsed.args, ...scopeArgs];
    const synced = current?.metadata.annotations?.[GENERATION_ANNOTATION] === String(s.generation);
    await this.kube.apply(deployment(s, instance, FLUX_IMAGE, args));
    await this.kube.apply(deployment(s, `${instance}-memcached`, MEMCACHED_IMAGE, []));
    if (s.enableHelmOperator)
      await this.kube.apply(
        deployment(s, `${instance}-helm-operator`, HELM_OPERATOR_IMAGE, [
          `--chart-version=${s.helmOperatorProperties?.chartVersion ?? ''}`,
        ]),
      );
    else await this.kube.delete('apps/v1', 'Deployment', `${instance}-helm-operator`, ns);
    const publicKey = { repositoryPublicKey: key?.publicKey ?? '' };
    // The operator's first sync comes after it starts: the pull after the one that installed it.
    if (!synced)
      return this.status(
        s,
        'Installed',
        `Operator '${instance}' installed in namespace '${ns}'.`,
        'Information',
        publicKey,
      );
    const { revision } = sourceRevision({ url: s.repositoryUrl, repositoryRef: { branch: parsed.branch } });
    if (fault !== undefined) {
      this.log.warn({ event: 'fluxv1.sync_failed', configuration: s.name, fault }, 'sync failed');
      return this.status(s, 'Noncompliant', `git sync failed for ${revision}: ${fault}`, 'Error', publicKey);
    }
    await this.kube.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${instance}-sync`, namespace: ns, labels: { [CONFIG_LABEL]: s.name } },
      data: { repositoryUrl: s.repositoryUrl, branch: parsed.branch, path: parsed.path, revision },
    });
    return this.status(s, 'Compliant', `Synced revision ${revision}.`, 'Information', {
      ...publicKey,
      lastConfigApplied: new Date(this.clock.now()).toISOString(),
    });
  }

  /**
   * The operator's Secret: the user's key, else the key generated for it earlier, else a new one (for
   * an SSH repository only; HTTPS needs none). Protected settings arrive once (the hub drops them once
   * acknowledged), so what the Secret holds is what later pulls use.
   */
  private async deployKey(s: DesiredSourceControl): Promise<DeployKey | undefined> {
    const name = `${s.operatorInstanceName}-git-deploy`;
    const comment = `${s.operatorInstanceName}@${s.operatorNamespace}`;
    const given = s.configurationProtectedSettings?.sshPrivateKey;
    let key: DeployKey | undefined;
    if (given !== undefined) key = givenDeployKey(given, comment);
    else {
      const held = await this.kube.get('v1', 'Secret', name, s.operatorNamespace);
      const data = (held?.data ?? {}) as Record<string, string>;
      if (data.identity !== undefined)
        key = {
          privateKeyPem: Buffer.from(data.identity, 'base64').toString(),
          publicKey: Buffer.from(data['identity.pub'] ?? '', 'base64').toString(),
        };
      else if (isSshRepositoryUrl(s.repositoryUrl)) key = generateDeployKey(comment);
    }
    const https = s.configurationProtectedSettings;
    if (!key && https?.httpsUser === undefined) return undefined;
    const b64 = (v: string): string => Buffer.from(v).toString('base64');
    await this.kube.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name, namespace: s.operatorNamespace, labels: { [CONFIG_LABEL]: s.name } },
      data: {
        ...(key ? { identity: b64(key.privateKeyPem), 'identity.pub': b64(key.publicKey) } : {}),
        ...(https?.httpsUser !== undefined ? { username: b64(https.httpsUser) } : {}),
        // httpsKey arrives base64-encoded already.
        ...(https?.httpsKey !== undefined ? { password: https.httpsKey } : {}),
      },
    });
    return key;
  }

  private async remove(s: DesiredSourceControl): Promise<void> {
    const ns = s.operatorNamespace;
    const instance = s.operatorInstanceName;
    const current = await this.kube.get('apps/v1', 'Deployment', instance, ns);
    // Never remove another configuration's operator that took the same instance name.
    if (current && current.metadata.labels?.[CONFIG_LABEL] !== s.name) return;
    for (const d of [instance, `${instance}-memcached`, `${instance}-helm-operator`])
      await this.kube.delete('apps/v1', 'Deployment', d, ns);
    await this.kube.delete('v1', 'ConfigMap', `${instance}-sync`, ns);
    await this.kube.delete('v1', 'Secret', `${instance}-git-deploy`, ns);
    this.log.info(
      { event: 'fluxv1.deleted', configuration: s.name },
      `source control configuration ${s.name} removed`,
    );
  }
}
