// MetricsAgent per cluster with a FakeClock, a temporary cluster store and a fake link: no network.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentContext, ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { AgentLink, RequestResult } from '../../agent-runtime/agent-link.js';
import { FakeClock } from '../../platform/clock.js';
import {
  type ClusterState,
  type AgentHealth,
  type AgentMessage,
  PROTOCOL_VERSION,
} from '../../contract/index.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { createLogger } from '../../platform/log.js';
import { waitFor } from '../../platform/wait.js';
import { MetricsAgent } from '../../services/metrics-agent/metrics-agent.js';
import { REF, makeHub, onboard } from './hub-helpers.js';
import { clusterState, nodePool } from '../helpers/fixtures.js';

const state: ClusterState = clusterState(REF.name, {
  subscriptionId: REF.subscriptionId,
  resourceGroup: REF.resourceGroup,
  location: 'eastus',
  nodePools: [nodePool({ nodeImageVersion: 'x' })],
});

describe('MetricsAgent', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports what the status files say each interval when it changed, and halts on a definitive refusal', async () => {
    dir = await mkdtemp(join(tmpdir(), 'metrics-agent-'));
    const store = new ClusterStore(dir);
    await store.writeState(state);
    const h = makeHub();
    const { clock: hubClock } = h;
    const { keys, identity } = onboard(h, REF, hubClock);
    const clock = new FakeClock();
    let realNow = 1_000_000;
    await store.writeAgentStatus(REF.name, {
      agent: 'clusteridentityoperator',
      version: '1.21.10',
      pid: 1,
      startedAtMs: 0,
      lastSeenMs: realNow,
      state: 'Running',
      errors: [],
    });

    // One read of the process beats per report: how the test knows a report's reads are done.
    const beatReads = vi.spyOn(store, 'readProcessBeats');
    const sent: AgentHealth[] = [];
    let reply: RequestResult = { ok: true, reply: { v: PROTOCOL_VERSION, type: 'ack' } };
    let closed = 0;
    const link = {
      request: (_kind: string, message: AgentMessage) => {
        if (message.type === 'agent-health') sent.push(message);
        return Promise.resolve(reply);
      },
      setCredentials: () => undefined,
      close: () => {
        closed++;
        return Promise.resolve();
      },
    } as unknown as AgentLink;
    let opened = 0;
    const ctx: AgentContext = {
      agentName: 'metrics-agent',
      clusterName: REF.name,
      logger: createLogger('test', 'silent'),
      store,
      openLink: () => {
        opened++;
        return Promise.resolve(link);
      },
    };
    const snapshot: ClusterSnapshot = {
      name: REF.name,
      state,
      onboarding: {
        resourceId: 'r',
        privateKeyPem: keys.privateKeyPem,
        publicKey: keys.publicKey,
        bootstrapToken: 't',
        hubUrl: 'http://x',
      },
      identity: {
        certificate: identity.certificate,
        'azure-identity-certificate-expiration-time': identity.notAfter,
        issuedAt: identity.notBefore,
        state: 'Valid',
      },
    };
    const agent = new MetricsAgent(
      ctx,
      { clock, intervalMs: 60_000, staleAfterMs: 3000, realNow: () => realNow },
      snapshot,
    );

    // Connected: a first report at once.
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]?.components.map((c) => [c.type, c.state])).toEqual([
      ['clusteridentityoperator', 'Running'],
      ['resource-sync-agent', 'NotRunning'],
    ]);
    // Nothing more until the interval.
    clock.advance(59_999);
    expect(sent).toHaveLength(1);
    await store.writeAgentStatus(REF.name, {
      agent: 'resource-sync-agent',
      version: '1.21.10',
      pid: 2,
      startedAtMs: 0,
      lastSeenMs: realNow,
      state: 'Running',
      errors: [],
    });
    clock.advance(1);
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]?.components.every((c) => c.state === 'Running')).toBe(true);

    // clusteridentityoperator's file goes stale (its process was killed).
    realNow += 3001;
    await store.writeAgentStatus(REF.name, {
      agent: 'resource-sync-agent',
      version: '1.21.10',
      pid: 2,
      startedAtMs: 0,
      lastSeenMs: realNow,
      state: 'Running',
      errors: [],
    });
    clock.advance(60_000);
    await vi.waitFor(() => expect(sent).toHaveLength(3));
    expect(sent[2]?.components[0]).toMatchObject({ type: 'clusteridentityoperator', state: 'NotRunning' });
    expect(sent[2]?.components[0]?.errors[0]?.message).toMatch(/^clusteridentityoperator is not running/);

    // Unchanged since the last acknowledged report: nothing is sent. Asserting an absence: wait
    // until that interval's report has read the status files (the last read before the send decision).
    clock.advance(60_000);
    await waitFor(() => beatReads.mock.settledResults.filter((r) => r.type === 'fulfilled').length, {
      until: (n) => n === 4,
      intervalMs: 5,
      message: "the fourth interval's status reads",
    });
    expect(sent).toHaveLength(3);
    await store.writeAgentStatus(REF.name, {
      agent: 'clusteridentityoperator',
      version: '1.21.10',
      pid: 3,
      startedAtMs: 0,
      lastSeenMs: realNow,
      state: 'Running',
      errors: [],
    });

    // The cluster was deleted: the hub refuses the certificate for good; no more reports with it.
    reply = {
      ok: true,
      reply: { v: PROTOCOL_VERSION, type: 'error', code: 'IdentityRevoked', message: 'gone' },
    };
    clock.advance(60_000);
    await vi.waitFor(() => expect(closed).toBe(1));
    clock.advance(5 * 60_000);
    agent.update(snapshot, { state: false, onboarding: false, identity: true, kube: false });
    expect(opened).toBe(1);
    expect(sent).toHaveLength(4);
    await agent.close();
  });
});
