import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../platform/clock.js';
import {
  AGENT_NAMES,
  type AgentStatus,
  MessageRejectedError,
  agentMessageSchema,
  decodeMessage,
  PROTOCOL_VERSION,
} from '../../contract/index.js';
import { judgeHealth, majorVersion } from '../../services/metrics-agent/health.js';

const EXPECTED = ['clusteridentityoperator', 'resource-sync-agent'] as const;

function status(
  agent: AgentStatus['agent'],
  lastSeenMs: number,
  extra: Partial<AgentStatus> = {},
): AgentStatus {
  return {
    agent,
    version: '1.21.10',
    pid: 42,
    startedAtMs: 0,
    lastSeenMs,
    state: 'Running',
    errors: [],
    ...extra,
  };
}

function judge(clock: FakeClock, statuses: AgentStatus[]) {
  return judgeHealth(statuses, {
    expected: EXPECTED,
    staleAfterMs: 3000,
    nowMs: clock.now(),
    nowIso: new Date(clock.now()).toISOString(),
  });
}

describe('judgeHealth', () => {
  it('an old status is fresh while the process that wrote it beats; a beat of another process is not enough', () => {
    const clock = new FakeClock();
    const written = clock.now();
    clock.advance(60_000);
    const beat = (pid: number, startedAtMs: number) =>
      new Map([
        [
          'resource-sync-agent',
          { agent: 'resource-sync-agent' as const, pid, startedAtMs, lastSeenMs: clock.now() },
        ],
      ]);
    const opts = {
      expected: EXPECTED,
      staleAfterMs: 3000,
      nowMs: clock.now(),
      nowIso: new Date(clock.now()).toISOString(),
    };
    const statuses = [status('clusteridentityoperator', clock.now()), status('resource-sync-agent', written)];
    expect(judgeHealth(statuses, { ...opts, beats: beat(42, 0) }).agentState).toBe('Succeeded');
    // Restarted process (new pid or start time): its beat does not vouch for the old file.
    const restarted = judgeHealth(statuses, { ...opts, beats: beat(43, 0) });
    expect(restarted.components[1]).toMatchObject({ state: 'NotRunning' });
    expect(judgeHealth(statuses, { ...opts, beats: beat(42, 5) }).agentState).toBe('Failed');
    expect(judgeHealth(statuses, opts).agentState).toBe('Failed');
  });

  it('all fresh and Running: Succeeded, no errors', () => {
    const clock = new FakeClock();
    const h = judge(clock, [
      status('clusteridentityoperator', clock.now()),
      status('resource-sync-agent', clock.now()),
    ]);
    expect(h.agentState).toBe('Succeeded');
    expect(h.components.map((c) => [c.type, c.state, c.version])).toEqual([
      ['clusteridentityoperator', 'Running', '1.21.10'],
      ['resource-sync-agent', 'Running', '1.21.10'],
    ]);
    expect(h.components.flatMap((c) => c.errors)).toEqual([]);
  });

  it('a status older than the staleness bound is NotRunning (killed process); a fresh one clears it', () => {
    const clock = new FakeClock();
    const seen = clock.now();
    clock.advance(3000);
    const fresh = status('clusteridentityoperator', clock.now());
    expect(judge(clock, [fresh, status('resource-sync-agent', seen)]).agentState).toBe('Succeeded');
    clock.advance(1);
    const h = judge(clock, [
      status('clusteridentityoperator', clock.now()),
      status('resource-sync-agent', seen),
    ]);
    expect(h.agentState).toBe('Failed');
    const rsa = h.components.find((c) => c.type === 'resource-sync-agent');
    expect(rsa?.state).toBe('NotRunning');
    expect(rsa?.version).toBe('1.21.10');
    expect(rsa?.errors[0]?.message).toMatch(/^resource-sync-agent is not running/);
    expect(rsa?.errors[0]?.time).toBe(new Date(clock.now()).toISOString());
    const back = judge(clock, [
      status('clusteridentityoperator', clock.now()),
      status('resource-sync-agent', clock.now()),
    ]);
    expect(back.agentState).toBe('Succeeded');
  });

  it('a missing status (agent stopped for the cluster) is NotRunning', () => {
    const clock = new FakeClock();
    const h = judge(clock, [status('resource-sync-agent', clock.now())]);
    expect(h.agentState).toBe('Failed');
    expect(h.components[0]).toMatchObject({
      type: 'clusteridentityoperator',
      state: 'NotRunning',
      version: '',
    });
    expect(h.components[0]?.errors[0]?.message).toBe('clusteridentityoperator is not running');
    expect(h.components[1]?.state).toBe('Running');
  });

  it('an Error status keeps its errors and fails the cluster; unexpected agents are listed after', () => {
    const clock = new FakeClock();
    const err = {
      message: 'certificate expired',
      severity: 'Error' as const,
      time: '2026-01-01T00:00:00.000Z',
    };
    const h = judge(clock, [
      status('config-agent', clock.now()),
      status('clusteridentityoperator', clock.now(), { state: 'Error', errors: [err] }),
      status('resource-sync-agent', clock.now()),
    ]);
    expect(h.agentState).toBe('Failed');
    expect(h.components.map((c) => c.type)).toEqual([...EXPECTED, 'config-agent']);
    expect(h.components[0]?.errors).toEqual([err]);
  });

  it('duplicate statuses: the most recent wins', () => {
    const clock = new FakeClock();
    const old = status('resource-sync-agent', clock.now() - 10_000, { version: '0.9.0' });
    const h = judge(clock, [
      old,
      status('resource-sync-agent', clock.now()),
      status('clusteridentityoperator', clock.now()),
    ]);
    expect(h.components[1]).toMatchObject({ state: 'Running', version: '1.21.10' });
  });
});

describe('majorVersion', () => {
  it('takes the leading number', () => {
    expect(majorVersion('1.21.10')).toBe('1');
    expect(majorVersion('v2.0')).toBe('2');
    expect(majorVersion('dev')).toBe('');
  });
});

describe('agent-health message schema (the hub boundary)', () => {
  const ok = {
    v: PROTOCOL_VERSION,
    type: 'agent-health',
    agent: 'metrics-agent',
    sentAt: '2026-01-01T00:00:00.000Z',
    components: [
      {
        type: 'resource-sync-agent',
        version: '1.21.10',
        state: 'NotRunning',
        errors: [
          {
            message: 'resource-sync-agent is not running',
            severity: 'Error',
            time: '2026-01-01T00:00:00.000Z',
          },
        ],
      },
    ],
  };
  const decode = (body: unknown) => () =>
    decodeMessage(
      agentMessageSchema,
      new TextEncoder().encode(JSON.stringify(body)),
      'arc.v1.s.r.c.metrics-agent.agent-health',
      65536,
    );

  it('accepts a valid report and refuses unknown agents, states, extra fields and bad times', () => {
    expect(decode(ok)().type).toBe('agent-health');
    const component = ok.components[0] as (typeof ok.components)[number];
    for (const bad of [
      { ...ok, components: [{ ...component, type: 'kubelet' }] },
      { ...ok, components: [{ ...component, state: 'Sleeping' }] },
      { ...ok, components: [{ ...component, extra: 1 }] },
      { ...ok, components: [{ ...component, errors: [{ ...component.errors[0], time: 'yesterday' }] }] },
      { ...ok, components: Array.from({ length: AGENT_NAMES.length + 1 }, () => component) },
    ])
      expect(decode(bad)).toThrow(MessageRejectedError);
  });
});
