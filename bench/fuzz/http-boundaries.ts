/**
 * The fleet's HTTP boundaries as the fuzzer sees them: the hub's ARM API, the kube-apiserver, the
 * egress gateway's control API. Each answer must be a success or a refusal in the server's own shape
 * (ARM's error body, a Kubernetes Status); a 5xx, a framework body, a reset or no answer is a crash.
 *
 * What the fuzzer may change is fenced in: ARM writes land in the resource group `fuzz-rg` (made by
 * `prepare`), kube-apiserver writes in namespace `fuzz`, the gateway's rules name `fuzz-*` clusters,
 * so the fleet it runs against keeps working and can be checked afterwards.
 */
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { apiVersionsOf } from '../../contract/index.js';
import type { FleetHandle } from '../../fleet/index.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import type { Boundary, Verdict } from './boundary.js';
import { httpTarget, isArmError, isKubeStatus, type HttpTarget, type WireRequest } from './http-wire.js';
import { body, contentType, method, pathAlong, query, type Json } from './inputs.js';
import { refusedCode, scrapeSum } from './metrics-text.js';

export const FUZZ_RESOURCE_GROUP = 'fuzz-rg';
export const FUZZ_CLUSTER = 'fuzz-cluster';
const FUZZ_NAMESPACE = 'fuzz';

interface HttpInput {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly auth: 'good' | 'none' | 'junk';
  readonly body: Uint8Array | undefined;
}

/** A request along `paths`, with bodies from `templates`. */
function requests(
  paths: fc.Arbitrary<string>,
  templates: Parameters<typeof body>[0],
  types: readonly string[],
): fc.Arbitrary<HttpInput> {
  return fc.record({
    method,
    path: paths,
    contentType: contentType(types),
    auth: fc.oneof(
      { weight: 8, arbitrary: fc.constant<HttpInput['auth']>('good') },
      { weight: 1, arbitrary: fc.constantFrom<HttpInput['auth']>('none', 'junk') },
    ),
    body: fc.option(body(templates), { freq: 4, nil: undefined }),
  });
}

function wire(input: HttpInput, auth: Record<string, string>): WireRequest {
  const headers: Record<string, string> = {};
  if (input.contentType !== undefined && input.body !== undefined)
    headers['content-type'] = input.contentType;
  if (input.auth === 'good') Object.assign(headers, auth);
  if (input.auth === 'junk') headers['authorization'] = 'Bearer eyJhbGciOiJub25lIn0.e30.';
  return { method: input.method, path: input.path, headers, body: input.body };
}

/** Judges an HTTP answer: 2xx/3xx accepted, 4xx in `shape` rejected, anything else a crash. */
function judge(
  res: Awaited<ReturnType<HttpTarget['send']>>,
  input: HttpInput,
  shape: (body: string, status: number) => boolean,
): Verdict {
  if (res.kind === 'failed')
    return res.reason.startsWith('client:')
      ? { outcome: 'skipped' }
      : { outcome: 'crash', detail: `${input.method} ${input.path}: ${res.reason}` };
  if (res.status >= 500)
    return {
      outcome: 'crash',
      detail: `${input.method} ${input.path}: ${res.status} ${res.body.slice(0, 300)}`,
    };
  if (res.status < 400) return { outcome: 'accepted' };
  // HEAD answers carry no body; every other refusal must be in the server's own shape.
  if (input.method !== 'HEAD' && !shape(res.body, res.status))
    return {
      outcome: 'crash',
      detail: `${input.method} ${input.path}: ${res.status} not in the server's error shape: ${res.body.slice(0, 300)}`,
    };
  return { outcome: 'rejected', code: `${res.status} ${refusalCode(res.body)}` };
}

/** ARM's `error.code` or a Status's `reason`, to tell refusals apart in the report. */
function refusalCode(body: string): string {
  try {
    const b = JSON.parse(body) as { error?: { code?: string }; reason?: string };
    return b.error?.code ?? b.reason ?? '?';
  } catch {
    return '?';
  }
}

async function caOf(fleet: FleetHandle): Promise<string | undefined> {
  return fleet.caFile ? readFile(fleet.caFile, 'utf8') : undefined;
}

