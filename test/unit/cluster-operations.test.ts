/**
 * The connectedClusters resource's own operations, apart from its agents (operations.ts): a PUT's
 * operation completes by itself, PUT over PUT cancels, DELETE is asynchronous, a refused onboarding
 * fails, and agents that never come read AgentNotInstalled. On a fake clock.
 */
import { describe, expect, it } from 'vitest';
import { clusterKey, definesAgentNotInstalled, isArcError } from '../../contract/index.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { DEFAULT_RESOURCE_TIMINGS } from '../../services/hub/connected-clusters/connected-clusters.js';
import { FAIL_PROVISIONING_TAG, parseOperationId } from '../../services/hub/connected-clusters/operations.js';
import { parsePutBody } from '../../services/hub/connected-clusters/validation.js';
import { renderResource } from '../../services/hub/connected-clusters/projection.js';
import { REF, beat, makeHub, metadataReport, onboard, registerBody } from './hub-helpers.js';

const MIN = 60_000;

const { provisioningDelayMs, deleteDelayMs, agentNotInstalledAfterMs } = DEFAULT_RESOURCE_TIMINGS;

function putBody(publicKey: string, tags: Record<string, string> = {}) {
  return parsePutBody({ location: 'eastus', tags, properties: { agentPublicKeyCertificate: publicKey } });
}

async function flushed(h: ReturnType<typeof makeHub>): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  void h;
}

