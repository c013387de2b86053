/**
 * ARM API of the hub against a real nats-server: every status and error code, LRO polling, LIST
 * paging, PATCH limits, DELETE. No agent services: onboarding is driven over NATS by the test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from 'nats';
import {
  SUPPORTED_API_VERSIONS,
  apiVersionsOf,
  shapeOf,
  type ConnectedCluster,
  type ClusterRef,
} from '../../contract/index.js';
import { generateAgentKeyPair, type AgentKeyPair } from '../../platform/identity.js';
import type { ArmErrorBody, ArmResponse } from '../helpers/arm.js';
import { connectWire, heartbeat, register } from '../helpers/agent-wire.js';
import { TestFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

const PAGE_SIZE = 3;
let fleet: TestFleet;
let nc: NatsConnection;
let seq = 0;

function newRef(resourceGroup = 'api-rg'): ClusterRef {
  return { subscriptionId: fleet.subscriptionId, resourceGroup, name: `api-${process.pid}-${++seq}` };
}

function putBody(keys: AgentKeyPair, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    location: 'westeurope',
    tags: { env: 'test' },
    identity: { type: 'SystemAssigned' },
    properties: { agentPublicKeyCertificate: keys.publicKey, distribution: 'k3s', infrastructure: 'generic' },
    ...extra,
  };
}

function expectArmError(res: ArmResponse, status: number, code: string, target?: string): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code } } });
  const body = res.body as ArmErrorBody;
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  if (target !== undefined) expect(body.error.target).toBe(target);
}

function errorOf(res: ArmResponse): ArmErrorBody['error'] {
  return (res.body as ArmErrorBody).error;
}

async function create(ref: ClusterRef): Promise<{ keys: AgentKeyPair; res: ArmResponse<ConnectedCluster> }> {
  const keys = generateAgentKeyPair();
  const res = await fleet.arm.put(ref, putBody(keys));
  expect(res.status, res.text).toBe(201);
  return { keys, res };
}

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 0,
    agents: false,
    connect: false,
    env: { ARCFLEET_HUB_PAGE_SIZE: String(PAGE_SIZE) },
  });
  for (const rg of ['api-rg', 'api-delete-rg']) await fleet.arm.createGroup(fleet.subscriptionId, rg);
  nc = await connectWire(fleet);
});

afterAll(async () => {
  await nc?.close();
  await fleet?.stop();
});

describe('PUT (create or replace) and LRO', () => {
  it('creates with 201, Azure-AsyncOperation, Retry-After, a bootstrap token and the ARM resource shape', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    const res = await fleet.arm.put(ref, putBody(keys));
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get('azure-asyncoperation')).toMatch(
      /^https:\/\/127\.0\.0\.1:\d+\/.*operationStatuses\/.+api-version=/,
    );
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(res.headers.get('x-arcfleet-bootstrap-token')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    const r = res.body;
    expect(r.id).toBe(
      `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Kubernetes/connectedClusters/${ref.name}`,
    );
    expect(r).toMatchObject({
      name: ref.name,
      type: 'Microsoft.Kubernetes/connectedClusters',
      location: 'westeurope',
      tags: { env: 'test' },
      identity: { type: 'SystemAssigned' },
      properties: {
        agentPublicKeyCertificate: keys.publicKey,
        provisioningState: 'Accepted',
        connectivityStatus: 'Connecting',
        distribution: 'k3s',
        infrastructure: 'generic',
      },
    });
    for (const k of [
      'createdBy',
      'createdByType',
      'createdAt',
      'lastModifiedBy',
      'lastModifiedByType',
      'lastModifiedAt',
    ])
      expect(r.systemData).toHaveProperty(k);
    // ARM keeps read-only properties in the body even before the agents report them.
    for (const k of [
      'kubernetesVersion',
      'totalNodeCount',
      'totalCoreCount',
      'agentVersion',
      'lastConnectivityTime',
    ])
      expect(r.properties).toHaveProperty(k);

    // Replace: same resource, 200.
    const again = await fleet.arm.put(ref, putBody(keys, { tags: { env: 'prod' } }));
    expect(again.status, again.text).toBe(200);
    expect(again.body.tags).toEqual({ env: 'prod' });
    expect(again.headers.get('azure-asyncoperation')).toBeTruthy();
    const got = await fleet.arm.get(ref);
    expect(got.status).toBe(200);
    expect(got.body.tags).toEqual({ env: 'prod' });
  });

  it('polls the operation status InProgress → Succeeded with no agent at all; the agents come after', async () => {
    const ref = newRef();
    const { keys, res } = await create(ref);
    const opUrl = res.headers.get('azure-asyncoperation');
    const token = res.headers.get('x-arcfleet-bootstrap-token');
    if (!opUrl || !token) throw new Error('PUT lacked Azure-AsyncOperation or bootstrap token');

    const op1 = await fleet.arm.request<{ status: string; resourceId: string; name: string }>('GET', opUrl);
    expect(op1.status, op1.text).toBe(200);
    expect(['InProgress', 'Succeeded']).toContain(op1.body.status);
    expect(op1.body.resourceId).toBe(res.body.id);

    // Poll like an ARM client (az connectedk8s connect) before any agent exists.
    const done = await waitFor(() => fleet.arm.request<{ status: string; endTime?: string }>('GET', opUrl), {
      timeoutMs: 10_000,
      intervalMs: 100,
      until: (r) => r.body.status !== 'InProgress',
      message: 'LRO terminal status',
    });
    expect(done.body.status).toBe('Succeeded');
    expect(done.body.endTime).toBeTruthy();
    expect(done.headers.get('retry-after')).toBeNull();
    const provisioned = await fleet.arm.cluster(ref);
    expect(provisioned.properties.provisioningState).toBe('Succeeded');
    expect(provisioned.properties.connectivityStatus).toBe('Connecting');

    const identity = await register(nc, ref, keys, token);
    expect(identity.type, JSON.stringify(identity)).toBe('identity');
    expect((await fleet.arm.cluster(ref)).properties.managedIdentityCertificateExpirationTime).toBe(
      identity.notAfter,
    );
    const ack = await heartbeat(nc, ref);
    expect(ack.type, JSON.stringify(ack)).toBe('ack');
    const r = await fleet.arm.cluster(ref);
    expect(r.properties.provisioningState).toBe('Succeeded');
    expect(r.properties.connectivityStatus).toBe('Connected');
    expect(r.properties.lastConnectivityTime).toBeTruthy();

    // Once onboarded, replacing the agent key is a conflict (delete + connect instead).
    const conflict = await fleet.arm.put(ref, putBody(generateAgentKeyPair()));
    expectArmError(conflict, 409, 'Conflict', 'properties.agentPublicKeyCertificate');
  });

  it('refuses moving an existing resource to another location with 409', async () => {
    const ref = newRef();
    const { keys } = await create(ref);
    const res = await fleet.arm.put(ref, putBody(keys, { location: 'eastus' }));
    expect(res.status).toBe(409);
    expectArmError(res, 409, errorOf(res).code, 'location');
  });

  it('answers 404 ResourceNotFound for an unknown operation id', async () => {
    const res = await fleet.arm.request(
      'GET',
      `/subscriptions/${fleet.subscriptionId}/providers/Microsoft.Kubernetes/locations/westeurope/operationStatuses/00000000-0000-0000-0000-000000000000`,
    );
    expectArmError(res, 404, 'ResourceNotFound');
  });
});

describe('request validation', () => {
  it('requires api-version on every operation (400 MissingApiVersionParameter)', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    const noVersion = { apiVersion: null } as const;
    expectArmError(await fleet.arm.put(ref, putBody(keys), noVersion), 400, 'MissingApiVersionParameter');
    expectArmError(await fleet.arm.get(ref, noVersion), 400, 'MissingApiVersionParameter');
    expectArmError(await fleet.arm.patch(ref, { tags: {} }, noVersion), 400, 'MissingApiVersionParameter');
    expectArmError(await fleet.arm.delete(ref, noVersion), 400, 'MissingApiVersionParameter');
    expectArmError(
      await fleet.arm.listPage(fleet.arm.groupPath(ref.subscriptionId, ref.resourceGroup), noVersion),
      400,
      'MissingApiVersionParameter',
    );
    expectArmError(
      await fleet.arm.listPage(fleet.arm.subscriptionPath(ref.subscriptionId), noVersion),
      400,
      'MissingApiVersionParameter',
    );
  });

  it('rejects an unsupported api-version (400 InvalidApiVersionParameter) and accepts every stable one', async () => {
    const ref = newRef();
    expectArmError(await fleet.arm.get(ref, { apiVersion: '2019-01-01' }), 400, 'InvalidApiVersionParameter');
    expectArmError(
      await fleet.arm.put(ref, putBody(generateAgentKeyPair()), { apiVersion: 'latest' }),
      400,
      'InvalidApiVersionParameter',
    );
    await create(ref);
    for (const apiVersion of SUPPORTED_API_VERSIONS) {
      const res = await fleet.arm.get(ref, { apiVersion });
      expect(res.status, `${apiVersion}: ${res.text}`).toBe(200);
    }
  });

  it('names the offending field of a bad PUT body in target (400)', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    const noLocation = putBody(keys);
    delete noLocation.location;
    expectArmError(await fleet.arm.put(ref, noLocation), 400, 'InvalidParameter', 'location');
    expectArmError(
      await fleet.arm.put(ref, { location: 'westeurope', properties: {} }),
      400,
      'InvalidParameter',
      'properties.agentPublicKeyCertificate',
    );
    expectArmError(
      await fleet.arm.put(ref, putBody({ ...keys, publicKey: 'bm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0' })),
      400,
      'InvalidParameter',
      'properties.agentPublicKeyCertificate',
    );
    const badHybrid = putBody(keys);
    badHybrid.properties = { agentPublicKeyCertificate: keys.publicKey, azureHybridBenefit: 'Maybe' };
    expectArmError(
      await fleet.arm.put(ref, badHybrid),
      400,
      'InvalidParameter',
      'properties.azureHybridBenefit',
    );
    const badTags = putBody(keys, { tags: { ok: 'yes', n: 5 } });
    expectArmError(await fleet.arm.put(ref, badTags), 400, 'InvalidParameter', 'tags.n');
    // Nothing was created by the failed attempts.
    expectArmError(await fleet.arm.get(ref), 404, 'ResourceNotFound');
  });

  it('rejects bodies that are not a JSON object and invalid resource names (400)', async () => {
    const ref = newRef();
    expectArmError(
      await fleet.arm.put(ref, undefined, { rawBody: '{"location": ' }),
      400,
      'InvalidRequestContent',
    );
    expectArmError(await fleet.arm.put(ref, [1, 2]), 400, 'InvalidRequestContent');
    expectArmError(
      await fleet.arm.put({ ...ref, name: '-bad.name!' }, putBody(generateAgentKeyPair())),
      400,
      'InvalidResourceName',
      'name',
    );
    expectArmError(await fleet.arm.get({ ...ref, name: 'x'.repeat(64) }), 400, 'InvalidResourceName', 'name');
  });

  it('refuses a body that is not JSON with 415 UnsupportedMediaType', async () => {
    const ref = newRef();
    const res = await fleet.arm.put(ref, undefined, {
      rawBody: '<connectedCluster location="westeurope"/>',
      contentType: 'application/xml',
    });
    expectArmError(res, 415, 'UnsupportedMediaType');
    const text = await fleet.arm.put(ref, undefined, {
      rawBody: '{"location":"eastus"}',
      contentType: 'text/plain',
    });
    expectArmError(text, 415, 'UnsupportedMediaType');
  });

  it('enforces the 800 connectedClusters per resource group quota with 409 QuotaExceeded', async () => {
    const subscriptionId = '11111111-2222-3333-4444-555555555555';
    const resourceGroup = `quota-${process.pid}`;
    const keys = generateAgentKeyPair();
    const names = Array.from({ length: 800 }, (_, i) => `q-${i}`);
    await fleet.arm.createGroup(subscriptionId, resourceGroup);
    await fleet.arm.createGroup(subscriptionId, `${resourceGroup}-b`);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        const name = names[next++] as string;
        const res = await fleet.arm.put({ subscriptionId, resourceGroup, name }, putBody(keys));
        expect(res.status, res.text).toBe(201);
      }
    };
    await Promise.all(Array.from({ length: 16 }, () => worker()));
    const over = await fleet.arm.put({ subscriptionId, resourceGroup, name: 'q-800' }, putBody(keys));
    expectArmError(over, 409, 'QuotaExceeded');
    // Replacing an existing one is not a new resource: still allowed.
    expect((await fleet.arm.put({ subscriptionId, resourceGroup, name: 'q-0' }, putBody(keys))).status).toBe(
      200,
    );
    // Another resource group of the same subscription is not affected.
    const other = await fleet.arm.put(
      { subscriptionId, resourceGroup: `${resourceGroup}-b`, name: 'q-800' },
      putBody(keys),
    );
    expect(other.status, other.text).toBe(201);
  });

  it('answers 404 ResourceNotFound for an unknown cluster on GET and PATCH, 204 for DELETE', async () => {
    const ref = newRef();
    const get = await fleet.arm.get(ref);
    expectArmError(get, 404, 'ResourceNotFound');
    expect(errorOf(get).message).toContain(ref.name);
    expectArmError(await fleet.arm.patch(ref, { tags: { a: 'b' } }), 404, 'ResourceNotFound');
    const del = await fleet.arm.delete(ref);
    expect(del.status).toBe(204);
  });

  it('answers a URL the router refuses (a 1,200-character segment) with an ARM error, not fastify’s body', async () => {
    const res = await fleet.arm.request(
      'GET',
      `/subscriptions/${fleet.subscriptionId}/providers/Microsoft.Kubernetes/locations/westeurope/operationStatuses/${'x'.repeat(1200)}`,
    );
    expectArmError(res, 414, 'InvalidParameter');
  });

  it('refuses a location connectedClusters are not offered in, storing nothing (400 LocationNotAvailableForResourceType)', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    for (const location of ['☃', 'mars', 'westeurope2']) {
      const res = await fleet.arm.put(ref, putBody(keys, { location }));
      expectArmError(res, 400, 'LocationNotAvailableForResourceType', 'location');
      expect(errorOf(res).message).toContain(
        `The provided location '${location}' is not available for resource type 'Microsoft.Kubernetes/connectedClusters'. List of available regions for the resource type is '`,
      );
    }
    expectArmError(await fleet.arm.get(ref), 404, 'ResourceNotFound');
    // ARM's display name of a region is its name.
    const displayName = await fleet.arm.put(ref, putBody(keys, { location: 'West Europe' }));
    expect(displayName.status, displayName.text).toBe(201);
    expect(displayName.body.location).toBe('westeurope');
  });

  it('refuses a subscription that is not a GUID and a resource group name ARM does not allow, on every path', async () => {
    const body = putBody(generateAgentKeyPair());
    const clusters = (sub: string, rg: string) =>
      `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Kubernetes/connectedClusters`;
    for (const sub of ['*', 'sub-1', '00000000-0000-0000-0000-00000000000g']) {
      const res = await fleet.arm.request('PUT', `${clusters(sub, 'api-rg')}/c?api-version=2024-01-01`, {
        body,
      });
      expectArmError(res, 400, 'InvalidSubscriptionId');
      expect(errorOf(res).message).toBe(
        `The provided subscription identifier '${sub}' is malformed or invalid.`,
      );
      expectArmError(
        await fleet.arm.request('GET', `/subscriptions/${sub}/resourcegroups?api-version=2021-04-01`),
        400,
        'InvalidSubscriptionId',
      );
    }
    const bad = await fleet.arm.request(
      'GET',
      `${clusters(fleet.subscriptionId, encodeURIComponent('rg.*>'))}?api-version=2024-01-01`,
    );
    expectArmError(bad, 400, 'InvalidResourceGroup');
    expect(errorOf(bad).message).toBe(
      "The provided resource group name 'rg.*>' has these invalid characters: '*>'. The name can be only a letter, digit, '-', '.', '(', ')' or '_'.",
    );
    expectArmError(
      await fleet.arm.request(
        'GET',
        `${clusters(fleet.subscriptionId, 'r'.repeat(91))}?api-version=2024-01-01`,
      ),
      400,
      'InvalidResourceGroup',
    );
  });

  it('refuses a body over 1 MiB with 413 RequestEntityTooLarge, in ARM’s shape', async () => {
    const ref = newRef();
    const res = await fleet.arm.put(ref, undefined, {
      rawBody: JSON.stringify({
        ...putBody(generateAgentKeyPair()),
        tags: { big: 'x'.repeat(2 * 1024 * 1024) },
      }),
    });
    expectArmError(res, 413, 'RequestEntityTooLarge');
    expect(errorOf(res).message).toContain('1048576 bytes');
  });

  it('refuses a PUT or PATCH whose properties the record could not hold (413), leaving the resource as it was', async () => {
    const ref = newRef();
    const { keys } = await create(ref);
    const big = { blob: 'x'.repeat(600 * 1024) };
    const patch = await fleet.arm.patch(ref, { properties: { gateway: big } });
    expectArmError(patch, 413, 'RequestEntityTooLarge');
    expect(errorOf(patch).message).toMatch(
      /would take \d+ bytes, more than the 524288 bytes one resource can hold/,
    );
    const put = await fleet.arm.put(
      ref,
      putBody(keys, { properties: { agentPublicKeyCertificate: keys.publicKey, arcAgentProfile: big } }),
    );
    expectArmError(put, 413, 'RequestEntityTooLarge');
    const after = await fleet.arm.get(ref);
    expect(after.status).toBe(200);
    expect(JSON.stringify(after.body)).not.toContain('xxxxxxxxxx');
    expect(after.body.tags).toEqual({ env: 'test' });
  });

  it('answers a request Node cannot parse, or a URL the router refuses, in ARM’s shape', async () => {
    const long = await fleet.arm.request(
      'GET',
      `/subscriptions/${fleet.subscriptionId}/${'a'.repeat(20_000)}`,
    );
    expectArmError(long, 431, 'InvalidParameter');
    const malformed = await fleet.arm.request(
      'GET',
      `/subscriptions/${fleet.subscriptionId}/providers/Microsoft.Kubernetes/locations/westeurope/operationStatuses/%zz?api-version=2024-01-01`,
    );
    expectArmError(malformed, 400, 'InvalidParameter');
  });

  it('answers unknown routes with an ARM-shaped 404', async () => {
    const res = await fleet.arm.request(
      'GET',
      `/subscriptions/${fleet.subscriptionId}/providers/Microsoft.Kubernetes/nothingHere`,
    );
    expect(res.status).toBe(404);
    expect(errorOf(res).code).toBeTruthy();
  });
});

describe('api-versions (every published one, each in its own shape)', () => {
  const versions = apiVersionsOf('Microsoft.Kubernetes', 'connectedClusters');
  const newest = versions[0]!;
  it('names the supported versions, newest first, when the version is unknown', async () => {
    const res = await fleet.arm.get(newRef(), { apiVersion: '2019-01-01' });
    expectArmError(res, 400, 'InvalidApiVersionParameter', 'api-version');
    expect(errorOf(res).message).toContain(`'${versions.join(',')}'`);
  });

  it('reads back with any version what was written with another, in the reading version’s shape', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    // Written with the version the official JavaScript SDK sends (2021-10-01)…
    const put = await fleet.arm.put(ref, putBody(keys), { apiVersion: '2021-10-01' });
    expect(put.status, put.text).toBe(201);
    for (const apiVersion of versions) {
      const res = await fleet.arm.get(ref, { apiVersion });
      expect(res.status, `${apiVersion}: ${res.text}`).toBe(200);
      const shape = shapeOf('Microsoft.Kubernetes', 'connectedClusters', apiVersion)!;
      expect(res.body.properties.agentPublicKeyCertificate).toBe(keys.publicKey);
      for (const p of Object.keys(res.body.properties))
        expect(shape.defines(p), `${apiVersion} returned properties.${p}, which it does not define`).toBe(
          true,
        );
      for (const f of Object.keys(res.body))
        expect(shape.shape.resource, `${apiVersion} returned ${f}`).toContain(f);
    }
    // A property the newest version returns and an older one does not define is not in the older's answer.
    const latest = await fleet.arm.get(ref, { apiVersion: newest });
    const returned = Object.keys(latest.body.properties);
    const older = versions.find((v) =>
      returned.some((p) => !shapeOf('Microsoft.Kubernetes', 'connectedClusters', v)!.defines(p)),
    )!;
    const property = returned.find(
      (p) => !shapeOf('Microsoft.Kubernetes', 'connectedClusters', older)!.defines(p),
    )!;
    const old = await fleet.arm.get(ref, { apiVersion: older });
    expect(old.body.properties).not.toHaveProperty(property);
    // …and the LIST of each version pages in that version (nextLink keeps it).
    const page = await fleet.arm.listPage(fleet.arm.groupPath(ref.subscriptionId, ref.resourceGroup), {
      apiVersion: older,
    });
    expect(page.status).toBe(200);
    for (const c of page.body.value) expect(c.properties).not.toHaveProperty(property);
  });

  it('serves both providers’ operations lists in ARM’s shape', async () => {
    for (const provider of ['Microsoft.Kubernetes', 'Microsoft.KubernetesConfiguration'] as const) {
      const noVersion = await fleet.arm.request('GET', `/providers/${provider}/operations`, {
        apiVersion: null,
      });
      expectArmError(noVersion, 400, 'MissingApiVersionParameter');
      const apiVersion = provider === 'Microsoft.Kubernetes' ? '2021-10-01' : '2023-05-01';
      const res = await fleet.arm.request<{
        value: Array<{ name: string; display?: { provider?: string } }>;
      }>('GET', `/providers/${provider}/operations`, { apiVersion });
      expect(res.status, res.text).toBe(200);
      expect(res.body.value.length).toBeGreaterThan(0);
      for (const op of res.body.value) expect(op.name.startsWith(`${provider}/`), op.name).toBe(true);
    }
  });
});

describe('PATCH', () => {
  it('changes tags, distribution, distributionVersion, azureHybridBenefit and gateway', async () => {
    const ref = newRef();
    await create(ref);
    const res = await fleet.arm.patch(ref, {
      tags: { team: 'edge' },
      properties: {
        distribution: 'rke2',
        distributionVersion: 'v1.30.4+rke2r1',
        azureHybridBenefit: 'True',
        gateway: { enabled: false },
      },
    });
    expect(res.status, res.text).toBe(200);
    const got = await fleet.arm.cluster(ref);
    expect(got.tags).toEqual({ team: 'edge' });
    expect(got.properties).toMatchObject({
      distribution: 'rke2',
      distributionVersion: 'v1.30.4+rke2r1',
      azureHybridBenefit: 'True',
      gateway: { enabled: false },
    });
    // Untouched fields stay.
    expect(got.location).toBe('westeurope');
    expect(got.properties.infrastructure).toBe('generic');
  });

  it('refuses every other field with 400 naming it', async () => {
    const ref = newRef();
    await create(ref);
    // Once the PUT's operation is over, nothing but a PATCH could change the resource.
    const before = await waitFor(() => fleet.arm.cluster(ref), {
      until: (c) => c.properties.provisioningState === 'Succeeded',
      message: `${ref.name} Succeeded`,
    });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ location: 'eastus' }, 'location'],
      [{ identity: { type: 'None' } }, 'identity'],
      [{ properties: { kubernetesVersion: '1.99.0' } }, 'properties.kubernetesVersion'],
      [
        { properties: { agentPublicKeyCertificate: generateAgentKeyPair().publicKey } },
        'properties.agentPublicKeyCertificate',
      ],
      [{ properties: { infrastructure: 'aws' } }, 'properties.infrastructure'],
      [{ properties: { connectivityStatus: 'Connected' } }, 'properties.connectivityStatus'],
      [{ properties: { privateLinkState: 'Enabled' } }, 'properties.privateLinkState'],
    ];
    for (const [body, target] of cases) {
      const res = await fleet.arm.patch(ref, body);
      expect(res.status, `${JSON.stringify(body)} → ${res.text}`).toBe(400);
      expectArmError(res, 400, errorOf(res).code, target);
    }
    expectArmError(
      await fleet.arm.patch(ref, { properties: { azureHybridBenefit: 'Sometimes' } }),
      400,
      'InvalidParameter',
      'properties.azureHybridBenefit',
    );
    const after = await fleet.arm.cluster(ref);
    expect(after.location).toBe(before.location);
    expect(after.properties).toEqual(before.properties);
  });
});

describe('DELETE', () => {
  it('deletes (202, then gone), then GET answers 404 and LIST no longer has it; a second DELETE is 204', async () => {
    const ref = newRef('api-delete-rg');
    await create(ref);
    const del = await fleet.arm.deleteAndWait(ref);
    expect([del.first.status, del.final.status]).toEqual([202, 204]);
    expectArmError(await fleet.arm.get(ref), 404, 'ResourceNotFound');
    const list = await fleet.arm.listAll(fleet.arm.groupPath(ref.subscriptionId, ref.resourceGroup));
    expect(list.value.map((c) => c.name)).not.toContain(ref.name);
    expect((await fleet.arm.delete(ref)).status).toBe(204);
  });

  it("revokes the identity: messages on the deleted cluster's subjects are refused", async () => {
    const ref = newRef();
    const { keys, res } = await create(ref);
    const identity = await register(nc, ref, keys, res.headers.get('x-arcfleet-bootstrap-token') ?? '');
    expect(identity.type).toBe('identity');
    expect((await heartbeat(nc, ref)).type).toBe('ack');
    expect((await fleet.arm.deleteAndWait(ref)).final.status).toBe(204);
    const refused = await heartbeat(nc, ref);
    expect(refused).toMatchObject({ type: 'error', code: 'IdentityRevoked' });
  });
});

describe('resource groups (Microsoft.Resources)', () => {
  const groupUrl = (name: string) => `/subscriptions/${fleet.subscriptionId}/resourcegroups/${name}`;
  const API = { apiVersion: '2021-04-01' } as const;

  it('PUT 201 then 200, GET, HEAD, LIST, PATCH tags; a move is refused, location is required', async () => {
    const name = `rg-${process.pid}`;
    const created = await fleet.arm.request('PUT', groupUrl(name), {
      ...API,
      body: { location: 'westeurope' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: `/subscriptions/${fleet.subscriptionId}/resourceGroups/${name}`,
      name,
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westeurope',
      tags: {},
      properties: { provisioningState: 'Succeeded' },
    });
    const again = await fleet.arm.request('PUT', groupUrl(name), {
      ...API,
      body: { location: 'westeurope', tags: { team: 'a' } },
    });
    expect(again.status).toBe(200);
    expect((await fleet.arm.request('GET', groupUrl(name.toUpperCase()), API)).body).toMatchObject({
      name,
      tags: { team: 'a' },
    });
    expect((await fleet.arm.request('HEAD', groupUrl(name), API)).status).toBe(204);
    expect((await fleet.arm.request('HEAD', groupUrl(`${name}-none`), API)).status).toBe(404);
    const patched = await fleet.arm.request('PATCH', groupUrl(name), {
      ...API,
      body: { tags: { team: 'b' } },
    });
    expect(patched.body).toMatchObject({ tags: { team: 'b' } });
    const list = await fleet.arm.request<{ value: { name: string }[] }>(
      'GET',
      `/subscriptions/${fleet.subscriptionId}/resourcegroups`,
      API,
    );
    expect(list.body.value.map((g) => g.name)).toContain(name);
    expectArmError(
      await fleet.arm.request('PUT', groupUrl(name), { ...API, body: { location: 'eastus' } }),
      409,
      'InvalidResourceLocation',
    );
    expectArmError(
      await fleet.arm.request('PUT', groupUrl(`${name}-x`), { ...API, body: {} }),
      400,
      'LocationRequired',
    );
    expectArmError(
      await fleet.arm.request('GET', groupUrl(`${name}-none`), API),
      404,
      'ResourceGroupNotFound',
    );
    expectArmError(
      await fleet.arm.request('PUT', groupUrl('bad.'), { ...API, body: { location: 'eastus' } }),
      400,
      'InvalidResourceGroup',
    );
    const mars = await fleet.arm.request('PUT', groupUrl(`${name}-mars`), {
      ...API,
      body: { location: 'mars' },
    });
    expectArmError(mars, 400, 'LocationNotAvailableForResourceGroup', 'location');
    expect(errorOf(mars).message).toMatch(
      /^The provided location 'mars' is not available for resource group\. List of available regions is '.*westeurope.*'\.$/,
    );
    expectArmError(
      await fleet.arm.request('GET', groupUrl(`${name}-mars`), API),
      404,
      'ResourceGroupNotFound',
    );
    const display = await fleet.arm.request('PUT', groupUrl(`${name}-display`), {
      ...API,
      body: { location: 'West US 2' },
    });
    expect(display.body).toMatchObject({ location: 'westus2' });
  });

  it('answers 404 ResourceGroupNotFound below a group that does not exist, for every operation', async () => {
    const ref = newRef(`missing-${process.pid}`);
    const expectMissing = (res: ArmResponse) => {
      expectArmError(res, 404, 'ResourceGroupNotFound');
      expect(errorOf(res).message).toBe(`Resource group '${ref.resourceGroup}' could not be found.`);
    };
    expectMissing(await fleet.arm.put(ref, putBody(generateAgentKeyPair())));
    expectMissing(await fleet.arm.get(ref));
    expectMissing(await fleet.arm.patch(ref, { tags: {} }));
    expectMissing(await fleet.arm.delete(ref));
    expectMissing(await fleet.arm.listPage(fleet.arm.groupPath(ref.subscriptionId, ref.resourceGroup)));
    expectMissing(
      await fleet.arm.request(
        'GET',
        `${fleet.arm.clusterPath(ref)}/providers/Microsoft.KubernetesConfiguration/extensions`,
        { apiVersion: '2023-05-01' },
      ),
    );
  });

  it('DELETE of a group: 202 with Location, its clusters Deleting, then all gone', async () => {
    const group = `doomed-${process.pid}`;
    await fleet.arm.createGroup(fleet.subscriptionId, group);
    const refs = [newRef(group), newRef(group)];
    for (const ref of refs) await create(ref);
    const del = await fleet.arm.request('DELETE', groupUrl(group), API);
    expect(del.status).toBe(202);
    const location = del.headers.get('location') ?? '';
    expect(location).toMatch(/\/operationresults\//);
    expect((await fleet.arm.cluster(refs[0]!)).properties.provisioningState).toBe('Deleting');
    const done = await waitFor(() => fleet.arm.request('GET', location), {
      timeoutMs: 15_000,
      until: (r) => r.status !== 202,
      message: 'the group DELETE finished',
    });
    expect(done.status).toBe(200);
    expectArmError(await fleet.arm.request('GET', groupUrl(group), API), 404, 'ResourceGroupNotFound');
    expectArmError(await fleet.arm.get(refs[1]!), 404, 'ResourceGroupNotFound');
    expect((await fleet.arm.request('DELETE', groupUrl(group), API)).status).toBe(204);
  });
});

describe('LIST', () => {
  it('pages by resource group and by subscription with nextLink', async () => {
    const rgA = `page-a-${process.pid}`;
    const rgB = `page-b-${process.pid}`;
    await fleet.arm.createGroup(fleet.subscriptionId, rgA);
    await fleet.arm.createGroup(fleet.subscriptionId, rgB);
    const inA: string[] = [];
    for (let i = 0; i < 2 * PAGE_SIZE + 1; i++) {
      const ref = newRef(rgA);
      await create(ref);
      inA.push(ref.name);
    }
    const refB = newRef(rgB);
    await create(refB);

    const first = await fleet.arm.listPage(fleet.arm.groupPath(fleet.subscriptionId, rgA));
    expect(first.status).toBe(200);
    expect(first.body.value).toHaveLength(PAGE_SIZE);
    expect(first.body.nextLink).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/subscriptions\/.*api-version=/);

    const byGroup = await fleet.arm.listAll(fleet.arm.groupPath(fleet.subscriptionId, rgA));
    expect(byGroup.pages).toBe(3);
    expect(byGroup.value.map((c) => c.name).sort()).toEqual([...inA].sort());
    for (const c of byGroup.value) expect(c.type).toBe('Microsoft.Kubernetes/connectedClusters');

    const bySub = await fleet.arm.listAll(fleet.arm.subscriptionPath(fleet.subscriptionId));
    const names = bySub.value.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of [...inA, refB.name]) expect(names).toContain(n);
    expect(bySub.pages).toBe(Math.ceil(names.length / PAGE_SIZE));

    const otherSub = await fleet.arm.listPage(
      fleet.arm.subscriptionPath('00000000-0000-0000-0000-000000000001'),
    );
    expect(otherSub.status).toBe(200);
    expect(otherSub.body.value).toEqual([]);
    expect(otherSub.body.nextLink).toBeUndefined();
  });
});

describe('probes', () => {
  it('serves /healthz, /readyz and /metrics', async () => {
    expect((await fetch(`${fleet.hubUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${fleet.hubUrl}/readyz`)).status).toBe(200);
    const metrics = await fleet.arm.metrics();
    expect(metrics).toContain('arcfleet_hub_heartbeats_total');
    expect(metrics).toContain('arcfleet_hub_rejected_messages_total');
  });
});