/** The hub's ARM API (as the Azure SDKs and az reach it). */
export async function armBoundary(fleet: FleetHandle): Promise<Boundary<HttpInput>> {
  const target = httpTarget(fleet.hubUrl, await caOf(fleet));
  const sub = fleet.subscriptionId;
  const rg = FUZZ_RESOURCE_GROUP;
  const cluster = {
    location: 'eastus',
    identity: { type: 'SystemAssigned' as const },
    tags: { owner: 'fuzz' },
    properties: { agentPublicKeyCertificate: generateAgentKeyPair().publicKey, distribution: 'kind' },
  };
  const extension = {
    properties: {
      extensionType: 'microsoft.flux',
      autoUpgradeMinorVersion: true,
      configurationSettings: { a: 'b' },
      configurationProtectedSettings: { k: 'v' },
    },
  };
  const flux = {
    properties: {
      scope: 'cluster',
      namespace: 'flux-system',
      sourceKind: 'GitRepository',
      gitRepository: { url: 'https://github.com/Azure/arc-k8s-demo', repositoryRef: { branch: 'main' } },
      kustomizations: { infra: { path: './infrastructure', dependsOn: [] } },
    },
  };
  const clusterPath = [
    'subscriptions',
    [sub],
    'resourceGroups',
    [rg],
    'providers',
    ['Microsoft.Kubernetes'],
    ['connectedClusters'],
  ] as const;
  const paths = fc.oneof(
    pathAlong([
      ...clusterPath,
      [FUZZ_CLUSTER, 'fuzz-new'],
      'providers',
      ['Microsoft.KubernetesConfiguration', 'Microsoft.ServiceLinker'],
      ['extensions', 'fluxConfigurations', 'sourceControlConfigurations', 'linkers'],
      ['fuzz-ext', 'flux'],
    ]),
    pathAlong(['subscriptions', [sub], 'resourcegroups', [rg, 'fuzz-rg-2']]),
    pathAlong(['subscriptions', [sub], 'providers', ['Microsoft.Kubernetes'], ['connectedClusters']]),
    pathAlong([...clusterPath, [FUZZ_CLUSTER], ['listClusterUserCredential', 'listClusterUserCredentials']]),
    pathAlong(['providers', ['Microsoft.Kubernetes', 'Microsoft.KubernetesConfiguration'], ['operations']]),
  );
  const versions = [
    ...apiVersionsOf('Microsoft.Kubernetes', 'connectedClusters').slice(0, 3),
    ...apiVersionsOf('Microsoft.KubernetesConfiguration', 'extensions').slice(0, 2),
    '2021-04-01',
  ];
  const withQuery = fc
    .tuple(paths, query({ 'api-version': versions }, ['api-version']))
    .map(([p, q]) => p + q);
  const input = requests(
    withQuery,
    [cluster, extension, flux, { location: 'eastus' }, { tags: { a: 'b' } }],
    ['application/json'],
  );
  const auth = await fleet.client.authHeaders();
  const metricsUrl = `${fleet.pageUrl}/metrics`;
  return {
    name: 'ARM API (hub)',
    input,
    async prepare() {
      await fleet.client.ensureResourceGroup(sub, rg, 'eastus');
      await fleet.client.putCluster({ subscriptionId: sub, resourceGroup: rg, name: FUZZ_CLUSTER }, cluster);
    },
    async send(i) {
      return judge(await target.send(wire(i, auth)), i, isArmError);
    },
    counted: () => scrapeSum(metricsUrl, 'arcfleet_hub_api_requests_total', refusedCode),
    async close() {
      target.close();
    },
  };
}

