import { describe, expect, it } from 'vitest';
import { type AgentHealth, PROTOCOL_VERSION } from '../../contract/index.js';
import { parsePutBody } from '../../services/hub/connected-clusters/validation.js';
import { renderResource } from '../../services/hub/connected-clusters/projection.js';
import { REF, makeHub, onboard } from './hub-helpers.js';

function report(
  nowMs: number,
  rsa: AgentHealth['components'][number]['state'] = 'Running',
  message = 'resource-sync-agent is not running',
): AgentHealth {
  const time = new Date(nowMs).toISOString();
  return {
    v: PROTOCOL_VERSION,
    type: 'agent-health',
    agent: 'metrics-agent',
    sentAt: time,
    components: [
      { type: 'clusteridentityoperator', version: '1.21.10', state: 'Running', errors: [] },
      {
        type: 'resource-sync-agent',
        version: '1.21.10',
        state: rsa,
        errors: rsa === 'Running' ? [] : [{ message, severity: 'Error', time }],
      },
    ],
  };
}

describe('hub agent health', () => {
  it('arcAgentProfile from creation with the defaults; once metrics-agent reports, agentState, systemComponents, agentErrors', () => {
    const h = makeHub();
    const { hub, agents, clock } = h;
    onboard(h, REF, clock);
    const record = hub.require(REF);
    expect(renderResource(record).properties.arcAgentProfile).toEqual({
      desiredAgentVersion: null,
      agentAutoUpgrade: 'Enabled',
    });

    agents.agentHealth(record, report(clock.now()));
    expect(renderResource(record).properties.arcAgentProfile).toEqual({
      desiredAgentVersion: null,
      agentAutoUpgrade: 'Enabled',
      agentState: 'Succeeded',
      agentErrors: [],
      systemComponents: [
        { type: 'clusteridentityoperator', majorVersion: 1, currentVersion: '1.21.10' },
        { type: 'resource-sync-agent', majorVersion: 1, currentVersion: '1.21.10' },
      ],
    });

    clock.advance(60_000);
    const downAt = new Date(clock.now()).toISOString();
    agents.agentHealth(record, report(clock.now(), 'NotRunning'));
    const p = renderResource(record).properties.arcAgentProfile;
    expect(p?.['agentState']).toBe('Failed');
    expect(p?.['agentErrors']).toEqual([
      {
        message: 'resource-sync-agent is not running',
        severity: 'Error',
        component: 'resource-sync-agent',
        time: downAt,
      },
    ]);

    // The same problem reported again keeps the time it was first seen.
    clock.advance(60_000);
    agents.agentHealth(record, report(clock.now(), 'NotRunning'));
    expect(
      (renderResource(record).properties.arcAgentProfile?.['agentErrors'] as Array<{ time: string }>)[0]
        ?.time,
    ).toBe(downAt);

    agents.agentHealth(record, report(clock.now()));
    expect(renderResource(record).properties.arcAgentProfile?.['agentState']).toBe('Succeeded');
    expect(renderResource(record).properties.arcAgentProfile?.['agentErrors']).toEqual([]);
  });

  it("merges the user's arcAgentProfile: their settings win, the reported fields are read-only", () => {
    const h = makeHub();
    const { hub, agents, clock } = h;
    const { keys } = onboard(h, REF, clock);
    hub.put(
      REF,
      parsePutBody({
        location: 'eastus',
        properties: {
          agentPublicKeyCertificate: keys.publicKey,
          arcAgentProfile: {
            agentAutoUpgrade: 'Disabled',
            desiredAgentVersion: '1.20.2',
            agentState: 'Succeeded',
            systemComponents: [{ type: 'resource-sync-agent', userSpecifiedVersion: '1.20.2' }],
          },
        },
      }),
      'u',
    );
    const record = hub.require(REF);
    agents.agentHealth(record, report(clock.now(), 'NotRunning'));
    const p = renderResource(record).properties.arcAgentProfile;
    expect(p).toMatchObject({
      agentAutoUpgrade: 'Disabled',
      desiredAgentVersion: '1.20.2',
      agentState: 'Failed',
    });
    expect(p?.['systemComponents']).toEqual([
      { type: 'clusteridentityoperator', majorVersion: 1, currentVersion: '1.21.10' },
      {
        type: 'resource-sync-agent',
        userSpecifiedVersion: '1.20.2',
        majorVersion: 1,
        currentVersion: '1.21.10',
      },
    ]);
  });
});
