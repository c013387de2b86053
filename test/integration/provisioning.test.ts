/**
 * The connectedClusters resource's life apart from its agents, over real HTTP against a real hub: a
 * PUT's operation completes with no agent, PUT over PUT is Updating and cancels the running operation,
 * DELETE is asynchronous (202, Deleting, Location), a refused onboarding is Failed, and agents that
 * never come read AgentNotInstalled in the api-versions that define it. Onboarding is driven over NATS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from 'nats';
import type { ClusterRef, ConnectedCluster } from '../../contract/index.js';
import { generateAgentKeyPair, type AgentKeyPair } from '../../platform/identity.js';
import { connectWire, heartbeat, register } from '../helpers/agent-wire.js';
import type { ArmErrorBody, ArmResponse } from '../helpers/arm.js';
import { TestFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

// At time scale 60: operations take 1 s, agents are missed after 3 s.
const ENV = {
  ARCFLEET_PROVISIONING_DELAY: '60s',
  ARCFLEET_DELETE_DELAY: '60s',
  ARCFLEET_AGENT_NOT_INSTALLED_AFTER: '3m',
};

interface OperationBody {
  status: string;
  endTime?: string;
  error?: { code: string; message: string };
}

let fleet: TestFleet;
let nc: NatsConnection;
let seq = 0;

function newRef(): ClusterRef {
  return { subscriptionId: fleet.subscriptionId, resourceGroup: 'prov-rg', name: `prov-${++seq}` };
}

function putBody(keys: AgentKeyPair, tags: Record<string, string> = {}): Record<string, unknown> {
  return { location: 'westeurope', tags, properties: { agentPublicKeyCertificate: keys.publicKey } };
}

function operation(url: string): Promise<ArmResponse<OperationBody>> {
  return fleet.arm.request<OperationBody>('GET', url);
}

function finished(url: string): Promise<ArmResponse<OperationBody>> {
  return waitFor(() => operation(url), {
    timeoutMs: 15_000,
    until: (r) => r.body.status !== 'InProgress',
    message: `${url} finished`,
  });
}

function asyncOperationOf(res: ArmResponse): string {
  const url = res.headers.get('azure-asyncoperation');
  if (!url) throw new Error(`no Azure-AsyncOperation on ${res.status} ${res.text}`);
  return url;
}

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 0, agents: false, connect: false, env: ENV });
  await fleet.arm.createGroup(fleet.subscriptionId, 'prov-rg');
  nc = await connectWire(fleet);
});

afterAll(async () => {
  await nc?.close();
  await fleet?.stop();
});

describe('provisioning without agents', () => {
  it('the PUT completes (Accepted → Succeeded) with no agent; the cluster stays Connecting, then AgentNotInstalled', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    const put = await fleet.arm.put(ref, putBody(keys));
    expect(put.status).toBe(201);
    expect(put.body.properties.provisioningState).toBe('Accepted');
    const done = await finished(asyncOperationOf(put));
    expect(done.body).toMatchObject({ status: 'Succeeded', endTime: expect.any(String) });
    const provisioned = await fleet.arm.cluster(ref);
    expect(provisioned.properties).toMatchObject({
      provisioningState: 'Succeeded',
      connectivityStatus: 'Connecting',
    });

    // Agents never come: AgentNotInstalled where the api-version has it, Connecting where it has not.
    const missing = await waitFor(() => fleet.arm.get(ref, { apiVersion: '2026-05-01' }), {
      timeoutMs: 15_000,
      until: (r) => r.body.properties.connectivityStatus !== 'Connecting',
      message: `${ref.name} no longer Connecting`,
    });
    expect(missing.body.properties.connectivityStatus).toBe('AgentNotInstalled');
    const older = await fleet.arm.get(ref, { apiVersion: '2024-01-01' });
    expect(older.body.properties.connectivityStatus).toBe('Connecting');
    const summary = await fleet.arm.request<{ connectivityStatus: Record<string, number> }>(
      'GET',
      '/arcfleet/v1/summary',
      { apiVersion: null },
    );
    expect(summary.body.connectivityStatus['AgentNotInstalled']).toBeGreaterThanOrEqual(1);

    // The agents come late after all: Connected.
    const token = put.headers.get('x-arcfleet-bootstrap-token') ?? '';
    expect((await register(nc, ref, keys, token)).type).toBe('identity');
    expect((await heartbeat(nc, ref)).type).toBe('ack');
    expect((await fleet.arm.cluster(ref)).properties.connectivityStatus).toBe('Connected');
  });

  it('a PUT over an existing resource is Updating with its own operation; the one it interrupted reads Canceled', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    const first = await fleet.arm.put(ref, putBody(keys));
    const second = await fleet.arm.put(ref, putBody(keys, { team: 'a' }));
    expect(second.status).toBe(200);
    expect(second.body.properties.provisioningState).toBe('Updating');
    expect(asyncOperationOf(second)).not.toBe(asyncOperationOf(first));
    expect((await operation(asyncOperationOf(first))).body.status).toBe('Canceled');
    expect((await finished(asyncOperationOf(second))).body.status).toBe('Succeeded');
    expect((await fleet.arm.cluster(ref)).properties.provisioningState).toBe('Succeeded');
  });

  it('a refused onboarding: the operation Failed with its error, provisioningState Failed, the agents refused', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    const put = await fleet.arm.put(ref, putBody(keys, { 'arcfleet-fail-provisioning': 'denied by policy' }));
    expect(put.status).toBe(201);
    const failed = await finished(asyncOperationOf(put));
    expect(failed.body).toMatchObject({
      status: 'Failed',
      error: { code: 'OnboardingFailed', message: expect.stringContaining('denied by policy') },
    });
    expect((await fleet.arm.cluster(ref)).properties.provisioningState).toBe('Failed');
    const refused = await register(nc, ref, keys, put.headers.get('x-arcfleet-bootstrap-token') ?? '');
    expect(refused).toMatchObject({ type: 'error', code: 'InvalidBootstrapToken' });
  });
});

describe('asynchronous DELETE', () => {
  it('202 with Location and Azure-AsyncOperation; Deleting and 409 on writes while it runs; then gone', async () => {
    const ref = newRef();
    const keys = generateAgentKeyPair();
    await finished(asyncOperationOf(await fleet.arm.put(ref, putBody(keys))));
    const del = await fleet.arm.delete(ref);
    expect(del.status).toBe(202);
    const location = del.headers.get('location') ?? '';
    expect(location).toMatch(/\/operationResults\/.+api-version=/);
    expect(del.headers.get('retry-after')).toMatch(/^\d+$/);
    const statusUrl = asyncOperationOf(del);

    const deleting = await fleet.arm.cluster(ref);
    expect(deleting.properties.provisioningState).toBe('Deleting');
    const put = await fleet.arm.put(ref, putBody(keys));
    expect({ status: put.status, code: (put.body as unknown as ArmErrorBody).error?.code }).toEqual({
      status: 409,
      code: 'Conflict',
    });
    expect((await fleet.arm.patch(ref, { tags: { a: 'b' } })).status).toBe(409);
    const running = await fleet.arm.request('GET', location);
    expect(running.status).toBe(202);
    expect(running.headers.get('location')).toBeTruthy();
    // A second DELETE joins the running one.
    expect(asyncOperationOf(await fleet.arm.delete(ref))).toBe(statusUrl);

    const gone = await waitFor(() => fleet.arm.request('GET', location), {
      timeoutMs: 15_000,
      until: (r) => r.status !== 202,
      message: 'the DELETE finished',
    });
    expect(gone.status).toBe(204);
    expect((await operation(statusUrl)).body.status).toBe('Succeeded');
    expect((await fleet.arm.get(ref)).status).toBe(404);
    const list = await fleet.arm.listAll(fleet.arm.groupPath(ref.subscriptionId, ref.resourceGroup));
    expect(list.value.map((c: ConnectedCluster) => c.name)).not.toContain(ref.name);
  });
});

describe('late metadata (real agents)', () => {
  let agentsFleet: TestFleet;
  beforeAll(async () => {
    // At time scale 60: metadata 10 s after the agents register, far more than getting Connected takes.
    agentsFleet = await TestFleet.start({
      clusters: 1,
      env: { ARCFLEET_METADATA_DELAY: '10m', ARCFLEET_METADATA_JITTER: '0' },
    });
  });
  afterAll(async () => {
    await agentsFleet?.stop();
  });

  it('Connected with null metadata and the default arcAgentProfile first; the metadata follows at its time', async () => {
    const name = agentsFleet.clusters[0]!.name;
    const connected = await agentsFleet.waitStatus(name, 'Connected');
    expect(connected.properties).toMatchObject({
      kubernetesVersion: null,
      totalNodeCount: null,
      totalCoreCount: null,
      agentVersion: null,
      arcAgentProfile: { agentAutoUpgrade: 'Enabled' },
    });
    const synced = await waitFor(() => agentsFleet.arm.cluster(agentsFleet.ref(name)), {
      timeoutMs: 30_000,
      until: (c) => c.properties.kubernetesVersion !== null,
      message: `${name} metadata shown`,
    });
    expect(synced.properties.kubernetesVersion).toBe(agentsFleet.clusters[0]!.kubernetesVersion);
    expect(synced.properties.totalNodeCount).toBeGreaterThan(0);
  });
});
