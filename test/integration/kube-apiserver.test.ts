// The built kube-apiserver as a real process over real HTTP: two clusters in a temporary cluster
// store, discovery, CRUD with conflicts, selectors, derived Arc objects, isolation, errors, a write
// surviving SIGKILL, watch, and standard tooling (@kubernetes/client-node) against a path-prefixed URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState } from '../../contract/index.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { ENV } from '../../platform/settings.js';
import { KubeApiError, KubeClient, type KubeObject } from '../../agent-runtime/kube-client.js';
import { DIST_DIR, REPO_ROOT } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { clusterState, nodePool } from '../helpers/fixtures.js';

function state(name: string, pools: number): ClusterState {
  return clusterState(name, {
    kubernetesVersion: name === 'alpha' ? '1.30.4' : '1.29.7',
    nodePools: Array.from({ length: pools }, (_, i) => nodePool({ name: `pool${i}`, count: 2 })),
    changedAt: new Date().toISOString(),
    features: { clusterConnect: name === 'alpha', azureRbac: false },
  });
}

class Apiserver {
  child: ChildProcess | undefined;
  url = '';
  output = '';
  constructor(private readonly dataDir: string) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, [join(DIST_DIR, 'services', 'kube-apiserver', 'main.js')], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        [ENV.dataDir]: this.dataDir,
        [ENV.kubeApiserverPort]: '0',
        [ENV.clusterPollInterval]: '200',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let buffered = '';
    const listening = new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
        for (const line of buffered.split('\n')) {
          if (!line.includes('kube-apiserver.listening')) continue;
          resolve((JSON.parse(line) as { url: string }).url);
        }
      });
      child.stderr.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
      child.once('exit', (code) => reject(new Error(`kube-apiserver exited (${code}):\n${this.output}`)));
    });
    this.url = await waitFor(
      () => Promise.race([listening, new Promise<string>((r) => setTimeout(() => r(''), 100))]),
      {
        timeoutMs: 15_000,
        message: 'kube-apiserver.listening',
      },
    );
    const run = JSON.parse(await readFile(join(this.dataDir, 'run', 'kube-apiserver.json'), 'utf8')) as {
      url: string;
      pid: number;
    };
    expect(run).toEqual({ url: this.url, pid: child.pid });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
  }
}

