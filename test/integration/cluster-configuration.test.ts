/**
 * Extensions, Service Connector, Flux configurations and the region move, end to end (issue 5,
 * acceptance 2-5): ARM calls on the hub, the real extension-manager and config-agent pulling over NATS
 * (through the egress gateway) and applying to the emulated apiserver, which the test reads directly.
 * Time scale 60: the agents' operation timeout (3 min simulated) is 3 s real.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import type { ClusterState } from '../../contract/index.js';
import { userAuthenticator } from '../../platform/broker-keys.js';
import { ENV } from '../../platform/settings.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { DIST_DIR } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { postChaos } from '../helpers/chaos.js';

const run = promisify(execFile);
const CONFIG_API = '2024-11-01';
const LINKER_API = '2024-04-01';
const AGENT_TIMEOUT = 'Unable to get a response from the agent in time';
const SC_TYPE = 'microsoft.servicelinker.kubernetes';

let dataDir: string;
let fleet: FleetHandle;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-config-'));
  fleet = await startFleet({
    dataDir,
    clusters: 3,
    timeScale: 60,
    env: {
      ...FAST_TIMINGS,
      [ENV.agentStatusInterval]: '200',
      [ENV.extensionOperationTimeout]: '3m',
      [ENV.configPullInterval]: '1m',
    },
  });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function cluster(i: number): ClusterState {
  const c = fleet.clusters[i];
  if (!c) throw new Error(`no cluster ${i}`);
  return c;
}

interface Res {
  status: number;
  text: string;
  body: Record<string, unknown> & {
    properties?: Record<string, unknown>;
    error?: { code: string; message: string; target?: string };
  };
}

async function arm(method: string, path: string, apiVersion: string, body?: unknown): Promise<Res> {
  const auth = await fleet.client.authHeaders();
  const res = await fetch(`${fleet.hubUrl}${path}?api-version=${apiVersion}`, {
    method,
    headers: body === undefined ? auth : { 'content-type': 'application/json', ...auth },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: text === '' ? {} : (JSON.parse(text) as Res['body']) };
}

const ext = (i: number, name: string): string =>
  `${fleet.client.clusterPath(cluster(i))}/providers/Microsoft.KubernetesConfiguration/extensions/${name}`;
const flux = (i: number, name: string): string =>
  `${fleet.client.clusterPath(cluster(i))}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations/${name}`;
const linker = (i: number, name: string): string =>
  `${fleet.client.clusterPath(cluster(i))}/providers/Microsoft.ServiceLinker/linkers/${name}`;

async function waitProps(
  path: string,
  apiVersion: string,
  until: (p: Record<string, unknown>) => boolean,
  message: string,
  timeoutMs = 30_000,
): Promise<Record<string, unknown>> {
  const r = await waitFor(() => arm('GET', path, apiVersion), {
    until: (x) => x.status === 200 && until(x.body.properties ?? {}),
    timeoutMs,
    message,
  });
  return r.body.properties ?? {};
}

/** GET from the cluster's emulated apiserver (the test stands inside the cluster). */
async function kube(i: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${fleet.kubeApiserverUrl}/clusters/${encodeURIComponent(cluster(i).name)}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function setStopped(i: number, agents: ClusterState['stoppedAgents']): Promise<void> {
  await fleet.store.updateState(cluster(i).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
    ...s,
    stoppedAgents: agents,
  }));
}

/**
 * The agent's host has stopped its instance: its status file is gone (the host removes it on stop).
 * Waiting on the apiserver is not enough: it derives "not ready" from `stoppedAgents` at once.
 */
