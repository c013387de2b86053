/**
 * Cluster connect end to end (issue 5, acceptance 1), with a standard Kubernetes client: the kubeconfig
 * from listClusterUserCredential reaches the cluster's emulated apiserver only through the hub, the
 * cluster's clusterconnect-agent (its outbound NATS connection, through the egress gateway) and
 * kube-aad-proxy (which checks the token and impersonates the user).
 * Real processes: nats-server, hub, egress gateway, kube-apiserver and every agent, via `startFleet`.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import { startClientProxy } from '../../cli/commands/proxy.js';
import { ENV } from '../../platform/settings.js';
import { AGENT_NAMES, type AgentName } from '../../contract/index.js';
import { ISSUER_FILES, TokenIssuer } from '../../platform/fleet-issuer.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
/** The agents of a cluster with the default features: cluster connect on, Azure RBAC (guard) off. */
const DEPLOYED = AGENT_NAMES.filter((a) => a !== 'guard');
let dataDir: string;
let fleet: FleetHandle;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-connect-'));
  fleet = await startFleet({
    dataDir,
    clusters: 2,
    timeScale: 60,
    env: { ...FAST_TIMINGS, [ENV.agentStatusInterval]: '200', [ENV.clusterConnectTimeout]: '3s' },
  });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function clusterName(i: number): string {
  const c = fleet.clusters[i];
  if (!c) throw new Error(`no cluster ${i}`);
  return c.name;
}

async function kubeconfigFor(i: number, user = 'alice@contoso.com'): Promise<KubeConfig> {
  const c = fleet.clusters[i];
  if (!c) throw new Error(`no cluster ${i}`);
  return kubeConfigFrom(await fleet.client.clusterUserKubeconfig(c, user));
}

function kubeConfigFrom(text: string): KubeConfig {
  const loaded = new KubeConfig();
  loaded.loadFromString(text);
  if (loaded.getCurrentCluster()?.server.startsWith('https://')) return loaded;
  // `arcfleet proxy` listens on plain loopback HTTP, which client-node 1.x refuses unless TLS checks
  // are off (kubectl does not mind).
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: loaded.clusters.map((cl) => ({ ...cl, skipTLSVerify: true })),
    users: loaded.users,
    contexts: loaded.contexts,
    currentContext: loaded.currentContext,
  });
  return kc;
}

const KUBECTL = '/usr/bin/kubectl';

