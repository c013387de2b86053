/**
 * The official Azure SDK for JavaScript, unmodified, against a fleet (issue 15): `@azure/arm-hybridkubernetes`
 * (api-version 2021-10-01), `@azure/arm-kubernetesconfiguration` (2023-05-01), `@azure/arm-resources` and
 * `@azure/arm-authorization` (2022-04-01: custom roles and role assignments) with nothing but their
 * public options: the hub as `endpoint`, the fleet's CA as `tlsOptions.ca` (what NODE_EXTRA_CA_CERTS
 * does for a whole process), and a credential that returns `arcfleet token`'s token. No api-version
 * rewriting, no pipeline policy.
 *
 * Onboarding is what `az connectedk8s connect` does with these calls: the PUT through the SDK, then the
 * agents installed with the onboarding secret the PUT returned (here: the cluster store, which the
 * fleet's agent services watch), then the SDK's poller waits until the resource's operation succeeds.
 */
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/core-auth';
import { ConnectedKubernetesClient, type ConnectedCluster } from '@azure/arm-hybridkubernetes';
import { SourceControlConfigurationClient } from '@azure/arm-kubernetesconfiguration';
import { ResourceManagementClient } from '@azure/arm-resources';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resourceId, type ClusterState } from '../../contract/index.js';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import { BOOTSTRAP_TOKEN_HEADER } from '../../fleet/clients/hub-client.js';
import { BOOTSTRAP_HEADERS } from '../../contract/index.js';
import { SECRET_IDENTITY } from '../../agent-runtime/cluster-store.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { ENV } from '../../platform/settings.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

let dataDir: string;
let fleet: FleetHandle;
let credential: TokenCredential;
let tlsOptions: { ca: string };

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-sdk-'));
  fleet = await startFleet({
    dataDir,
    clusters: 3,
    timeScale: 60,
    // Nothing onboarded: the SDK does it. One resource per page, so the SDK follows nextLink.
    connect: false,
    env: { ...FAST_TIMINGS, [ENV.hubPageSize]: '1', [ENV.agentStatusInterval]: '200' },
  });
  // What an Azure credential does: a bearer token for the scope it is asked for, and when it expires.
  credential = {
    getToken: async () => ({ token: await fleet.token(), expiresOnTimestamp: Date.now() + 50 * 60_000 }),
  };
  tlsOptions = { ca: await readFile(fleet.caFile ?? '', 'utf8') };
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function clusterState(i: number): ClusterState {
  const c = fleet.clusters[i];
  if (!c) throw new Error(`no cluster ${i}`);
  return c;
}

function hybrid(): ConnectedKubernetesClient {
  return new ConnectedKubernetesClient(credential, fleet.subscriptionId, {
    endpoint: fleet.hubUrl,
    tlsOptions,
  });
}

/**
 * `az connectedk8s connect` through the SDK, in its order: PUT and wait for the operation to succeed
 * (no agent exists yet, so an operation that waited for them would never finish), then install the
 * agents with the PUT's secret and wait for Connected.
 */
async function connectWithSdk(c: ClusterState): Promise<ConnectedCluster> {
  const keys = generateAgentKeyPair();
  const headers: Record<string, string> = {};
  const poller = await hybrid().connectedClusterOperations.beginCreate(
    c.resourceGroup,
    c.name,
    {
      location: c.location,
      tags: c.tags,
      identity: { type: 'SystemAssigned' },
      agentPublicKeyCertificate: keys.publicKey,
      distribution: c.distribution,
      infrastructure: c.infrastructure,
    },
    {
      onResponse: (raw) => {
        if (raw.request.method !== 'PUT') return;
        for (const name of [BOOTSTRAP_TOKEN_HEADER, BOOTSTRAP_HEADERS.jwt]) {
          const v = raw.headers.get(name);
          if (v) headers[name] = v;
        }
      },
    },
  );
  const bootstrapToken = headers[BOOTSTRAP_TOKEN_HEADER];
  if (!bootstrapToken) throw new Error('the PUT returned no onboarding token');
  const provisioned = await poller.pollUntilDone();
  expect(provisioned).toMatchObject({ provisioningState: 'Succeeded', connectivityStatus: 'Connecting' });
  await fleet.store.deleteSecret(c.name, SECRET_IDENTITY);
  await fleet.store.writeOnboarding(c.name, {
    resourceId: resourceId(c),
    privateKeyPem: keys.privateKeyPem,
    publicKey: keys.publicKey,
    bootstrapToken,
    hubUrl: fleet.hubUrl,
    ...(headers[BOOTSTRAP_HEADERS.jwt] ? { bootstrapJwt: headers[BOOTSTRAP_HEADERS.jwt] } : {}),
  });
  return waitFor(() => hybrid().connectedClusterOperations.get(c.resourceGroup, c.name), {
    timeoutMs: 30_000,
    intervalMs: 100,
    until: (r) => r.connectivityStatus === 'Connected',
    message: `${c.name} Connected after its agents were installed`,
  });
}

