/**
 * Cluster configuration over real HTTP and real NATS, against the real hub process: extensions,
 * Flux configurations and Service Connector linkers. The test plays the cluster's agents
 * (clusteridentityoperator registers; extension-manager and config-agent pull and report, signed
 * like the real ones). Timings are the defaults (real Arc values) on a fast simulated clock: at 600×
 * the 10-minute operation timeout takes 1 s (long enough to observe Creating / Deleting and the 409s
 * they cause); a second hub at 20,000× lets the 48-hour protected-settings hold end in ~9 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection, Subscription } from 'nats';
import { generateAgentKeyPair, type AgentKeyPair } from '../../platform/identity.js';
import { type DesiredStateReply, PROTOCOL_VERSION, subjects, type ClusterRef } from '../../contract/index.js';
import type { ArmErrorBody, ArmResponse } from '../helpers/arm.js';
import { agentSubject, connectWire, heartbeat, register, request } from '../helpers/agent-wire.js';
import { TestFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

const TIME_SCALE = 600;
const HOLD_TIME_SCALE = 20_000;
const EXT_V = '2023-05-01';
const LINKER_V = '2024-04-01';
const SECRET = 'pr0tected-S3CRET-value';
const TIMEOUT_MESSAGE = 'Unable to get a response from the agent in time';

let fleet: TestFleet;
let nc: NatsConnection;
let seq = 0;

interface Cluster {
  ref: ClusterRef;
  keys: AgentKeyPair;
  controls: string[];
  sub: Subscription;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function clusterPath(ref: ClusterRef): string {
  return `${fleet.arm.clusterPath(ref)}`;
}
function extPath(ref: ClusterRef, name = ''): string {
  return `${clusterPath(ref)}/providers/Microsoft.KubernetesConfiguration/extensions${name ? `/${name}` : ''}`;
}
function fluxPath(ref: ClusterRef, name = ''): string {
  return `${clusterPath(ref)}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations${name ? `/${name}` : ''}`;
}
function linkerPath(ref: ClusterRef, name = ''): string {
  return `${clusterPath(ref)}/providers/Microsoft.ServiceLinker/linkers${name ? `/${name}` : ''}`;
}

function call(
  method: string,
  path: string,
  body?: unknown,
  apiVersion: string | null = EXT_V,
): Promise<ArmResponse<Json>> {
  return fleet.arm.request<Json>(method, path, { apiVersion, ...(body === undefined ? {} : { body }) });
}

function expectArmError(res: ArmResponse, status: number, code: string, target?: string): void {
  expect({ status: res.status, body: res.body }, res.text).toMatchObject({
    status,
    body: { error: { code } },
  });
  const e = (res.body as ArmErrorBody).error;
  expect(e.message.length).toBeGreaterThan(0);
  if (target !== undefined) {
    expect(e.target).toBe(target);
    expect(e.message).toContain(target);
  }
}

/** A connected cluster whose agents this test plays: PUT, register, one heartbeat (→ Succeeded). */
async function newCluster(): Promise<Cluster> {
  const ref: ClusterRef = {
    subscriptionId: fleet.subscriptionId,
    resourceGroup: 'cfg-rg',
    name: `cfg-${++seq}`,
  };
  const keys = generateAgentKeyPair();
  await fleet.arm.createGroup(fleet.subscriptionId, ref.resourceGroup);
  const res = await fleet.arm.put(ref, {
    location: 'westeurope',
    properties: { agentPublicKeyCertificate: keys.publicKey },
  });
  expect(res.status, res.text).toBe(201);
  const identity = await register(nc, ref, keys, res.headers.get('x-arcfleet-bootstrap-token') ?? '');
  expect(identity.type, JSON.stringify(identity)).toBe('identity');
  expect((await heartbeat(nc, ref)).type).toBe('ack');
  await waitFor(() => fleet.arm.cluster(ref), {
    until: (c) => c.properties.provisioningState === 'Succeeded',
    message: `${ref.name} Succeeded`,
  });
  const controls: string[] = [];
  const sub = nc.subscribe(subjects.control(ref), {
    callback: (_err, msg) => controls.push(JSON.parse(new TextDecoder().decode(msg.data)).action),
  });
  await nc.flush();
  return { ref, keys, controls, sub };
}

