/**
 * A hub replica that has not yet seen a record another replica wrote must not refuse the cluster for
 * good: the agents stop on IdentityRevoked, InvalidBootstrapToken, IdentityInvalid and ClusterExpired.
 * It catches up with the bucket (the read-your-writes barrier) and only then answers.
 */
import type { Msg } from 'nats';
import { describe, expect, it } from 'vitest';
import {
  ArcError,
  ERROR_CODES,
  IdentityError,
  PROTOCOL_VERSION,
  encodeMessage,
  subjects,
  type HubReply,
  type IdentityReply,
  type RegisterRequest,
} from '../../contract/index.js';
import { createLogger } from '../../platform/log.js';
import { AgentBus } from '../../services/hub/agent-bus/agent-bus.js';
import type { AgentMessages } from '../../services/hub/agent-bus/agent-protocol.js';
import { createHubMetrics } from '../../services/hub/metrics.js';
import { SOLE_LEADER } from '../../services/hub/persistence/leader-lease.js';
import { waitFor } from '../helpers/wait.js';

const REF = { subscriptionId: 'sub-1', resourceGroup: 'rg-1', name: 'c-1' };

const IDENTITY: IdentityReply = {
  v: PROTOCOL_VERSION,
  type: 'identity',
  certificate: 'cert',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-04-01T00:00:00.000Z',
  issuerPublicKey: 'issuer',
};

/** A replica's protocol: the record is there only once `known` (the watch delivered it). */
function protocolKnowing(state: { known: boolean }): AgentMessages {
  const missing = (): never => {
    throw new IdentityError(ERROR_CODES.IdentityRevoked, 'no connectedClusters resource exists');
  };
  return {
    register: () => (state.known ? IDENTITY : missing()),
    recordOf: () => missing(),
    renew: () => IDENTITY,
    heartbeat: () => undefined,
    metadata: () => ({ v: PROTOCOL_VERSION, type: 'ack' }),
    agentHealth: () => ({ v: PROTOCOL_VERSION, type: 'ack' }),
    persisted: async () => undefined,
  } as unknown as AgentMessages;
}

function registerMsg(replies: HubReply[]): Msg {
  const body: RegisterRequest = {
    v: PROTOCOL_VERSION,
    type: 'register',
    agent: 'clusteridentityoperator',
    bootstrapToken: 'token-0123456789abcdef',
    agentPublicKey: 'spki-0123456789abcdef',
    agentVersion: '1.20.2',
    sentAt: '2026-01-01T00:00:00.000Z',
  };
  return {
    subject: subjects.agentToHub(REF, 'clusteridentityoperator', 'register'),
    data: encodeMessage(body),
    reply: '_INBOX.test',
    respond: (data: Uint8Array) => {
      replies.push(JSON.parse(new TextDecoder().decode(data)) as HubReply);
      return true;
    },
  } as unknown as Msg;
}

function bus(protocol: AgentMessages, sync?: () => Promise<void>): AgentBus {
  return new AgentBus({
    protocol,
    configuration: undefined as never,
    metrics: createHubMetrics(() => undefined),
    logger: createLogger('test', 'silent'),
    maxMessageBytes: 64 * 1024,
    replicas: sync ? { leadership: SOLE_LEADER, sync } : undefined,
  });
}

describe('agent bus on a hub replica behind its bucket', () => {
  it('catches up before answering register, and issues the identity the other replica made possible', async () => {
    const state = { known: false };
    let syncs = 0;
    const replies: HubReply[] = [];
    bus(protocolKnowing(state), async () => {
      syncs++;
      state.known = true; // the watch delivers the PUT another replica answered
    }).handle(registerMsg(replies));
    const [reply] = await waitFor(() => replies, { until: (r) => r.length === 1 });
    expect(syncs).toBe(1);
    expect(reply).toMatchObject({ type: 'identity', certificate: 'cert' });
  });

  it('refuses for good only when the record is missing after catching up', async () => {
    const replies: HubReply[] = [];
    let syncs = 0;
    bus(protocolKnowing({ known: false }), async () => void syncs++).handle(registerMsg(replies));
    const [reply] = await waitFor(() => replies, { until: (r) => r.length === 1 });
    expect(syncs).toBe(1);
    expect(reply).toMatchObject({ type: 'error', code: ERROR_CODES.IdentityRevoked });
  });

  it('answers a retryable ServiceUnavailable when it cannot tell (the store fails over)', async () => {
    const replies: HubReply[] = [];
    bus(protocolKnowing({ known: false }), async () => {
      throw new ArcError(ERROR_CODES.ServiceUnavailable, 'The hub cannot reach its store', { status: 503 });
    }).handle(registerMsg(replies));
    const [reply] = await waitFor(() => replies, { until: (r) => r.length === 1 });
    expect(reply).toMatchObject({ type: 'error', code: ERROR_CODES.ServiceUnavailable });
  });

  it('a lone hub (its memory is the store) refuses at once', () => {
    const replies: HubReply[] = [];
    bus(protocolKnowing({ known: false })).handle(registerMsg(replies));
    expect(replies).toEqual([expect.objectContaining({ type: 'error', code: ERROR_CODES.IdentityRevoked })]);
  });
});