describe('@azure/arm-hybridkubernetes 2.1.0', () => {
  it('creates (long-running), gets, lists page by page and updates connected clusters', async () => {
    const created = await connectWithSdk(clusterState(0));
    expect(created).toMatchObject({
      name: clusterState(0).name,
      type: 'Microsoft.Kubernetes/connectedClusters',
      provisioningState: 'Succeeded',
      identity: { type: 'SystemAssigned' },
    });
    await connectWithSdk(clusterState(1));
    const client = hybrid();
    const got = await client.connectedClusterOperations.get(
      clusterState(0).resourceGroup,
      clusterState(0).name,
    );
    expect(got.id).toBe(resourceId(clusterState(0)));
    expect(got.agentPublicKeyCertificate).toBe(created.agentPublicKeyCertificate);
    expect(got.systemData?.createdBy).toBe('owner@arcfleet.local');
    expect(got.systemData?.createdAt).toBeInstanceOf(Date);
    // One per page (ARCFLEET_HUB_PAGE_SIZE=1): the SDK's pager follows nextLink.
    const pages: number[] = [];
    for await (const page of client.connectedClusterOperations.listBySubscription().byPage())
      pages.push(page.length);
    expect(pages).toEqual([1, 1]);
    const inGroup: string[] = [];
    for await (const c of client.connectedClusterOperations.listByResourceGroup(
      clusterState(0).resourceGroup,
    ))
      inGroup.push(c.name ?? '');
    expect(inGroup.sort()).toEqual([clusterState(0).name, clusterState(1).name].sort());
    const updated = await client.connectedClusterOperations.update(
      clusterState(0).resourceGroup,
      clusterState(0).name,
      { tags: { team: 'sdk' } },
    );
    expect(updated.tags).toEqual({ team: 'sdk' });
  }, 90_000);

  it('lists the cluster user credential: a kubeconfig for the HTTPS cluster-connect endpoint', async () => {
    const c = clusterState(0);
    const result = await hybrid().connectedClusterOperations.listClusterUserCredential(
      c.resourceGroup,
      c.name,
      {
        authenticationMethod: 'Token',
        clientProxy: false,
      },
    );
    const value = result.kubeconfigs?.[0]?.value;
    expect(value).toBeInstanceOf(Uint8Array);
    const kubeconfig = parse(Buffer.from(value ?? new Uint8Array()).toString('utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { token: string } }[];
    };
    expect(kubeconfig.clusters[0]?.cluster.server).toMatch(/^https:\/\/.*\/arcfleet\/v1\/clusterconnect\//);
    expect(kubeconfig.clusters[0]?.cluster['certificate-authority-data']).toBeTruthy();
    expect(kubeconfig.users[0]?.user.token).toBeTruthy();
  });

  it('lists the provider operations', async () => {
    const names: string[] = [];
    for await (const op of hybrid().operations.list()) names.push(op.name ?? '');
    expect(names).toContain('Microsoft.Kubernetes/connectedClusters/read');
    expect(names).toContain('Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action');
  });

  it('deletes (long-running) and the resource is gone', async () => {
    const c = clusterState(1);
    const client = hybrid();
    const poller = await client.connectedClusterOperations.beginDelete(c.resourceGroup, c.name);
    expect((await client.connectedClusterOperations.get(c.resourceGroup, c.name)).provisioningState).toBe(
      'Deleting',
    );
    await poller.pollUntilDone();
    await expect(client.connectedClusterOperations.get(c.resourceGroup, c.name)).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  }, 60_000);
});

describe('@azure/arm-kubernetesconfiguration 6.1.0', () => {
  const config = (): SourceControlConfigurationClient =>
    new SourceControlConfigurationClient(credential, fleet.subscriptionId, {
      endpoint: fleet.hubUrl,
      tlsOptions,
    });
  const on = (c: ClusterState) =>
    [c.resourceGroup, 'Microsoft.Kubernetes', 'connectedClusters', c.name] as const;

  it('installs the Flux extension, then a Flux configuration; gets, lists and deletes both', async () => {
    const c = clusterState(0);
    const client = config();
    const ext = await client.extensions.beginCreateAndWait(...on(c), 'flux', {
      extensionType: 'microsoft.flux',
      autoUpgradeMinorVersion: true,
    });
    expect(ext).toMatchObject({
      name: 'flux',
      extensionType: 'microsoft.flux',
      provisioningState: 'Succeeded',
    });
    expect(ext.currentVersion).toMatch(/^\d+\.\d+\.\d+/);
    const fc = await client.fluxConfigurations.beginCreateOrUpdateAndWait(...on(c), 'cluster-config', {
      scope: 'cluster',
      namespace: 'cluster-config',
      sourceKind: 'GitRepository',
      gitRepository: { url: 'https://github.com/contoso/fleet-config', repositoryRef: { branch: 'main' } },
      kustomizations: { infra: { path: './infrastructure', prune: true } },
    });
    expect(fc).toMatchObject({ name: 'cluster-config', provisioningState: 'Succeeded', scope: 'cluster' });
    const got = await client.fluxConfigurations.get(...on(c), 'cluster-config');
    expect(got.gitRepository?.url).toBe('https://github.com/contoso/fleet-config');
    expect(got.kustomizations?.['infra']?.path).toBe('./infrastructure');
    const extensions: string[] = [];
    for await (const e of client.extensions.list(...on(c))) extensions.push(e.name ?? '');
    expect(extensions).toEqual(['flux']);
    const configs: string[] = [];
    for await (const f of client.fluxConfigurations.list(...on(c))) configs.push(f.name ?? '');
    expect(configs).toEqual(['cluster-config']);
    await client.fluxConfigurations.beginDeleteAndWait(...on(c), 'cluster-config');
    await client.extensions.beginDeleteAndWait(...on(c), 'flux');
    await expect(client.extensions.get(...on(c), 'flux')).rejects.toMatchObject({ statusCode: 404 });
  }, 120_000);

  it('creates a legacy Flux v1 source control configuration, reads its compliance, lists and deletes it', async () => {
    const c = clusterState(0);
    const client = config();
    const created = await client.sourceControlConfigurations.createOrUpdate(...on(c), 'legacy-config', {
      repositoryUrl: 'git@github.com:contoso/flux-get-started',
      operatorNamespace: 'legacy-config',
      operatorInstanceName: 'legacy-config',
      operatorType: 'Flux',
      operatorParams: '--git-readonly',
      operatorScope: 'namespace',
      enableHelmOperator: false,
    });
    expect(created).toMatchObject({
      name: 'legacy-config',
      type: 'Microsoft.KubernetesConfiguration/sourceControlConfigurations',
      provisioningState: 'Succeeded',
      complianceStatus: { complianceState: 'Pending' },
    });
    const compliant = await waitFor(() => client.sourceControlConfigurations.get(...on(c), 'legacy-config'), {
      until: (r) => r.complianceStatus?.complianceState === 'Compliant',
      timeoutMs: 30_000,
      message: 'legacy-config Compliant',
    });
    // The SDK deserializes lastConfigApplied as a Date.
    expect(compliant.complianceStatus?.lastConfigApplied).toBeInstanceOf(Date);
    expect(compliant.repositoryPublicKey).toMatch(/^ssh-ed25519 /);
    const names: string[] = [];
    for await (const s of client.sourceControlConfigurations.list(...on(c))) names.push(s.name ?? '');
    expect(names).toEqual(['legacy-config']);
    await client.sourceControlConfigurations.beginDeleteAndWait(...on(c), 'legacy-config');
    await waitFor(
      () =>
        client.sourceControlConfigurations.get(...on(c), 'legacy-config').then(
          () => 200,
          (err: { statusCode?: number }) => err.statusCode ?? 0,
        ),
      { until: (status) => status === 404, timeoutMs: 30_000, message: 'legacy-config gone' },
    );
  }, 60_000);

  it('lists the provider operations', async () => {
    const names: string[] = [];
    for await (const op of config().operations.list()) names.push(op.name ?? '');
    expect(names).toContain('Microsoft.KubernetesConfiguration/extensions/read');
  });
});

describe('@azure/arm-resources 6.1.0', () => {
  it('creates the group first, as `az group create` does; nothing exists under a missing group; deleting it deletes its clusters', async () => {
    const resources = new ResourceManagementClient(credential, fleet.subscriptionId, {
      endpoint: fleet.hubUrl,
      tlsOptions,
    });
    const group = 'sdk-created-rg';
    expect((await resources.resourceGroups.checkExistence(group)).body).toBe(false);
    await expect(hybrid().connectedClusterOperations.get(group, 'nobody')).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound',
    });
    const created = await resources.resourceGroups.createOrUpdate(group, {
      location: 'westeurope',
      tags: { team: 'sdk' },
    });
    expect(created).toMatchObject({
      name: group,
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westeurope',
      tags: { team: 'sdk' },
      properties: { provisioningState: 'Succeeded' },
    });
    expect((await resources.resourceGroups.checkExistence(group)).body).toBe(true);
    const names: string[] = [];
    for await (const g of resources.resourceGroups.list()) names.push(g.name ?? '');
    expect(names).toContain(group);

    const cluster = await hybrid().connectedClusterOperations.beginCreateAndWait(group, 'in-sdk-group', {
      location: 'westeurope',
      identity: { type: 'SystemAssigned' },
      agentPublicKeyCertificate: generateAgentKeyPair().publicKey,
    });
    expect(cluster.provisioningState).toBe('Succeeded');

    await resources.resourceGroups.beginDeleteAndWait(group);
    expect((await resources.resourceGroups.checkExistence(group)).body).toBe(false);
    await expect(hybrid().connectedClusterOperations.get(group, 'in-sdk-group')).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound',
    });
  }, 60_000);
});