/** The emulated clusters' kube-apiserver (as kubectl reaches it). */
export async function kubeBoundary(fleet: FleetHandle): Promise<Boundary<HttpInput>> {
  const target = httpTarget(fleet.kubeApiserverUrl);
  const name = fleet.clusters[0]?.name ?? 'none';
  const meta = { name: 'fuzz-object', namespace: FUZZ_NAMESPACE, labels: { app: 'fuzz' } };
  const templates: Json[] = [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data: { a: 'b' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: meta, type: 'Opaque', data: { a: 'Yg==' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: FUZZ_NAMESPACE } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'fuzz' } },
        template: { metadata: { labels: { app: 'fuzz' } } },
      },
    },
    [{ op: 'replace', path: '/data/a', value: 'c' }],
    { metadata: { labels: { b: 'c' } } },
  ];
  const paths = fc.oneof(
    pathAlong([
      'clusters',
      [name, 'no-such-cluster'],
      'api',
      'v1',
      'namespaces',
      [FUZZ_NAMESPACE],
      ['configmaps', 'secrets', 'pods', 'serviceaccounts'],
      ['fuzz-object'],
      ['status'],
    ]),
    pathAlong([
      'clusters',
      [name],
      'apis',
      ['apps', 'rbac.authorization.k8s.io', 'clusterconfig.azure.com', 'no.such.group'],
      ['v1', 'v1beta1'],
      'namespaces',
      [FUZZ_NAMESPACE],
      ['deployments', 'roles'],
      ['fuzz-object'],
    ]),
    pathAlong(['clusters', [name], ['api', 'apis', 'version', 'openapi'], ['v1', 'v2', 'v3']]),
  );
  // No `watch`: a watch is a response that stays open by design.
  const withQuery = fc
    .tuple(
      paths,
      query({
        labelSelector: ['app=fuzz', 'a in (b,c)', '!x'],
        fieldSelector: ['metadata.name=x'],
        limit: ['1', '500'],
      }),
    )
    .map(([p, q]) => p + q);
  const input = requests(withQuery, templates, [
    'application/json',
    'application/merge-patch+json',
    'application/json-patch+json',
    'application/strategic-merge-patch+json',
    'application/apply-patch+yaml',
  ]);
  return {
    name: 'kube-apiserver',
    input,
    async prepare() {
      // The namespace the writes aim at (a 409 when it is there already).
      await target.send({
        method: 'POST',
        path: `/clusters/${encodeURIComponent(name)}/api/v1/namespaces`,
        headers: { 'content-type': 'application/json' },
        body: new TextEncoder().encode(JSON.stringify(templates[2])),
      });
    },
    async send(i) {
      return judge(await target.send(wire(i, {})), i, isKubeStatus);
    },
    counted: () =>
      scrapeSum(`${fleet.kubeApiserverUrl}/metrics`, 'arcfleet_kube_requests_total', refusedCode),
    async close() {
      target.close();
    },
  };
}

/** The egress gateway's control API (as `arcfleet chaos` and the page reach it). */
export function egressBoundary(fleet: FleetHandle): Boundary<HttpInput> {
  const target = httpTarget(fleet.egressApiUrl);
  const targets = { clusters: ['fuzz-target'] };
  const templates: Json[] = [
    { mode: { kind: 'drop' }, for: '1m' },
    { mode: { kind: 'latency', latencyMs: 100, jitterMs: 10 }, endpoints: ['identity'] },
    { mode: { kind: 'bandwidth', bytesPerSecond: 1000 }, agents: ['config-agent'] },
    { action: 'cut', targets, mode: 'drop', for: '30s' },
    { action: 'restore', targets },
  ];
  const paths = fc.oneof(
    pathAlong(['v1', ['clusters'], ['fuzz-target', 'fuzz-other'], ['mode']]),
    pathAlong(['v1', ['chaos', 'rules']]),
  );
  const withQuery = fc
    .tuple(paths, query({ endpoint: ['identity', 'relay', 'arm'], agent: ['config-agent', 'metrics-agent'] }))
    .map(([p, q]) => p + q);
  return {
    name: 'egress control API',
    input: requests(withQuery, templates, ['application/json']),
    async send(i) {
      return judge(await target.send(wire(i, {})), i, isArmError);
    },
    counted: () =>
      scrapeSum(`${fleet.egressApiUrl}/metrics`, 'arcfleet_egress_api_requests_total', refusedCode),
    async close() {
      // A junk selector may have matched real clusters: every rule goes, whatever the fuzzer set.
      await fetch(`${fleet.egressApiUrl}/v1/chaos`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'restore', targets: { all: true } }),
      });
      target.close();
    },
  };
}