async function waitAgentStopped(i: number, agent: string): Promise<void> {
  await waitFor(() => fleet.store.readAgentStatuses(cluster(i).name), {
    until: (r) => !r.statuses.some((st) => st.agent === agent),
    timeoutMs: 10_000,
    message: `${agent} stopped for ${cluster(i).name}`,
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const chaos = (body: object): Promise<void> => postChaos(fleet.egressApiUrl, body);

describe('Service Connector (sc-extension)', () => {
  it('installs with protected settings that are never returned', async () => {
    const put = await arm('PUT', ext(0, 'sc-extension'), CONFIG_API, {
      properties: {
        extensionType: SC_TYPE,
        configurationSettings: { logLevel: 'info' },
        configurationProtectedSettings: { apiKey: 'SECRET-sc-123' },
      },
    });
    expect([200, 201]).toContain(put.status);
    expect(put.text).not.toContain('SECRET-sc-123');
    const props = await waitProps(
      ext(0, 'sc-extension'),
      CONFIG_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'sc-extension Succeeded',
    );
    expect(props['currentVersion']).toBe('1.2.3');
    const get = await arm('GET', ext(0, 'sc-extension'), CONFIG_API);
    const list = await arm(
      'GET',
      `${fleet.client.clusterPath(cluster(0))}/providers/Microsoft.KubernetesConfiguration/extensions`,
      CONFIG_API,
    );
    for (const r of [get, list]) expect(r.text).not.toContain('SECRET-sc-123');
    expect(get.body.properties?.['configurationProtectedSettings'] ?? null).toBeNull();
    const deployment = await kube(0, '/apis/apps/v1/namespaces/sc-system/deployments/sc-controller');
    expect(deployment.status).toBe(200);
  });

  it('leaves no protected setting in the streams once dropped, nor readable in their block files', async () => {
    // Delivered above (Succeeded), so the hub has dropped them from the extension's record.
    const secret = 'SECRET-sc-123';
    const nc = await connect({
      servers: fleet.natsUrl.split(','),
      authenticator: userAuthenticator(await fleet.natsCredentials().then((c) => () => c)),
      ...(await fleet.natsTls()),
    });
    try {
      const jsm = await nc.jetstreamManager();
      const held = async (): Promise<string[]> => {
        const out: string[] = [];
        for await (const info of jsm.streams.list()) {
          const { first_seq: first, last_seq: last } = info.state;
          for (let seq = first; seq > 0 && seq <= last; seq++) {
            const m = await jsm.streams.getMessage(info.config.name, { seq }).catch(() => undefined);
            if (m && Buffer.from(m.data).includes(secret)) out.push(`${info.config.name}#${seq}`);
          }
        }
        return out;
      };
      // GET reads the hub's memory; the record without them reaches the stream a moment later.
      await waitFor(held, {
        until: (h) => h.length === 0,
        timeoutMs: 10_000,
        message: 'no stream message holding the dropped protected setting',
      });
    } finally {
      await nc.close();
    }
    // Until compaction a block file keeps a replaced revision's bytes: encrypted at rest, so unreadable.
    const blocks = await filesUnder(join(fleet.dataDir, 'nats'));
    expect(blocks.some((f) => f.endsWith('.blk'))).toBe(true);
    const plain: string[] = [];
    for (const f of blocks) if ((await readFile(f)).includes(secret)) plain.push(f);
    expect(plain).toEqual([]);
  });

  it('creates the Secret and ServiceAccount of a connection in its namespace, and leaves them on delete', async () => {
    const clientId = '00000000-0000-0000-0000-00000000abcd';
    const put = await arm('PUT', linker(0, 'orders-db'), LINKER_API, {
      properties: {
        targetService: {
          type: 'AzureResource',
          id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.DBforPostgreSQL/flexibleServers/orders',
        },
        authInfo: { authType: 'workloadIdentity', clientId },
        scope: 'shop',
      },
    });
    expect([200, 201]).toContain(put.status);
    await waitProps(
      linker(0, 'orders-db'),
      LINKER_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'linker Succeeded',
    );
    const secret = await kube(0, '/api/v1/namespaces/shop/secrets/sc-orders-db-secret');
    expect(secret.status).toBe(200);
    const sa = await kube(0, `/api/v1/namespaces/shop/serviceaccounts/sc-account-${clientId}`);
    expect(sa.status).toBe(200);
    expect(JSON.stringify(sa.body)).toContain(clientId);

    expect((await arm('DELETE', linker(0, 'orders-db'), LINKER_API)).status).toBeLessThan(300);
    await waitFor(() => arm('GET', linker(0, 'orders-db'), LINKER_API), {
      until: (r) => r.status === 404,
      timeoutMs: 10_000,
    });
    expect((await kube(0, '/api/v1/namespaces/shop/secrets/sc-orders-db-secret')).status).toBe(200);
  });

  it('refuses a connection with Conflict while the extension is updating', async () => {
    const patch = await arm('PATCH', ext(0, 'sc-extension'), CONFIG_API, {
      properties: { configurationSettings: { logLevel: 'debug' } },
    });
    expect(patch.status).toBeLessThan(300);
    const conflict = await arm('PUT', linker(0, 'late'), LINKER_API, {
      properties: {
        targetService: {
          type: 'AzureResource',
          id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/x',
        },
        authInfo: { authType: 'secret' },
      },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error?.code).toBe('Conflict');
    await waitProps(
      ext(0, 'sc-extension'),
      CONFIG_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'update Succeeded',
    );
  });
  it('makes every connection unusable when the extension is uninstalled', async () => {
    await arm('PUT', linker(0, 'keep'), LINKER_API, {
      properties: {
        targetService: {
          type: 'AzureResource',
          id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/kv',
        },
        authInfo: { authType: 'secret' },
      },
    });
    await waitProps(
      linker(0, 'keep'),
      LINKER_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'linker Succeeded',
    );
    const validate = (): Promise<Res> => arm('POST', `${linker(0, 'keep')}/validateLinker`, LINKER_API);
    expect((await validate()).body['isConnectionAvailable']).toBe(true);
    expect((await arm('DELETE', ext(0, 'sc-extension'), CONFIG_API)).status).toBeLessThan(300);
    await waitFor(() => arm('GET', ext(0, 'sc-extension'), CONFIG_API), {
      until: (r) => r.status === 404,
      timeoutMs: 20_000,
      message: 'sc-extension uninstalled',
    });
    expect((await kube(0, '/apis/apps/v1/namespaces/sc-system/deployments/sc-controller')).status).toBe(404);
    const after = await validate();
    expect(after.body['isConnectionAvailable']).toBe(false);
    // The connection's Kubernetes objects stay, as the real extension leaves them.
    expect((await kube(0, '/api/v1/namespaces/default/secrets/sc-keep-secret')).status).toBe(200);
  });
});

describe('agents that do not answer', () => {
  it('fail an operation with the real message when extension-manager is stopped, and recover', async () => {
    await setStopped(1, ['extension-manager']);
    await waitAgentStopped(1, 'extension-manager');
    await arm('PUT', ext(1, 'flux'), CONFIG_API, { properties: { extensionType: 'microsoft.flux' } });
    const failed = await waitProps(
      ext(1, 'flux'),
      CONFIG_API,
      (p) => p['provisioningState'] === 'Failed',
      'Failed on timeout',
    );
    expect((failed['errorInfo'] as { message?: string }).message).toBe(AGENT_TIMEOUT);
    await setStopped(1, []);
    await waitProps(
      ext(1, 'flux'),
      CONFIG_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'recovered after start',
    );
  });

  it('stay Pending while the egress is cut (the cluster Offline), and complete after restore', async () => {
    await chaos({ action: 'cut', targets: { clusters: [cluster(1).name] }, mode: 'drop' });
    await waitFor(() => fleet.client.getCluster(cluster(1)), {
      timeoutMs: 30_000,
      until: (c) => c.properties.connectivityStatus === 'Offline',
      message: `${cluster(1).name} Offline while cut`,
    });
    await arm('PATCH', ext(1, 'flux'), CONFIG_API, {
      properties: { configurationSettings: { 'multiTenancy.enforce': 'false' } },
    });
    // Past the operation timeout: not failed, Pending with the documented wait for the agents.
    const pending = await waitProps(
      ext(1, 'flux'),
      CONFIG_API,
      (p) => (p['statuses'] as { displayStatus?: string }[] | undefined)?.[0]?.displayStatus === 'Pending',
      'Pending while cut',
    );
    expect(pending['provisioningState']).toBe('Updating');
    await chaos({ action: 'restore', targets: { clusters: [cluster(1).name] } });
    await waitProps(
      ext(1, 'flux'),
      CONFIG_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'completed after restore',
      60_000,
    );
  });
});

describe('versions and Helm failures', () => {
  it('honours a pinned version, upgrades minor versions once auto-upgrade is on, and reports an install failure', async () => {
    const path = ext(1, 'sample');
    await arm('PUT', path, CONFIG_API, {
      properties: {
        extensionType: 'microsoft.contoso.sample',
        autoUpgradeMinorVersion: false,
        version: '0.1.0',
      },
    });
    const pinned = await waitProps(
      path,
      CONFIG_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'pinned install',
    );
    expect(pinned['currentVersion']).toBe('0.1.0');
    await arm('PATCH', path, CONFIG_API, { properties: { autoUpgradeMinorVersion: true } });
    await waitProps(
      path,
      CONFIG_API,
      (p) => p['currentVersion'] === '0.2.0' && p['provisioningState'] === 'Succeeded',
      'upgraded by the agent',
    );

    // The fault must be in force when the agent acts: inject it while extension-manager is stopped, so
    // the instance that starts again reads it with the cluster (no race with the agent's next poll).
    await fleet.store.updateState(cluster(1).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
      ...s,
      stoppedAgents: ['extension-manager'],
      faults: { extensionInstall: 'UPGRADE Failed: time out waiting for the condition' },
    }));
    await waitAgentStopped(1, 'extension-manager');
    await arm('PATCH', path, CONFIG_API, { properties: { releaseTrain: 'Preview' } });
    await setStopped(1, []);
    const failed = await waitProps(
      path,
      CONFIG_API,
      (p) => (p['errorInfo'] as { code?: string } | null)?.code === 'InstallationFailed',
      'install failure',
    );
    expect(failed['provisioningState']).toBe('Failed');
    expect(failed['errorInfo']).toMatchObject({
      code: 'InstallationFailed',
      message: 'Unable to install helm release: Error: UPGRADE Failed: time out waiting for the condition',
    });
    expect(failed['currentVersion']).toBe('0.2.0');
    await fleet.store.updateState(cluster(1).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
      ...s,
      faults: {},
    }));
    await waitProps(
      path,
      CONFIG_API,
      (p) => p['provisioningState'] === 'Succeeded' && p['currentVersion'] === '0.3.0',
      'installed once the fault is cleared',
    );
  });
});