describe('@azure/arm-authorization 9.0.0', () => {
  it('makes a custom role, finds it by name, assigns it at a cluster, and deletes both, as az role does', async () => {
    const client = new AuthorizationManagementClient(credential, fleet.subscriptionId, {
      endpoint: fleet.hubUrl,
      tlsOptions,
    });
    const subscription = `/subscriptions/${fleet.subscriptionId}`;
    const group = clusterState(0).resourceGroup;
    const cluster = await hybrid().connectedClusterOperations.beginCreateAndWait(group, 'rbac-sdk', {
      location: 'westeurope',
      identity: { type: 'SystemAssigned' },
      agentPublicKeyCertificate: generateAgentKeyPair().publicKey,
    });
    const id = randomUUID();
    const role = await client.roleDefinitions.createOrUpdate(subscription, id, {
      roleName: 'SDK Deployment Reader',
      description: 'Reads deployments',
      roleType: 'CustomRole',
      permissions: [{ dataActions: ['Microsoft.Kubernetes/connectedClusters/apps/deployments/read'] }],
      assignableScopes: [subscription],
    });
    expect(role).toMatchObject({ name: id, roleName: 'SDK Deployment Reader', roleType: 'CustomRole' });
    const found = [];
    for await (const r of client.roleDefinitions.list(subscription, {
      filter: "roleName eq 'SDK Deployment Reader'",
    }))
      found.push(r.name);
    expect(found).toEqual([id]);

    const name = randomUUID();
    const assignment = await client.roleAssignments.create(cluster.id ?? '', name, {
      roleDefinitionId: role.id ?? '',
      principalId: 'aaaaaaaa-5555-4555-8555-555555555555',
      principalType: 'User',
    });
    expect(assignment).toMatchObject({ name, scope: cluster.id, roleDefinitionId: role.id });
    await expect(client.roleDefinitions.delete(subscription, id)).rejects.toMatchObject({
      statusCode: 409,
      code: 'RoleDefinitionHasAssignments',
    });
    await client.roleAssignments.delete(cluster.id ?? '', name);
    expect((await client.roleDefinitions.delete(subscription, id)).name).toBe(id);
    await expect(client.roleDefinitions.get(subscription, id)).rejects.toMatchObject({
      statusCode: 404,
      code: 'RoleDefinitionDoesNotExist',
    });
  }, 60_000);
});