describe('connectedClusters operations', () => {
  it('a PUT with no agents at all: Accepted/InProgress, then Succeeded after the provisioning delay, still Connecting', () => {
    const h = makeHub();
    const { hub, clock } = h;
    const put = hub.put(REF, putBody(generateAgentKeyPair().publicKey), 'u');
    const opId = put.record.operation.id;
    expect(put.record.provisioningState).toBe('Accepted');
    expect(hub.operation(opId)?.view.status).toBe('InProgress');
    clock.advance(provisioningDelayMs - 1);
    hub.tick();
    expect(hub.operation(opId)?.view.status).toBe('InProgress');
    clock.advance(1);
    hub.tick();
    expect(hub.get(REF)!.provisioningState).toBe('Succeeded');
    expect(hub.operation(opId)?.view).toMatchObject({ status: 'Succeeded', kind: 'write' });
    expect(hub.get(REF)!.connectivity.status).toBe('Connecting');
  });

  it('agents that never come: AgentNotInstalled after the configured time, Connected on a late first heartbeat', () => {
    const h = makeHub();
    const { hub, agents, clock } = h;
    const keys = generateAgentKeyPair();
    const put = hub.put(REF, putBody(keys.publicKey), 'u');
    clock.advance(agentNotInstalledAfterMs - 1);
    hub.tick();
    expect(hub.get(REF)!.connectivity.status).toBe('Connecting');
    clock.advance(1);
    hub.tick();
    const record = hub.get(REF)!;
    expect(record.connectivity.status).toBe('AgentNotInstalled');
    expect(record.transitions.at(-1)).toMatchObject({ from: 'Connecting', reason: 'agents-not-installed' });
    agents.register(clusterKey(REF), registerBody(keys, put.bootstrapToken!, clock.now()));
    beat(h, clusterKey(REF), clock.now());
    expect(hub.get(REF)!.connectivity.status).toBe('Connected');
  });

  it('AgentNotInstalled exists from api-version 2024-12-01-preview on', () => {
    expect(definesAgentNotInstalled('2024-12-01-preview')).toBe(true);
    expect(definesAgentNotInstalled('2026-05-01')).toBe(true);
    expect(definesAgentNotInstalled('2024-07-15-preview')).toBe(false);
    expect(definesAgentNotInstalled('2024-01-01')).toBe(false);
  });

  it('PUT over an existing resource is Updating; a PUT over a running PUT cancels it', () => {
    const h = makeHub();
    const { hub, clock } = h;
    const publicKey = generateAgentKeyPair().publicKey;
    const first = hub.put(REF, putBody(publicKey), 'u').record.operation.id;
    const second = hub.put(REF, putBody(publicKey, { team: 'a' }), 'u');
    const secondId = second.record.operation.id;
    expect(second.created).toBe(false);
    expect(second.record.provisioningState).toBe('Updating');
    expect(hub.operation(first)?.view.status).toBe('Canceled');
    clock.advance(provisioningDelayMs);
    hub.tick();
    expect(hub.get(REF)!.provisioningState).toBe('Succeeded');
    expect(hub.operation(secondId)?.view.status).toBe('Succeeded');
    const third = hub.put(REF, putBody(publicKey, { team: 'b' }), 'u').record.operation.id;
    expect(hub.operation(secondId)?.view.status).toBe('Succeeded');
    expect(hub.operation(third)?.view.status).toBe('InProgress');
  });

  it('DELETE: Deleting while its operation runs, writes refused with 409, then gone and the operation Succeeded', async () => {
    const h = makeHub();
    const { hub, clock, controls } = h;
    const publicKey = generateAgentKeyPair().publicKey;
    hub.put(REF, putBody(publicKey), 'u');
    const deleting = hub.beginDelete(REF)!;
    const opId = deleting.operation.id;
    expect(parseOperationId(opId)).toEqual({ key: clusterKey(REF), kind: 'delete' });
    expect(deleting.provisioningState).toBe('Deleting');
    // A second DELETE joins the running one.
    expect(hub.beginDelete(REF)!.operation.id).toBe(opId);
    let code: string | undefined;
    try {
      hub.put(REF, putBody(publicKey), 'u');
    } catch (err) {
      code = isArcError(err) ? `${err.status} ${err.code}` : 'other';
    }
    expect(code).toBe('409 Conflict');
    clock.advance(deleteDelayMs - 1);
    hub.tick();
    expect(hub.get(REF)).toBeDefined();
    clock.advance(1);
    hub.tick();
    await flushed(h);
    expect(hub.get(REF)).toBeUndefined();
    expect(controls.map((c) => c.message.action)).toEqual(['disconnect']);
    expect(hub.operation(opId)?.view).toMatchObject({ status: 'Succeeded', kind: 'delete' });
    // Created again: the old DELETE still reads Succeeded, an unknown write id is not found.
    hub.put(REF, putBody(publicKey), 'u');
    expect(hub.operation(opId)?.view.status).toBe('Succeeded');
    expect(hub.operation(opId.replace('.d.', '.w.'))).toBeUndefined();
  });

  it(`a PUT tagged ${FAIL_PROVISIONING_TAG} fails: provisioningState Failed, the error, and its agents cannot register`, () => {
    const h = makeHub();
    const { hub, agents, clock } = h;
    const keys = generateAgentKeyPair();
    const put = hub.put(
      REF,
      putBody(keys.publicKey, { [FAIL_PROVISIONING_TAG]: 'policy denies the region' }),
      'u',
    );
    clock.advance(provisioningDelayMs);
    hub.tick();
    expect(hub.get(REF)!.provisioningState).toBe('Failed');
    expect(hub.operation(put.record.operation.id)?.view).toMatchObject({
      status: 'Failed',
      error: { code: 'OnboardingFailed', message: expect.stringContaining('policy denies the region') },
    });
    let code: string | undefined;
    try {
      agents.register(clusterKey(REF), registerBody(keys, put.bootstrapToken!, clock.now()));
    } catch (err) {
      code = isArcError(err) ? err.code : (err as { code?: string }).code;
    }
    expect(code).toBe('InvalidBootstrapToken');
  });

  it('metadata shows up late: an early report is acknowledged, but the fields stay null until the cluster’s metadata time', () => {
    const h = makeHub({ resourceTimings: { metadataDelayMs: 5 * MIN, metadataJitterMs: 5 * MIN } });
    const { hub, agents, clock } = h;
    onboard(h, REF, clock);
    const record = hub.require(REF);
    const due = record.metadataDueMs!;
    expect(due - clock.now()).toBeGreaterThanOrEqual(5 * MIN);
    expect(due - clock.now()).toBeLessThan(10 * MIN);
    const report = metadataReport(clock.now(), 1);
    expect(agents.metadata(record, report).generation).toBe(1);
    const early = renderResource(record).properties;
    expect(early).toMatchObject({ kubernetesVersion: null, totalNodeCount: null, agentVersion: null });
    expect(early.arcAgentProfile).toEqual({ desiredAgentVersion: null, agentAutoUpgrade: 'Enabled' });
    // A newer report while pending replaces the pending one; an older one is ignored.
    expect(agents.metadata(record, metadataReport(clock.now(), 2, { totalNodeCount: 4 })).generation).toBe(2);
    expect(agents.metadata(record, report).generation).toBe(2);
    clock.advance(due - clock.now() - 1);
    hub.tick();
    expect(renderResource(record).properties.kubernetesVersion).toBeNull();
    clock.advance(1);
    hub.tick();
    expect(renderResource(record).properties).toMatchObject({
      kubernetesVersion: '1.30.4',
      totalNodeCount: 4,
    });
  });
});