/** The HTTP status of a failed client-node call. */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('cluster connect with @kubernetes/client-node', () => {
  it('lists one Running deployment and pod per agent in azure-arc', async () => {
    const kc = await kubeconfigFor(0);
    expect(kc.getCurrentCluster()?.server).toContain('/arcfleet/v1/clusterconnect/');
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    // controller-manager writes them one by one: wait for both lists to be complete.
    const { deployments, pods } = await waitFor(
      async () => ({
        deployments: await apps.listNamespacedDeployment({ namespace: 'azure-arc' }),
        pods: await core.listNamespacedPod({ namespace: 'azure-arc' }),
      }),
      {
        until: (l) =>
          l.deployments.items.length === DEPLOYED.length &&
          l.deployments.items.every((d) => d.status?.readyReplicas === 1) &&
          l.pods.items.length === DEPLOYED.length &&
          l.pods.items.every((p) =>
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          ),
        timeoutMs: 20_000,
        message: 'every azure-arc deployment and pod ready',
      },
    );
    expect(deployments.items.map((d) => d.metadata?.name).sort()).toEqual([...DEPLOYED].sort());
    for (const pod of pods.items) expect(pod.status?.phase).toBe('Running');
    // What `kubectl get pods` asks for: a Table with READY and STATUS.
    const table = (await (
      await fetch(`${kc.getCurrentCluster()?.server ?? ''}/api/v1/namespaces/azure-arc/pods`, {
        headers: {
          authorization: `Bearer ${kc.getCurrentUser()?.token ?? ''}`,
          accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
        },
      })
    ).json()) as { kind: string; rows: { cells: unknown[] }[] };
    expect(table.kind).toBe('Table');
    for (const row of table.rows) expect(row.cells.slice(1, 3)).toEqual(['2/2', 'Running']);
  });

  it('serves kubectl with the raw kubeconfig from listClusterUserCredential, over HTTPS with the fleet CA', async () => {
    const c = fleet.clusters[0];
    if (!c) throw new Error('no cluster');
    const text = await fleet.client.clusterUserKubeconfig(c, 'alice@contoso.com');
    const config = parse(text) as {
      clusters: { cluster: { server: string; 'certificate-authority-data'?: string } }[];
    };
    const cluster = config.clusters[0]?.cluster;
    expect(cluster?.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/arcfleet\/v1\/clusterconnect\//);
    expect(Buffer.from(cluster?.['certificate-authority-data'] ?? '', 'base64').toString()).toBe(
      await readFile(fleet.caFile ?? '', 'utf8'),
    );
    // Not skipped when kubectl is missing: the machines this runs on have it (README, "Tests").
    await access(KUBECTL, constants.X_OK).catch(() => {
      throw new Error(`${KUBECTL} is missing: this test runs the real kubectl (install kubectl 1.32)`);
    });
    const file = join(dataDir, 'alice.kubeconfig');
    await writeFile(file, text, { mode: 0o600 });
    // Nothing else: no proxy, no --insecure-skip-tls-verify, no token on the command line.
    const { stdout } = await run(KUBECTL, [
      '--kubeconfig',
      file,
      'get',
      'pods',
      '-n',
      'azure-arc',
      '-o',
      'json',
    ]);
    const pods = JSON.parse(stdout) as { items: { status: { phase: string } }[] };
    expect(pods.items).toHaveLength(DEPLOYED.length);
    for (const pod of pods.items) expect(pod.status.phase).toBe('Running');
  });

  it('impersonates exactly the ARM caller of the token: a header cannot add system:masters', async () => {
    const c = fleet.clusters[0];
    if (!c) throw new Error('no cluster');
    const issuer = await TokenIssuer.open(join(dataDir, 'issuer', ISSUER_FILES.key));
    const kubeconfigAs = async (user: string, groups: string[]): Promise<KubeConfig> => {
      const res = await fetch(fleet.client.url(`${fleet.client.clusterPath(c)}/listClusterUserCredential`), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await issuer.issue({ user, groups })}`,
          // What an attacker would try; the hub reads the caller from the token only.
          'x-arcfleet-user': 'admin',
          'x-arcfleet-groups': 'system:masters',
        },
        body: JSON.stringify({ authenticationMethod: 'Token' }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { kubeconfigs: { value: string }[] };
      return kubeConfigFrom(Buffer.from(body.kubeconfigs[0]?.value ?? '', 'base64').toString());
    };
    await (await kubeconfigAs('mallory@contoso.com', [])).makeApiClient(CoreV1Api).listNamespace();
    await (await kubeconfigAs('olivia@contoso.com', ['ops'])).makeApiClient(CoreV1Api).listNamespace();
    // What the cluster's apiserver was asked to impersonate (its request log).
    const requests = await waitFor(
      async () =>
        (await readFile(join(dataDir, 'logs', 'kube-apiserver.log'), 'utf8'))
          .split('\n')
          .filter((l) => l.includes('"kube-apiserver.request"') && l.includes('"resource":"namespaces"'))
          .map((l) => JSON.parse(l) as { user?: string; groups?: string[] }),
      {
        until: (r) => r.some((x) => x.user === 'olivia@contoso.com'),
        timeoutMs: 5000,
        message: 'the apiserver logged both requests',
      },
    );
    const mallory = requests.filter((r) => r.user === 'mallory@contoso.com');
    expect(mallory.length).toBeGreaterThan(0);
    for (const r of mallory) expect(r.groups ?? []).toEqual([]);
    for (const r of requests.filter((x) => x.user === 'olivia@contoso.com'))
      expect(r.groups).toEqual(['ops']);
    expect(requests.some((r) => r.user === 'admin' || r.groups?.includes('system:masters'))).toBe(false);
  });

  it('creates a ConfigMap and reads it back, large bodies included', async () => {
    const core = (await kubeconfigFor(0)).makeApiClient(CoreV1Api);
    const big = 'x'.repeat(900 * 1024); // larger than three data frames, under the 1 MiB ConfigMap limit
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'through-connect' }, data: { hello: 'world', big } },
    });
    const read = await core.readNamespacedConfigMap({ name: 'through-connect', namespace: 'default' });
    expect(read.data?.['hello']).toBe('world');
    expect(read.data?.['big']).toHaveLength(big.length);
    // And it is in that cluster only.
    const core1 = (await kubeconfigFor(1)).makeApiClient(CoreV1Api);
    expect(
      await statusOf(core1.readNamespacedConfigMap({ name: 'through-connect', namespace: 'default' })),
    ).toBe(404);
  });

  it("refuses another cluster's token (403) and a wrong token (401)", async () => {
    const own = await kubeconfigFor(0);
    const otherUserToken = (await kubeconfigFor(1)).getCurrentUser()?.token ?? '';
    const server = own.getCurrentCluster()?.server ?? '';
    const get = (token: string): Promise<Response> =>
      fetch(`${server}/api/v1/namespaces`, { headers: { authorization: `Bearer ${token}` } });
    const foreign = await get(otherUserToken);
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    const wrong = await get('abc.def');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
    const none = await fetch(`${server}/api/v1/namespaces`);
    expect(none.status).toBe(401);
    // The client library sees the same refusal.
    const kc = await kubeconfigFor(0);
    const user = kc.getCurrentUser();
    if (user) (user as { token?: string }).token = otherUserToken;
    expect(await statusOf(kc.makeApiClient(CoreV1Api).listNamespace())).toBe(403);
  });

  it('streams a watch until the client closes it', async () => {
    const kc = await kubeconfigFor(0);
    const server = kc.getCurrentCluster()?.server ?? '';
    const token = kc.getCurrentUser()?.token ?? '';
    const abort = new AbortController();
    const res = await fetch(`${server}/api/v1/namespaces/default/configmaps?watch=true`, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'watched' }, data: { a: '1' } },
    });
    let text = '';
    const decoder = new TextDecoder();
    await waitFor(
      async () => {
        const chunk = await reader?.read();
        text += decoder.decode(chunk?.value ?? new Uint8Array());
        return text;
      },
      {
        until: (t) => t.includes('"watched"'),
        timeoutMs: 10_000,
        message: 'watch event for the new ConfigMap',
      },
    );
    expect(text).toContain('"ADDED"');
    abort.abort();
  });

  it('works through a local client proxy (arcfleet proxy), with no secret in the kubeconfig', async () => {
    const c = fleet.clusters[0];
    if (!c) throw new Error('no cluster');
    const proxy = await startClientProxy(fleet.client, c, { port: 0, user: 'bob' });
    try {
      expect(proxy.kubeconfig).not.toContain('token');
      const kc = kubeConfigFrom(proxy.kubeconfig);
      const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'azure-arc' });
      expect(pods.items).toHaveLength(DEPLOYED.length);
      // The az CLI's error for a port that is taken.
      await expect(startClientProxy(fleet.client, c, { port: proxy.port })).rejects.toThrow(
        /AZK8S0801\] ClientProxyPortInUse/,
      );
    } finally {
      await proxy.close();
    }
  });

  it('relays through kube-aad-proxy: stopped for the cluster, requests get its 503; started, they work', async () => {
    const name = clusterName(0);
    const core = (await kubeconfigFor(0)).makeApiClient(CoreV1Api);
    await core.listNamespace();
    const setStopped = (stopped: readonly AgentName[]) =>
      fleet.store.updateState(name, new Date(fleet.clock.now()).toISOString(), (s) => ({
        ...s,
        stoppedAgents: [...stopped],
      }));
    await setStopped(['kube-aad-proxy']);
    const server = (await kubeconfigFor(0)).getCurrentCluster()?.server ?? '';
    const token = (await kubeconfigFor(0)).getCurrentUser()?.token ?? '';
    const refused = await waitFor(
      () => fetch(`${server}/api/v1/namespaces`, { headers: { authorization: `Bearer ${token}` } }),
      { until: (r) => r.status === 503, timeoutMs: 15_000, message: 'kube-aad-proxy stopped answers 503' },
    );
    expect(await refused.json()).toMatchObject({
      kind: 'Status',
      code: 503,
      message: `kube-aad-proxy is not running for cluster "${name}"`,
    });
    await setStopped([]);
    await waitFor(() => statusOf(core.listNamespace()), {
      until: (s) => s === 200,
      timeoutMs: 15_000,
      message: 'cluster connect works again once kube-aad-proxy runs',
    });
  });

  it('answers like a dead link while the egress is cut, and works again after restore', async () => {
    const name = clusterName(1);
    const core = (await kubeconfigFor(1)).makeApiClient(CoreV1Api);
    await core.listNamespace();
    const cut = await fetch(`${fleet.egressApiUrl}/v1/chaos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'cut', targets: { clusters: [name] }, mode: 'reject' }),
    });
    expect(cut.status).toBe(200);
    const status = await statusOf(core.listNamespace());
    expect([502, 504]).toContain(status);
    const restore = await fetch(`${fleet.egressApiUrl}/v1/chaos`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'restore', targets: { clusters: [name] } }),
    });
    expect(restore.status).toBe(200);
    await waitFor(() => statusOf(core.listNamespace()), {
      until: (s) => s === 200,
      timeoutMs: 30_000,
      message: 'cluster connect works again after restore',
    });
  });
});