async function pull(
  c: Cluster,
  agent: 'extension-manager' | 'config-agent' | 'metrics-agent',
): Promise<DesiredStateReply> {
  const reply = await request(nc, agentSubject(c.ref, agent, 'config-pull'), {
    v: PROTOCOL_VERSION,
    type: 'config-pull',
    agent,
    sentAt: new Date(fleet.clock.now()).toISOString(),
  });
  expect(reply.type, JSON.stringify(reply)).toBe('desired-state');
  return reply as unknown as DesiredStateReply;
}

function reportExtensions(
  c: Cluster,
  extensions: Json[],
  agent: 'extension-manager' | 'config-agent' = 'extension-manager',
) {
  return request(nc, agentSubject(c.ref, agent, 'config-status'), {
    v: PROTOCOL_VERSION,
    type: 'config-status',
    agent,
    sentAt: new Date(fleet.clock.now()).toISOString(),
    extensions,
    fluxConfigurations: [],
  });
}

function reportFlux(c: Cluster, fluxConfigurations: Json[]) {
  return request(nc, agentSubject(c.ref, 'config-agent', 'config-status'), {
    v: PROTOCOL_VERSION,
    type: 'config-status',
    agent: 'config-agent',
    sentAt: new Date(fleet.clock.now()).toISOString(),
    extensions: [],
    fluxConfigurations,
  });
}

function installed(name: string, generation: number, over: Json = {}): Json {
  return {
    name,
    generation,
    phase: 'Installed',
    currentVersion: '1.14.1',
    statuses: [
      {
        code: 'InstallationSucceeded',
        displayStatus: 'Succeeded',
        level: 'Information',
        message: 'ok',
        time: new Date().toISOString(),
      },
    ],
    errorInfo: null,
    appliedConnections: [],
    ...over,
  };
}

async function getExt(c: Cluster, name: string): Promise<Json> {
  const res = await call('GET', extPath(c.ref, name));
  expect(res.status, res.text).toBe(200);
  expect(res.text).not.toContain(SECRET);
  return res.body;
}

function waitExt(c: Cluster, name: string, until: (e: Json) => boolean, message: string, timeoutMs = 10_000) {
  return waitFor(() => getExt(c, name), { until, message, timeoutMs });
}

let a: Cluster;

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 0,
    agents: false,
    connect: false,
    timeScale: TIME_SCALE,
    env: { ARCFLEET_HUB_PAGE_SIZE: '2' },
  });
  nc = await connectWire(fleet);
  a = await newCluster();
});

afterAll(async () => {
  await nc?.close();
  await fleet?.stop();
});