async function raw(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

describe('kube-apiserver', () => {
  let dataDir: string;
  let server: Apiserver;
  let alpha: KubeClient;
  let beta: KubeClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-kube-'));
    const store = new ClusterStore(dataDir);
    await store.writeState(state('alpha', 2));
    await store.writeState(state('beta', 1));
    server = new Apiserver(dataDir);
    await server.start();
    alpha = KubeClient.forCluster(server.url, 'alpha');
    beta = KubeClient.forCluster(server.url, 'beta');
  });

  afterAll(async () => {
    await server?.kill('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves discovery per cluster', async () => {
    const base = `${server.url}/clusters/alpha`;
    expect((await raw(`${base}/version`)).body.gitVersion).toBe('v1.30.4');
    expect((await raw(`${server.url}/clusters/beta/version`)).body.gitVersion).toBe('v1.29.7');
    expect((await raw(`${base}/api`)).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = (await raw(`${base}/api/v1`)).body as {
      resources: { name: string; namespaced: boolean; kind: string }[];
    };
    expect(core.resources.find((r) => r.name === 'configmaps')).toMatchObject({
      namespaced: true,
      kind: 'ConfigMap',
    });
    const groups = (await raw(`${base}/apis`)).body as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining([
        'apps',
        'arc.azure.com',
        'source.toolkit.fluxcd.io',
        'kustomize.toolkit.fluxcd.io',
        'clusterconfig.azure.com',
      ]),
    );
    const arc = (await raw(`${base}/apis/arc.azure.com/v1beta1`)).body as {
      resources: { name: string; namespaced: boolean }[];
    };
    expect(arc.resources).toEqual([
      expect.objectContaining({ name: 'connectedclusters', namespaced: false }),
    ]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('CRUD of a ConfigMap with a resourceVersion conflict', async () => {
    const created = await alpha.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'default', labels: { app: 'web', tier: 'front' } },
      data: { color: 'blue' },
    });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const err = await alpha.create(created).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).reason).toBe('AlreadyExists');
    expect((err as KubeApiError).httpStatus).toBe(409);
    const updated = await alpha.replace({ ...created, data: { color: 'green' } });
    expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.metadata.resourceVersion),
    );
    const conflict = await alpha.replace({ ...created, data: { color: 'red' } }).catch((e: unknown) => e);
    expect((conflict as KubeApiError).reason).toBe('Conflict');
    const patched = await raw(`${server.url}/clusters/alpha/api/v1/namespaces/default/configmaps/settings`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ data: { size: 'L' } }),
    });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toEqual({ color: 'green', size: 'L' });
    const applied = await alpha.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'default' },
      data: { x: '1' },
    });
    expect(applied.data).toEqual({ x: '1' });
    expect((await alpha.get('v1', 'ConfigMap', 'settings', 'default'))?.data).toEqual({ x: '1' });
    // apply creates the namespace when missing
    await alpha.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'other', namespace: 'team-a', labels: { app: 'db' } },
      data: {},
    });
    expect(await alpha.get('v1', 'Namespace', 'team-a')).toBeDefined();
    expect(await alpha.delete('v1', 'ConfigMap', 'settings', 'default')).toBe(true);
    expect(await alpha.delete('v1', 'ConfigMap', 'settings', 'default')).toBe(false);
    expect(await alpha.get('v1', 'ConfigMap', 'settings', 'default')).toBeUndefined();
  });

  it('dry runs store nothing; unknown fields are warned about, or refused when strict; patch types by kind', async () => {
    const base = `${server.url}/clusters/alpha/api/v1/namespaces/default/configmaps`;
    const json = { 'content-type': 'application/json' };
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dry' },
      data: { a: '1' },
      dataa: 1,
    };
    const dry = await fetch(`${base}?dryRun=All`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(body),
    });
    expect(dry.status).toBe(201);
    expect(dry.headers.get('warning')).toBe('299 - "unknown field \\"dataa\\""');
    expect(((await dry.json()) as KubeObject).metadata.resourceVersion).toBeUndefined();
    expect(await alpha.get('v1', 'ConfigMap', 'dry', 'default')).toBeUndefined();
    const strict = await raw(`${base}?fieldValidation=Strict`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(body),
    });
    expect(strict.status).toBe(400);
    expect(strict.body.message).toBe(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dataa"',
    );
    const { dataa: _d, ...clean } = body;
    const created = await raw(`${base}?fieldValidation=Strict`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(clean),
    });
    expect(created.status).toBe(201);
    const dryPatch = await raw(`${base}/dry?dryRun=All`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({ data: { b: '2' } }),
    });
    expect(dryPatch.body.data).toEqual({ a: '1', b: '2' });
    expect((await alpha.get('v1', 'ConfigMap', 'dry', 'default'))?.data).toEqual({ a: '1' });
    expect((await raw(`${base}/dry?dryRun=All`, { method: 'DELETE' })).status).toBe(200);
    expect(await alpha.get('v1', 'ConfigMap', 'dry', 'default')).toBeDefined();
    expect((await raw(`${base}/dry?dryRun=Some`, { method: 'DELETE' })).status).toBe(400);
    // A custom resource takes no strategic merge patch, as on a real cluster (a CRD's schema has no strategies).
    const gitRepos = `${server.url}/clusters/alpha/apis/source.toolkit.fluxcd.io/v1/namespaces/default/gitrepositories`;
    const repo = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'r' },
      spec: { url: 'https://x' },
    };
    expect((await raw(gitRepos, { method: 'POST', headers: json, body: JSON.stringify(repo) })).status).toBe(
      201,
    );
    const smp = await raw(`${gitRepos}/r`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      body: JSON.stringify({ spec: { interval: '1m' } }),
    });
    expect(smp.status).toBe(415);
    expect(smp.body.reason).toBe('UnsupportedMediaType');
    expect((await raw(`${gitRepos}/r`, { method: 'DELETE' })).status).toBe(200);
    expect((await raw(`${base}/dry`, { method: 'DELETE' })).status).toBe(200);
  });

  it('indexes its OpenAPI v3 documents below the prefix the client reached it at', async () => {
    const own = await raw(`${server.url}/clusters/alpha/openapi/v3`);
    const urls = own.body.paths as Record<string, { serverRelativeURL: string }>;
    expect(urls['api/v1']?.serverRelativeURL).toMatch(/^\/clusters\/alpha\/openapi\/v3\/api\/v1\?hash=/);
    const doc = await fetch(`${server.url}${urls['apis/apps/v1']?.serverRelativeURL ?? ''}`);
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe('3.0.0');
    const proxied = await raw(`${server.url}/clusters/alpha/openapi/v3`, {
      headers: { 'x-forwarded-prefix': '/connect/x' },
    });
    const viaProxy = proxied.body.paths as Record<string, { serverRelativeURL: string }>;
    expect(viaProxy['api/v1']?.serverRelativeURL).toMatch(/^\/connect\/x\/openapi\/v3\/api\/v1\?hash=/);
    // v2 as client-go asks for it: gnostic's protobuf (Document.swagger is field 1: 0x0a, length 3, "2.0").
    const protobuf = await fetch(`${server.url}/clusters/alpha/openapi/v2`, {
      headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' },
    });
    expect(protobuf.headers.get('content-type')).toBe(
      'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
    );
    const bytes = Buffer.from(await protobuf.arrayBuffer());
    expect(bytes.subarray(0, 5)).toEqual(Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30]));
    expect(bytes.includes(Buffer.from('io.k8s.api.apps.v1.Deployment'))).toBe(true);
    expect((await raw(`${server.url}/clusters/alpha/openapi/v2`)).body.swagger).toBe('2.0');
    const xml = await raw(`${server.url}/clusters/alpha/openapi/v2`, {
      headers: { accept: 'application/xml' },
    });
    expect(xml.status).toBe(406);
  });

  it('label and field selectors, across namespaces, with derived objects', async () => {
    for (const [name, app] of [
      ['s1', 'web'],
      ['s2', 'web'],
      ['s3', 'api'],
    ] as const)
      await alpha.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace: 'default', labels: { app } },
      });
    const names = (l: KubeObject[]) => l.map((o) => o.metadata.name).sort();
    expect(names(await alpha.list('v1', 'ConfigMap', { labelSelector: 'app=web' }))).toEqual(['s1', 's2']);
    expect(names(await alpha.list('v1', 'ConfigMap', { labelSelector: 'app in (api,db)' }))).toEqual([
      'other',
      's3',
    ]);
    expect(names(await alpha.list('v1', 'ConfigMap', { labelSelector: '!app' }))).toEqual([
      'azure-clusterconfig',
    ]);
    expect(names(await alpha.list('v1', 'ConfigMap', { namespace: 'team-a' }))).toEqual(['other']);
    const byField = await raw(
      `${server.url}/clusters/alpha/api/v1/configmaps?fieldSelector=metadata.name%3Ds3`,
    );
    expect((byField.body.items as KubeObject[]).map((o) => o.metadata.name)).toEqual(['s3']);
    expect((byField.body.metadata as { resourceVersion: string }).resourceVersion).toMatch(/^\d+$/);
    const bad = await raw(`${server.url}/clusters/alpha/api/v1/configmaps?labelSelector=a%20b%3Dc`);
    expect(bad.status).toBe(400);
    // Derived objects are selected the same way.
    const pool = await alpha.list('v1', 'Node', { labelSelector: 'kubernetes.azure.com/agentpool=pool1' });
    expect(pool).toHaveLength(2);
  });

  it('nodes and the Arc config look like a real Arc cluster', async () => {
    const nodes = await alpha.list('v1', 'Node');
    expect(nodes).toHaveLength(4);
    expect(nodes[0]?.metadata.labels).toMatchObject({
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': 'Standard_D4s_v5',
    });
    expect((await beta.list('v1', 'Node')).length).toBe(2);
    // The Arc agents' Deployments and Pods are controller-manager's to write (none runs here).
    expect(await alpha.list('apps/v1', 'Deployment', { namespace: 'azure-arc' })).toEqual([]);
    const cm = await alpha.get('v1', 'ConfigMap', 'azure-clusterconfig', 'azure-arc');
    expect(cm?.data).toMatchObject({ AZURE_ARC_AUTOUPDATE: 'true', AZURE_RESOURCE_NAME: 'alpha' });
    // clustermetadata is cluster-metadata-operator's to write (none runs here): the apiserver makes none.
    expect(await alpha.get('arc.azure.com/v1beta1', 'ConnectedCluster', 'clustermetadata')).toBeUndefined();
    // Derived objects are read-only.
    const write = await raw(
      `${server.url}/clusters/alpha/api/v1/namespaces/azure-arc/configmaps/azure-clusterconfig`,
      {
        method: 'DELETE',
      },
    );
    expect(write.status).toBe(405);
    expect(write.body).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed' });
  });

  it('keeps clusters apart and reports unknown clusters and bad bodies as Status', async () => {
    await alpha.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'only-alpha', namespace: 'default' },
    });
    expect(await beta.get('v1', 'ConfigMap', 'only-alpha', 'default')).toBeUndefined();
    expect((await beta.list('v1', 'ConfigMap')).map((o) => o.metadata.name)).toEqual(['azure-clusterconfig']);
    const unknown = await raw(`${server.url}/clusters/nope/api/v1/namespaces`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    const badJson = await raw(`${server.url}/clusters/alpha/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"metadata": ',
    });
    expect(badJson.status).toBe(400);
    expect(badJson.body).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    const noName = await raw(`${server.url}/clusters/alpha/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }),
    });
    expect(noName.status).toBe(422);
    expect(String(noName.body.message)).toContain('metadata.name');
    const noNs = await raw(`${server.url}/clusters/alpha/api/v1/namespaces/ghost/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'x' } }),
    });
    expect(noNs.status).toBe(404);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/arcfleet_kube_rejections_total\{reason="BadRequest"[^}]*\} [1-9]/);
    expect(metrics).not.toContain('alpha');
  });

  it('answers what it cannot parse (a bad escape, a 20 kB URL, a 4 MiB body) with a Status, not a framework body', async () => {
    const badEscape = await raw(`${server.url}/clusters/alpha/api/v1/namespaces/%zz`);
    expect(badEscape).toMatchObject({
      status: 400,
      body: { kind: 'Status', reason: 'BadRequest', code: 400 },
    });
    const long = await raw(`${server.url}/clusters/alpha/api/v1/namespaces/${'a'.repeat(20_000)}`);
    expect(long).toMatchObject({ status: 431, body: { kind: 'Status', status: 'Failure', code: 431 } });
    const big = await raw(`${server.url}/clusters/alpha/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'big' }, data: { x: 'x'.repeat(4 * 1024 * 1024) } }),
    });
    expect(big).toMatchObject({
      status: 413,
      body: {
        kind: 'Status',
        reason: 'RequestEntityTooLarge',
        message: 'Request entity too large: limit is 3145728',
      },
    });
  });

  it('streams watch events', async () => {
    const ctrl = new AbortController();
    const res = await alpha.request(
      'GET',
      '/api/v1/namespaces/default/configmaps?watch=true&labelSelector=w%3D1',
      { signal: ctrl.signal },
    );
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    const events: { type: string; object: KubeObject }[] = [];
    let pending = '';
    const pump = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        pending += Buffer.from(value).toString('utf8');
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          events.push(JSON.parse(pending.slice(0, nl)) as { type: string; object: KubeObject });
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
        }
      }
    })();
    const w = await alpha.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'watched', namespace: 'default', labels: { w: '1' } },
    });
    await alpha.replace({ ...w, data: { k: 'v' } });
    await alpha.delete('v1', 'ConfigMap', 'watched', 'default');
    await waitFor(() => events.map((e) => e.type).join(','), {
      timeoutMs: 10_000,
      until: (t) => t === 'ADDED,MODIFIED,DELETED',
      message: 'watch events',
    });
    ctrl.abort();
    await pump;
  });

  it('works with @kubernetes/client-node against the path-prefixed server URL', async () => {
    const kc = new KubeConfig();
    // client-node 1.x refuses plain http unless skipTLSVerify is set (docs/kube-apiserver.md).
    kc.loadFromOptions({
      clusters: [{ name: 'alpha', server: `${server.url}/clusters/alpha`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'alpha', cluster: 'alpha', user: 'u' }],
      currentContext: 'alpha',
    });
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(['default', 'kube-system', 'azure-arc', 'team-a']),
    );
    expect((await core.listNode()).items).toHaveLength(4);
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'nginx' }] },
          },
        },
      },
    });
    const deps = await apps.listNamespacedDeployment({ namespace: 'default' });
    expect(deps.items.map((d) => d.metadata?.name)).toEqual(['web']);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'from-client-node' }, data: { a: 'b' } },
    });
    const read = await core.readNamespacedConfigMap({ namespace: 'default', name: 'from-client-node' });
    expect(read.data).toEqual({ a: 'b' });
  });

  it('a 2xx write survives SIGKILL and restart', async () => {
    const created = await beta.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'durable', namespace: 'default' },
      data: { n: '1' },
    });
    // The cluster's objects (its Secrets among them) are its owner's alone.
    const objects = join(dataDir, 'clusters', 'beta', 'kube', 'objects.json');
    expect((await stat(objects)).mode & 0o777).toBe(0o600);
    await server.kill('SIGKILL');
    await server.start();
    beta = KubeClient.forCluster(server.url, 'beta');
    alpha = KubeClient.forCluster(server.url, 'alpha');
    const back = await beta.get('v1', 'ConfigMap', 'durable', 'default');
    expect(back?.data).toEqual({ n: '1' });
    expect(back?.metadata.uid).toBe(created.metadata.uid);
    // The counter continues: no resourceVersion is reused.
    const next = await beta.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'after', namespace: 'default' },
    });
    expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
  });

  it('serves a cluster added while running and forgets a removed one', async () => {
    const store = new ClusterStore(dataDir);
    await store.writeState(state('gamma', 1));
    const gamma = KubeClient.forCluster(server.url, 'gamma');
    expect((await gamma.list('v1', 'Node')).length).toBe(2);
    await store.remove('gamma');
    await waitFor(() => raw(`${server.url}/clusters/gamma/api/v1/nodes`).then((r) => r.status), {
      until: (s) => s === 404,
      message: 'gamma 404',
    });
  });
});