describe('a desired state larger than one agent report', () => {
  it('installs an extension whose settings exceed ARCFLEET_MAX_MESSAGE_BYTES (64 KiB)', async () => {
    const value = 'v'.repeat(40_000);
    const path = ext(1, 'big-settings');
    const put = await arm('PUT', path, CONFIG_API, {
      properties: {
        extensionType: 'microsoft.contoso.sample',
        configurationSettings: { a: value, b: value },
        configurationProtectedSettings: { c: value },
      },
    });
    expect([200, 201]).toContain(put.status);
    await waitProps(
      path,
      CONFIG_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'large extension Succeeded',
    );
    const settings = await kube(1, '/api/v1/namespaces/contoso/configmaps/big-settings-settings');
    expect(((settings.body['data'] as Record<string, string>)['a'] ?? '').length).toBe(value.length);
  });
});

describe('Flux configuration', () => {
  const body = (branch: string): object => ({
    properties: {
      scope: 'cluster',
      namespace: 'cluster-config',
      sourceKind: 'GitRepository',
      gitRepository: { url: 'https://github.com/contoso/fleet-config', repositoryRef: { branch } },
      kustomizations: { infra: { path: './infrastructure', prune: true } },
    },
  });

  it('goes Pending → Compliant, Non-Compliant on an injected failure, and Pending → Compliant for a new desired state', async () => {
    const put = await arm('PUT', flux(2, 'cluster-config'), CONFIG_API, body('main'));
    expect([200, 201]).toContain(put.status);
    expect(put.body.properties?.['complianceState']).toBe('Pending');
    const compliant = await waitProps(
      flux(2, 'cluster-config'),
      CONFIG_API,
      (p) => p['complianceState'] === 'Compliant',
      'Compliant',
    );
    const kinds = (compliant['statuses'] as { kind: string }[]).map((s) => s.kind).sort();
    expect(kinds).toEqual(['GitRepository', 'Kustomization']);
    const firstCommit = compliant['sourceSyncedCommitId'];
    expect((await kube(2, '/api/v1/namespaces/cluster-config/configmaps/cluster-config-infra')).status).toBe(
      200,
    );

    await fleet.store.updateState(cluster(2).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
      ...s,
      faults: { fluxApply: 'accumulating resources: path ./infrastructure not found' },
    }));
    const broken = await waitProps(
      flux(2, 'cluster-config'),
      CONFIG_API,
      (p) => p['complianceState'] === 'Non-Compliant',
      'Non-Compliant',
    );
    expect(String(broken['errorMessage'])).toContain('path ./infrastructure not found');

    await fleet.store.updateState(cluster(2).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
      ...s,
      faults: {},
    }));
    const again = await arm('PUT', flux(2, 'cluster-config'), CONFIG_API, body('release'));
    expect(again.body.properties?.['complianceState']).toBe('Pending');
    const back = await waitProps(
      flux(2, 'cluster-config'),
      CONFIG_API,
      (p) => p['complianceState'] === 'Compliant',
      'Compliant again',
    );
    expect(back['sourceSyncedCommitId']).not.toBe(firstCommit);
    expect(back['errorMessage'] ?? null).toBeNull();
  });

  it('names the offending field in ARM errors', async () => {
    const bad = await arm('PUT', flux(2, 'broken'), CONFIG_API, {
      properties: { sourceKind: 'GitRepository', gitRepository: { repositoryRef: { branch: 'main' } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.target ?? bad.body.error?.message).toMatch(/gitRepository\.url|url/);
    const unknown = await arm('PUT', ext(2, 'nope'), CONFIG_API, {
      properties: { extensionType: 'contoso.unknown' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error?.target ?? '').toContain('extensionType');
  });
});

describe('region move', () => {
  it('moves a cluster with its extensions, Flux configurations and connections (arcfleet move)', async () => {
    const c = cluster(2);
    await arm('PUT', ext(2, 'sc-extension'), CONFIG_API, {
      properties: { extensionType: SC_TYPE, configurationProtectedSettings: { apiKey: 'kept-by-user' } },
    });
    await waitProps(
      ext(2, 'sc-extension'),
      CONFIG_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'sc Succeeded',
    );
    await arm('PUT', linker(2, 'cache'), LINKER_API, {
      properties: {
        targetService: {
          type: 'AzureResource',
          id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Cache/redis/cache',
        },
        authInfo: { authType: 'secret' },
        scope: 'default',
      },
    });
    await waitProps(
      linker(2, 'cache'),
      LINKER_API,
      (p) => p['provisioningState'] === 'Succeeded',
      'linker Succeeded',
    );
    const kept = join(dataDir, 'protected.json');
    await writeFile(kept, JSON.stringify({ extensions: { 'sc-extension': { apiKey: 'kept-by-user' } } }));
    const target = c.location === 'westeurope' ? 'northeurope' : 'westeurope';
    const out = await run(
      process.execPath,
      [
        join(DIST_DIR, 'cli', 'main.js'),
        'move',
        c.name,
        '--to',
        target,
        '--protected-settings',
        kept,
        '--data-dir',
        dataDir,
        '--timeout',
        '30',
      ],
      { timeout: 120_000 },
    );
    expect(out.stdout).toContain('LIST after re-creating equals LIST before');
    const moved = await fleet.client.getCluster(c);
    expect(moved.location).toBe(target);
    expect(moved.properties.connectivityStatus).toBe('Connected');
    const list = await arm(
      'GET',
      `${fleet.client.clusterPath(c)}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations`,
      CONFIG_API,
    );
    expect((list.body['value'] as unknown[]).length).toBe(1);
  });
});

describe('legacy source control configurations (Flux v1)', () => {
  const LEGACY_API = '2023-05-01';
  const scc = (i: number, name: string): string =>
    `${fleet.client.clusterPath(cluster(i))}/providers/Microsoft.KubernetesConfiguration/sourceControlConfigurations/${name}`;
  const body = (props: Record<string, unknown>): object => ({
    properties: {
      repositoryUrl: 'git@github.com:contoso/flux-get-started',
      operatorNamespace: 'cluster-config',
      operatorParams: '--git-readonly --git-branch=main --git-path=releases',
      ...props,
    },
  });
  const compliance = (p: Record<string, unknown>): Record<string, unknown> =>
    (p['complianceStatus'] ?? {}) as Record<string, unknown>;

  it('is Succeeded at once and Pending, then Installed, Compliant; Noncompliant when the sync fails', async () => {
    const put = await arm('PUT', scc(1, 'legacy-config'), LEGACY_API, body({ enableHelmOperator: true }));
    expect(put.status).toBe(201);
    expect(put.body.properties).toMatchObject({
      provisioningState: 'Succeeded',
      operatorInstanceName: 'legacy-config',
      operatorType: 'Flux',
      operatorScope: 'cluster',
      configurationProtectedSettings: {},
      complianceStatus: { complianceState: 'Pending', messageLevel: 'Information' },
    });
    // The operator runs first (Installed), its first sync follows at the next pull (Compliant).
    const states: string[] = [];
    const compliant = await waitProps(
      scc(1, 'legacy-config'),
      LEGACY_API,
      (p) => {
        const s = String(compliance(p)['complianceState']);
        if (states.at(-1) !== s) states.push(s);
        return s === 'Compliant';
      },
      'Compliant',
    );
    expect(states.filter((s) => s !== 'Pending')).toEqual(
      states.includes('Installed') ? ['Installed', 'Compliant'] : ['Compliant'],
    );
    expect(compliance(compliant)['lastConfigApplied']).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(compliance(compliant)['message']).toMatch(/^Synced revision main@sha1:[0-9a-f]{40}/);
    // An SSH repository without a key: the operator generated one; its public half is the deploy key.
    expect(compliant['repositoryPublicKey']).toMatch(
      /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\S+ legacy-config@/,
    );
    for (const d of ['legacy-config', 'legacy-config-memcached', 'legacy-config-helm-operator'])
      expect((await kube(1, `/apis/apps/v1/namespaces/cluster-config/deployments/${d}`)).status, d).toBe(200);
    const sync = await kube(1, '/api/v1/namespaces/cluster-config/configmaps/legacy-config-sync');
    expect(sync.body['data']).toMatchObject({ branch: 'main', path: 'releases' });

    await fleet.store.updateState(cluster(1).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
      ...s,
      faults: { fluxApply: 'git clone: repository not found' },
    }));
    const broken = await waitProps(
      scc(1, 'legacy-config'),
      LEGACY_API,
      (p) => compliance(p)['complianceState'] === 'Noncompliant',
      'Noncompliant',
    );
    expect(compliance(broken)).toMatchObject({ messageLevel: 'Error' });
    expect(String(compliance(broken)['message'])).toContain('repository not found');
    await fleet.store.updateState(cluster(1).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
      ...s,
      faults: {},
    }));
    await waitProps(
      scc(1, 'legacy-config'),
      LEGACY_API,
      (p) => compliance(p)['complianceState'] === 'Compliant',
      'Compliant after the fault',
    );
  });

  it('is Failed when the operator cannot be installed, and refuses changes to the operator placement', async () => {
    // Another configuration with the same operator instance in the same namespace.
    const taken = await arm(
      'PUT',
      scc(1, 'second-config'),
      LEGACY_API,
      body({ operatorInstanceName: 'legacy-config' }),
    );
    expect(taken.status).toBe(201);
    const failed = await waitProps(
      scc(1, 'second-config'),
      LEGACY_API,
      (p) => compliance(p)['complianceState'] === 'Failed',
      'Failed (instance taken)',
    );
    expect(String(compliance(failed)['message'])).toContain("'legacy-config' already exists");
    const badParams = await arm(
      'PUT',
      scc(1, 'third-config'),
      LEGACY_API,
      body({ operatorParams: 'git-readonly' }),
    );
    expect(badParams.status).toBe(201);
    const refused = await waitProps(
      scc(1, 'third-config'),
      LEGACY_API,
      (p) => compliance(p)['complianceState'] === 'Failed',
      'Failed (operatorParams)',
    );
    expect(String(compliance(refused)['message'])).toContain("unknown argument 'git-readonly'");

    const moved = await arm(
      'PUT',
      scc(1, 'legacy-config'),
      LEGACY_API,
      body({ operatorNamespace: 'elsewhere' }),
    );
    expect(moved.status).toBe(400);
    expect(moved.body.error).toMatchObject({
      code: 'PropertyChangeNotAllowed',
      target: 'properties.operatorNamespace',
    });
    const noUrl = await arm('PUT', scc(1, 'no-url'), LEGACY_API, { properties: { operatorNamespace: 'x' } });
    expect(noUrl.status).toBe(400);
    expect(noUrl.body.error?.target).toBe('properties.repositoryUrl');
    // The oldest preview defined enableHelmOperator as a string.
    const old = await arm('GET', scc(1, 'legacy-config'), '2019-11-01-preview');
    expect(old.body.properties?.['enableHelmOperator']).toBe('true');
    expect(old.body).not.toHaveProperty('systemData');
    expect(old.body.properties).not.toHaveProperty('sshKnownHostsContents');
  });

  it('lists them, and a DELETE answers 200, shows Deleting, and removes the operator', async () => {
    const list = await arm('GET', `${scc(1, 'x').replace(/\/x$/, '')}`, LEGACY_API);
    const names = (list.body['value'] as { name: string }[]).map((v) => v.name);
    expect(names).toEqual(['legacy-config', 'second-config', 'third-config']);
    for (const name of ['second-config', 'third-config'])
      expect((await arm('DELETE', scc(1, name), LEGACY_API)).status).toBe(200);
    const del = await arm('DELETE', scc(1, 'legacy-config'), LEGACY_API);
    expect(del.status).toBe(200);
    await waitFor(() => arm('GET', scc(1, 'legacy-config'), LEGACY_API), {
      until: (r) => r.status === 404,
      timeoutMs: 30_000,
      message: 'legacy-config gone',
    });
    expect((await kube(1, '/apis/apps/v1/namespaces/cluster-config/deployments/legacy-config')).status).toBe(
      404,
    );
    expect((await kube(1, '/api/v1/namespaces/cluster-config/secrets/legacy-config-git-deploy')).status).toBe(
      404,
    );
    expect((await arm('DELETE', scc(1, 'legacy-config'), LEGACY_API)).status).toBe(204);
  });
});