describe('extensions', () => {
  it('create → pull → Installed → Succeeded; protected settings held until acknowledged and never in a response', async () => {
    const put = await call('PUT', extPath(a.ref, 'flux'), {
      properties: {
        extensionType: 'microsoft.flux',
        configurationSettings: { 'multiTenancy.enforce': 'false' },
        configurationProtectedSettings: { token: SECRET },
      },
    });
    expect(put.status, put.text).toBe(201);
    expect(put.text).not.toContain(SECRET);
    expect(put.body).toMatchObject({
      name: 'flux',
      type: 'Microsoft.KubernetesConfiguration/extensions',
      id: `${clusterPath(a.ref)}/providers/Microsoft.KubernetesConfiguration/extensions/flux`,
      systemData: { createdByType: 'User' },
      properties: {
        extensionType: 'microsoft.flux',
        autoUpgradeMinorVersion: true,
        releaseTrain: 'Stable',
        scope: { cluster: { releaseNamespace: 'flux-system' } },
        configurationProtectedSettings: null,
        provisioningState: 'Creating',
        isSystemExtension: false,
        currentVersion: null,
      },
    });
    const opUrl = put.headers.get('azure-asyncoperation') ?? '';
    expect(opUrl).toMatch(/\/extensions\/flux\/operations\/.+api-version=2023-05-01/);
    expect(put.headers.get('retry-after')).not.toBeNull();
    await waitFor(() => a.controls.includes('config-changed'), {
      message: 'config-changed on the control subject',
    });

    const desired = await pull(a, 'extension-manager');
    expect(desired.extensions).toEqual([
      expect.objectContaining({
        name: 'flux',
        generation: 1,
        deleting: false,
        configurationProtectedSettings: { token: SECRET },
      }),
    ]);
    expect((await pull(a, 'config-agent')).extensions).toEqual([]);
    expect(await pull(a, 'metrics-agent')).toMatchObject({ extensions: [], fluxConfigurations: [] });

    expect((await reportExtensions(a, [installed('flux', 1)])).type).toBe('ack');
    const got = await getExt(a, 'flux');
    expect(got.properties).toMatchObject({
      provisioningState: 'Succeeded',
      currentVersion: '1.14.1',
      errorInfo: null,
    });
    const op = await call('GET', opUrl);
    expect(op.body).toMatchObject({ status: 'Succeeded' });
    // Acknowledged: the hub no longer holds them.
    expect((await pull(a, 'extension-manager')).extensions[0]?.configurationProtectedSettings).toBeNull();

    const patched = await call('PATCH', extPath(a.ref, 'flux'), {
      properties: {
        configurationSettings: { extra: '1' },
        configurationProtectedSettings: { token: `${SECRET}-2` },
      },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.text).not.toContain(SECRET);
    expect(patched.body.properties).toMatchObject({
      provisioningState: 'Updating',
      configurationSettings: { 'multiTenancy.enforce': 'false', extra: '1' },
    });
    const list = await call('GET', extPath(a.ref));
    expect(list.status).toBe(200);
    expect(list.text).not.toContain(SECRET);
    expect(list.body.value.map((e: Json) => e.name)).toEqual(['flux']);
    await reportExtensions(a, [installed('flux', 2)]);
  });

  it('an operation the agents do not answer fails after 10 simulated minutes; a late status recovers it', async () => {
    const before = await fleet.metric('arcfleet_hub_configuration_operations_timed_out_total', {
      resource: 'extension',
    });
    // The cluster heartbeats all along: the silence is its extension agents'.
    const beating = setInterval(() => void heartbeat(nc, a.ref).catch(() => undefined), 100);
    const put = await call('PUT', extPath(a.ref, 'monitor'), {
      properties: { extensionType: 'microsoft.azuremonitor.containers' },
    });
    expect(put.status, put.text).toBe(201);
    const failed = await waitExt(
      a,
      'monitor',
      (e) => e.properties.provisioningState === 'Failed',
      'monitor Failed',
    ).finally(() => clearInterval(beating));
    expect(failed.properties.errorInfo).toEqual({ code: 'AgentResponseTimeout', message: TIMEOUT_MESSAGE });
    expect(failed.properties.statuses).toEqual([
      expect.objectContaining({ level: 'Error', message: TIMEOUT_MESSAGE }),
    ]);
    expect(
      await fleet.metric('arcfleet_hub_configuration_operations_timed_out_total', { resource: 'extension' }),
    ).toBe(before + 1);
    const op = await call('GET', put.headers.get('azure-asyncoperation') ?? '');
    expect(op.body).toMatchObject({ status: 'Failed', error: { code: 'AgentResponseTimeout' } });
    await reportExtensions(a, [installed('monitor', 1, { currentVersion: '3.1.24' })]);
    expect((await getExt(a, 'monitor')).properties).toMatchObject({
      provisioningState: 'Succeeded',
      currentVersion: '3.1.24',
    });
    const metrics = await fleet.arm.metrics();
    expect(metrics).toMatch(/arcfleet_hub_extensions\{provisioning_state="Succeeded"\} [1-9]/);
  });

  it('answers ARM errors with the field at fault in target', async () => {
    expectArmError(
      await call('GET', extPath(a.ref, 'flux'), undefined, null),
      400,
      'MissingApiVersionParameter',
    );
    expectArmError(
      await call('GET', extPath(a.ref, 'flux'), undefined, '2024-01-01'),
      400,
      'InvalidApiVersionParameter',
      'api-version',
    );
    expect((await call('GET', extPath(a.ref, 'flux'), undefined, '2024-11-01')).status).toBe(200);
    expectArmError(
      await call('PUT', extPath(a.ref, 'x1'), { properties: { extensionType: 'microsoft.nope' } }),
      400,
      'InvalidParameter',
      'properties.extensionType',
    );
    expectArmError(
      await call('PUT', extPath(a.ref, 'x1'), {
        properties: { extensionType: 'microsoft.flux', releaseTrain: 'Nightly' },
      }),
      400,
      'InvalidParameter',
      'properties.releaseTrain',
    );
    expectArmError(
      await call('PUT', extPath(a.ref, 'x1'), {
        properties: { extensionType: 'microsoft.flux', configurationSettings: { a: 1 } },
      }),
      400,
      'InvalidParameter',
      'properties.configurationSettings.a',
    );
    expectArmError(
      await call('PUT', extPath(a.ref, 'flux'), {
        properties: { extensionType: 'microsoft.contoso.sample' },
      }),
      400,
      'PropertyChangeNotAllowed',
      'properties.extensionType',
    );
    expectArmError(
      await call('PATCH', extPath(a.ref, 'flux'), { properties: { scope: { cluster: {} } } }),
      400,
      'PropertyChangeNotAllowed',
      'properties.scope',
    );
    expectArmError(
      await call('PUT', extPath(a.ref, 'Bad_Name'), { properties: { extensionType: 'microsoft.flux' } }),
      400,
      'InvalidResourceName',
      'name',
    );
    expectArmError(await call('GET', extPath(a.ref, 'missing')), 404, 'ResourceNotFound');
    const ghost = { ...a.ref, name: 'no-such-cluster' };
    expectArmError(
      await call('PUT', extPath(ghost, 'flux'), { properties: { extensionType: 'microsoft.flux' } }),
      404,
      'ResourceNotFound',
    );
    expectArmError(await call('GET', extPath(ghost)), 404, 'ResourceNotFound');
  });

  it('pages LIST with nextLink', async () => {
    expect(
      (
        await call('PUT', extPath(a.ref, 'sample'), {
          properties: { extensionType: 'microsoft.contoso.sample' },
        })
      ).status,
    ).toBe(201);
    const first = await call('GET', extPath(a.ref));
    expect(first.body.value).toHaveLength(2);
    expect(first.body.nextLink).toMatch(/\$skipToken=/);
    const second = await call('GET', first.body.nextLink);
    const names = [...first.body.value, ...second.body.value].map((e: Json) => e.name);
    expect(names).toEqual(['flux', 'monitor', 'sample']);
  });

  it('DELETE: 202 Deleting, writes refused with 409 Conflict, gone after the agent reports Uninstalled', async () => {
    const del = await call('DELETE', extPath(a.ref, 'monitor'));
    expect(del.status, del.text).toBe(202);
    expect(del.headers.get('azure-asyncoperation')).toMatch(/operations\/.+\.d\?/);
    expect((await getExt(a, 'monitor')).properties.provisioningState).toBe('Deleting');
    expectArmError(
      await call('PATCH', extPath(a.ref, 'monitor'), { properties: { configurationSettings: { a: 'b' } } }),
      409,
      'Conflict',
    );
    const desired = (await pull(a, 'extension-manager')).extensions.find((e) => e.name === 'monitor');
    expect(desired).toMatchObject({ deleting: true, generation: 2 });
    await reportExtensions(a, [installed('monitor', 2, { phase: 'Uninstalled' })]);
    expectArmError(await call('GET', extPath(a.ref, 'monitor')), 404, 'ResourceNotFound');
    expect((await call('GET', del.headers.get('azure-asyncoperation') ?? '')).body.status).toBe('Succeeded');
    expect((await call('DELETE', extPath(a.ref, 'monitor'))).status).toBe(204);
  });

  it('refuses a config-status of extensions from another agent, and counts it', async () => {
    const before = await fleet.metric('arcfleet_hub_rejected_messages_total', { reason: 'InvalidMessage' });
    const reply = await reportExtensions(a, [installed('flux', 2)], 'config-agent');
    expect(reply).toMatchObject({ type: 'error', code: 'InvalidMessage' });
    const gone = await request(
      nc,
      agentSubject({ ...a.ref, name: 'cfg-never-created' }, 'extension-manager', 'config-pull'),
      {
        v: PROTOCOL_VERSION,
        type: 'config-pull',
        agent: 'extension-manager',
        sentAt: new Date().toISOString(),
      },
    );
    expect(gone).toMatchObject({ type: 'error', code: 'IdentityRevoked' });
    expect(await fleet.metric('arcfleet_hub_rejected_messages_total', { reason: 'InvalidMessage' })).toBe(
      before + 1,
    );
  });
});

describe('protected settings hold (a hub at 20,000×)', () => {
  let main: { fleet: TestFleet; nc: NatsConnection; a: Cluster };

  beforeAll(async () => {
    main = { fleet, nc, a };
    fleet = await TestFleet.start({ clusters: 0, agents: false, connect: false, timeScale: HOLD_TIME_SCALE });
    nc = await connectWire(fleet);
    a = await newCluster();
  });

  afterAll(async () => {
    await nc?.close();
    await fleet?.stop();
    ({ fleet, nc, a } = main);
  });

  it('protected settings not fetched within 48 simulated hours are dropped: Failed with ProtectedSettingsExpired', async () => {
    const put = await call('PUT', extPath(a.ref, 'kv'), {
      properties: {
        extensionType: 'microsoft.azurekeyvaultsecretsprovider',
        configurationProtectedSettings: { key: SECRET },
      },
    });
    expect(put.status, put.text).toBe(201);
    const expired = await waitExt(
      a,
      'kv',
      (e) => e.properties.errorInfo?.code === 'ProtectedSettingsExpired',
      'kv ProtectedSettingsExpired',
      30_000,
    );
    expect(expired.properties.provisioningState).toBe('Failed');
    expect(expired.properties.errorInfo.message).toMatch(/48 hours/);
    const desired = (await pull(a, 'extension-manager')).extensions.find((e) => e.name === 'kv');
    expect(desired?.configurationProtectedSettings).toBeNull();
    expect(await fleet.metric('arcfleet_hub_protected_settings_expired_total')).toBe(1);
  }, 40_000);
});

describe('Flux configurations', () => {
  const body = {
    properties: {
      gitRepository: {
        url: 'https://github.com/Azure/gitops-flux2-kustomize-helm-mt',
        repositoryRef: { branch: 'main' },
      },
      kustomizations: {
        infra: { path: './infrastructure' },
        apps: { path: './apps/staging', dependsOn: ['infra'], prune: true },
      },
      configurationProtectedSettings: { httpsKey: SECRET },
    },
  };
  const status = (generation: number, over: Json = {}): Json => ({
    name: 'cluster-config',
    generation,
    deleted: false,
    complianceState: 'Compliant',
    statuses: [],
    errorMessage: null,
    sourceSyncedCommitId: 'main@sha1:0123abcd',
    sourceUpdatedAt: new Date(fleet.clock.now()).toISOString(),
    statusUpdatedAt: new Date(fleet.clock.now()).toISOString(),
    ...over,
  });

  it('Pending → Compliant → PATCH → Pending → Suspended; DELETE until deleted', async () => {
    const put = await call('PUT', fluxPath(a.ref, 'cluster-config'), body);
    expect(put.status, put.text).toBe(201);
    expect(put.text).not.toContain(SECRET);
    expect(put.body.properties).toMatchObject({
      scope: 'cluster',
      namespace: 'default',
      sourceKind: 'GitRepository',
      suspend: false,
      complianceState: 'Pending',
      provisioningState: 'Creating',
      configurationProtectedSettings: null,
      gitRepository: { syncIntervalInSeconds: 600, timeoutInSeconds: 600 },
      kustomizations: { apps: { path: './apps/staging', dependsOn: ['infra'], prune: true, force: false } },
    });
    const desired = await pull(a, 'config-agent');
    expect(desired.extensions).toEqual([]);
    expect(desired.fluxConfigurations).toEqual([
      expect.objectContaining({
        name: 'cluster-config',
        url: body.properties.gitRepository.url,
        repositoryRef: { branch: 'main' },
        generation: 1,
      }),
    ]);
    expect(JSON.stringify(desired)).not.toContain(SECRET);
    expect((await reportFlux(a, [status(1)])).type).toBe('ack');
    let got = await call('GET', fluxPath(a.ref, 'cluster-config'));
    expect(got.text).not.toContain(SECRET);
    expect((await call('GET', fluxPath(a.ref))).text).not.toContain(SECRET);
    expect(got.body.properties).toMatchObject({
      complianceState: 'Compliant',
      provisioningState: 'Succeeded',
      sourceSyncedCommitId: 'main@sha1:0123abcd',
    });
    const patched = await call('PATCH', fluxPath(a.ref, 'cluster-config'), { properties: { suspend: true } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.properties).toMatchObject({ complianceState: 'Pending', suspend: true });
    await reportFlux(a, [status(2)]);
    got = await call('GET', fluxPath(a.ref, 'cluster-config'));
    expect(got.body.properties.complianceState).toBe('Suspended');
    expect(await fleet.metric('arcfleet_hub_flux_configurations', { compliance_state: 'Suspended' })).toBe(1);
    expectArmError(
      await call('PATCH', fluxPath(a.ref, 'cluster-config'), { properties: { namespace: 'other' } }),
      400,
      'PropertyChangeNotAllowed',
      'properties.namespace',
    );
    expectArmError(
      await call('PUT', fluxPath(a.ref, 'bad'), {
        properties: { gitRepository: { url: 'ftp://x', repositoryRef: { branch: 'main' } } },
      }),
      400,
      'InvalidParameter',
      'properties.gitRepository.url',
    );
    expectArmError(
      await call('PUT', fluxPath(a.ref, 'bad'), {
        properties: { gitRepository: { url: 'https://x/y', repositoryRef: {} } },
      }),
      400,
      'InvalidParameter',
      'properties.gitRepository.repositoryRef',
    );
    expect((await call('DELETE', fluxPath(a.ref, 'cluster-config'))).status).toBe(202);
    expect((await call('GET', fluxPath(a.ref, 'cluster-config'))).body.properties.provisioningState).toBe(
      'Deleting',
    );
    await reportFlux(a, [status(3, { deleted: true })]);
    expectArmError(await call('GET', fluxPath(a.ref, 'cluster-config')), 404, 'ResourceNotFound');
  });
});

describe('Service Connector linkers', () => {
  const linker = {
    properties: {
      targetService: {
        type: 'AzureResource',
        id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/st1',
      },
      authInfo: { authType: 'workloadIdentity', clientId: '00000000-0000-0000-0000-000000000001' },
      scope: 'apps',
      clientType: 'python',
    },
  };

  it('needs the extension (409 ExtensionNotInstalled), refuses while it installs (409 Conflict), then Accepted → Succeeded', async () => {
    const c = await newCluster();
    const lp = (name: string) => linkerPath(c.ref, name);
    expectArmError(await call('PUT', lp('storage'), linker, LINKER_V), 409, 'ExtensionNotInstalled');
    expect(
      (
        await call('PUT', extPath(c.ref, 'sc-extension'), {
          properties: { extensionType: 'microsoft.servicelinker.kubernetes' },
        })
      ).status,
    ).toBe(201);
    expectArmError(await call('PUT', lp('storage'), linker, LINKER_V), 409, 'Conflict');
    await reportExtensions(c, [installed('sc-extension', 1, { currentVersion: '1.2.3' })]);
    expectArmError(
      await call(
        'PUT',
        lp('storage'),
        { properties: { ...linker.properties, authInfo: { authType: 'workloadIdentity' } } },
        LINKER_V,
      ),
      400,
      'InvalidParameter',
      'properties.authInfo.clientId',
    );
    expectArmError(
      await call('PUT', lp('storage'), linker, EXT_V),
      400,
      'InvalidApiVersionParameter',
      'api-version',
    );
    const put = await call('PUT', lp('storage'), linker, LINKER_V);
    expect(put.status, put.text).toBe(201);
    expect(put.body).toMatchObject({
      type: 'Microsoft.ServiceLinker/linkers',
      properties: { provisioningState: 'Accepted', scope: 'apps' },
    });
    let v = await call('POST', `${lp('storage')}/validateLinker`, undefined, LINKER_V);
    expect(v.body).toMatchObject({
      linkerName: 'storage',
      isConnectionAvailable: false,
      authType: 'workloadIdentity',
      targetId: linker.properties.targetService.id,
    });
    const desired = (await pull(c, 'extension-manager')).extensions.find((e) => e.name === 'sc-extension');
    expect(desired?.connections).toEqual([
      {
        name: 'storage',
        namespace: 'apps',
        authType: 'workloadIdentity',
        targetId: linker.properties.targetService.id,
        clientId: '00000000-0000-0000-0000-000000000001',
        generation: 1,
      },
    ]);
    await reportExtensions(c, [
      installed('sc-extension', 1, { currentVersion: '1.2.3', appliedConnections: ['storage'] }),
    ]);
    expect((await call('GET', lp('storage'), undefined, LINKER_V)).body.properties.provisioningState).toBe(
      'Succeeded',
    );
    v = await call('POST', `${lp('storage')}/validateLinker`, undefined, LINKER_V);
    expect(v.body.isConnectionAvailable).toBe(true);
    expect(v.body.validationDetail.every((d: Json) => d.result === 'success')).toBe(true);
    expect((await call('GET', linkerPath(c.ref), undefined, LINKER_V)).body.value).toHaveLength(1);
    // Uninstalling the extension makes the connection unusable.
    expect((await call('DELETE', extPath(c.ref, 'sc-extension'))).status).toBe(202);
    await reportExtensions(c, [installed('sc-extension', 2, { phase: 'Uninstalled' })]);
    v = await call('POST', `${lp('storage')}/validateLinker`, undefined, LINKER_V);
    expect(v.body.isConnectionAvailable).toBe(false);
    expect(v.body.validationDetail).toContainEqual(
      expect.objectContaining({ result: 'failure', description: expect.stringMatching(/not installed/) }),
    );
    expect((await call('DELETE', lp('storage'), undefined, LINKER_V)).status).toBe(200);
    expectArmError(await call('GET', lp('storage'), undefined, LINKER_V), 404, 'ResourceNotFound');
    c.sub.unsubscribe();
  });
});

describe('persistence and cascade', () => {
  it('keeps configuration resources (and held protected settings) across a hub restart', async () => {
    const c = await newCluster();
    expect(
      (
        await call('PUT', extPath(c.ref, 'sample'), {
          properties: {
            extensionType: 'microsoft.contoso.sample',
            configurationProtectedSettings: { p: SECRET },
          },
        })
      ).status,
    ).toBe(201);
    await reportExtensions(c, [installed('sample', 1, { currentVersion: '0.2.0' })]);
    expect(
      (
        await call('PATCH', extPath(c.ref, 'sample'), {
          properties: { configurationProtectedSettings: { p: `${SECRET}-new` } },
        })
      ).status,
    ).toBe(200);
    await fleet.hub.restart();
    await fleet.waitHubReady();
    const got = await getExt(c, 'sample');
    expect(got.properties).toMatchObject({
      currentVersion: '0.2.0',
      extensionType: 'microsoft.contoso.sample',
    });
    const desired = (await pull(c, 'extension-manager')).extensions.find((e) => e.name === 'sample');
    // Held unless the 48 h hold already passed during the restart (it cannot at this time scale).
    expect(desired).toMatchObject({ generation: 2, configurationProtectedSettings: { p: `${SECRET}-new` } });
    // The ack is sent once the change is in KV: a hub killed right after it keeps it.
    expect((await reportExtensions(c, [installed('sample', 2, { currentVersion: '0.2.0' })])).type).toBe(
      'ack',
    );
    await fleet.hub.restart({ crash: true });
    await fleet.waitHubReady();
    expect((await getExt(c, 'sample')).properties.provisioningState).toBe('Succeeded');
    expect((await pull(c, 'extension-manager')).extensions[0]?.configurationProtectedSettings).toBeNull();
    c.sub.unsubscribe();
  }, 60_000);

  it('deleting the connectedCluster removes its extensions, Flux configurations and linkers', async () => {
    const c = await newCluster();
    expect(
      (
        await call('PUT', extPath(c.ref, 'sc'), {
          properties: { extensionType: 'microsoft.servicelinker.kubernetes' },
        })
      ).status,
    ).toBe(201);
    await reportExtensions(c, [installed('sc', 1, { currentVersion: '1.2.3' })]);
    const linkerPut = await call(
      'PUT',
      linkerPath(c.ref, 'l1'),
      {
        properties: {
          targetService: {
            type: 'AzureResource',
            id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/v',
          },
          authInfo: { authType: 'secret', secretInfo: { secretType: 'rawValue', value: SECRET } },
        },
      },
      LINKER_V,
    );
    expect(linkerPut.status, linkerPut.text).toBe(201);
    // A secret in authInfo is not kept, so never returned.
    expect(linkerPut.text).not.toContain(SECRET);
    expect((await call('GET', linkerPath(c.ref), undefined, LINKER_V)).text).not.toContain(SECRET);
    expect(
      (
        await call('PUT', fluxPath(c.ref, 'f1'), {
          properties: {
            gitRepository: { url: 'ssh://git@github.com/org/repo', repositoryRef: { tag: 'v1' } },
          },
        })
      ).status,
    ).toBe(201);
    expect((await fleet.arm.deleteAndWait(c.ref)).final.status).toBe(204);
    expectArmError(await call('GET', extPath(c.ref)), 404, 'ResourceNotFound');
    // Connect again: nothing is left.
    const keys = generateAgentKeyPair();
    expect(
      (
        await fleet.arm.put(c.ref, {
          location: 'westeurope',
          properties: { agentPublicKeyCertificate: keys.publicKey },
        })
      ).status,
    ).toBe(201);
    expect((await call('GET', extPath(c.ref))).body.value).toEqual([]);
    expect((await call('GET', fluxPath(c.ref))).body.value).toEqual([]);
    expect((await call('GET', linkerPath(c.ref), undefined, LINKER_V)).body.value).toEqual([]);
    c.sub.unsubscribe();
  });
});
