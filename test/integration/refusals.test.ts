/**
 * The agent boundary under hostile input, with the real agents running alongside: a cluster's own user
 * cannot speak for another cluster (the broker refuses it; docs/broker-identity.md); a used bootstrap
 * token is refused by the hub with the precise error code and counted; malformed messages (bad JSON,
 * wrong schema, oversized, wrong protocol version) are rejected and counted while the hub keeps serving.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection, type NatsError } from 'nats';
import { userAuthenticator } from '../../platform/broker-keys.js';
import { clusterInboxPrefix } from '../../platform/broker-trust.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { encodeMessage, clusterKey, PROTOCOL_VERSION } from '../../contract/index.js';
import { metricValue } from '../helpers/arm.js';
import { agentSubject, connectWire, heartbeat, heartbeatBody, requestRaw } from '../helpers/agent-wire.js';
import { TestFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

const REJECTED = 'arcfleet_hub_rejected_messages_total';
let fleet: TestFleet;
let nc: NatsConnection;
let a: string;
let b: string;

/** Runs `send`, then checks the reply code and that the rejected counter for `reason` went up by one. */
async function expectRefused(
  reason: string,
  send: () => Promise<{ type?: string; code?: string }>,
): Promise<void> {
  const before = await fleet.metric(REJECTED, { reason });
  const reply = await send();
  expect(reply, `reply for ${reason}`).toMatchObject({ type: 'error', code: reason });
  const after = await fleet.metric(REJECTED, { reason });
  expect(after - before, `${REJECTED}{reason="${reason}"}`).toBe(1);
}

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 3 });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
  [a, b] = fleet.clusters.map((c) => c.name) as [string, string];
  nc = await connectWire(fleet);
});

afterAll(async () => {
  await nc?.close();
  await fleet?.stop();
});

describe('identity refusals', () => {
  it("accepts a heartbeat on the cluster's own subject (control case)", async () => {
    const reply = await heartbeat(nc, fleet.ref(a));
    expect(reply.type, JSON.stringify(reply)).toBe('ack');
  });

  it("keeps a cluster's user off another cluster's subjects: refused by the broker, B unchanged", async () => {
    const creds = await fleet.clusterCredentials(a);
    const asA = await connect({
      servers: fleet.nats.url,
      authenticator: userAuthenticator(() => creds),
      inboxPrefix: clusterInboxPrefix(clusterKey(fleet.ref(a))),
      reconnect: false,
      ...(await fleet.natsTls()),
    });
    try {
      const before = await fleet.get(b);
      const body = {
        v: PROTOCOL_VERSION,
        type: 'metadata',
        agent: 'resource-sync-agent',
        generation: 1_000_000,
        changedAt: new Date(fleet.clock.now()).toISOString(),
        sentAt: new Date(fleet.clock.now()).toISOString(),
        metadata: {
          kubernetesVersion: '0.0.1-evil',
          totalNodeCount: 1,
          totalCoreCount: 1,
          agentVersion: '6.6.6',
          distribution: 'evil',
          distributionVersion: '',
          infrastructure: 'evil',
        },
      };
      const subject = agentSubject(fleet.ref(b), 'resource-sync-agent', 'metadata');
      const refused = await asA.request(subject, encodeMessage(body), { timeout: 2000 }).then(
        () => 'answered',
        (err: NatsError) => err.code,
      );
      expect(refused).toBe('PERMISSIONS_VIOLATION');
      const after = await fleet.get(b);
      expect(after.properties.kubernetesVersion).toBe(before.properties.kubernetesVersion);
    } finally {
      await asA.close();
    }
  });

  it('refuses registering again with a used bootstrap token (InvalidBootstrapToken)', async () => {
    const onboarding = await fleet.store.readOnboarding(a);
    if (!onboarding) throw new Error('no onboarding secret');
    const intruder = generateAgentKeyPair();
    const subject = agentSubject(fleet.ref(a), 'clusteridentityoperator', 'register');
    const body = {
      v: PROTOCOL_VERSION,
      type: 'register',
      agent: 'clusteridentityoperator',
      bootstrapToken: 'x'.repeat(32),
      agentPublicKey: intruder.publicKey,
      agentVersion: '1.21.10',
      sentAt: new Date().toISOString(),
    };
    await expectRefused('InvalidBootstrapToken', () => requestRaw(nc, subject, encodeMessage(body)));
  });
});

describe('malformed messages', () => {
  it('rejects bad JSON, wrong schema, oversized and protocol v1 with counted reasons, and keeps serving', async () => {
    const ref = fleet.ref(a);
    const subject = agentSubject(ref, 'resource-sync-agent', 'heartbeat');
    const beats = await fleet.metric('arcfleet_hub_heartbeats_total');

    await expectRefused('InvalidMessage', () => requestRaw(nc, subject, new TextEncoder().encode('{"v":1,')));
    await expectRefused('InvalidMessage', () =>
      requestRaw(nc, subject, new Uint8Array([0xff, 0xfe, 0x00, 0x7b])),
    );
    await expectRefused('InvalidMessage', () =>
      requestRaw(
        nc,
        subject,
        encodeMessage({ v: PROTOCOL_VERSION, type: 'heartbeat', agent: 'resource-sync-agent' }),
      ),
    );
    await expectRefused('InvalidMessage', () =>
      requestRaw(nc, subject, encodeMessage({ ...heartbeatBody(), unexpected: true })),
    );
    await expectRefused('UnsupportedProtocolVersion', () =>
      requestRaw(nc, subject, encodeMessage({ ...heartbeatBody(), v: 1 })),
    );
    const huge = encodeMessage({ ...heartbeatBody(), agentVersion: 'x'.repeat(200 * 1024) });
    await expectRefused('MessageTooLarge', () => requestRaw(nc, subject, huge));
    // A type that does not match the subject's kind.
    await expectRefused('InvalidMessage', () =>
      requestRaw(nc, agentSubject(ref, 'resource-sync-agent', 'metadata'), encodeMessage(heartbeatBody())),
    );

    // Fire-and-forget garbage (no reply subject) is counted too and never crashes the hub.
    const invalidBefore = await fleet.metric(REJECTED, { reason: 'InvalidMessage' });
    for (let i = 0; i < 50; i++) nc.publish(subject, new TextEncoder().encode(`garbage ${i}`));
    await nc.flush();
    await waitFor(() => fleet.metric(REJECTED, { reason: 'InvalidMessage' }), {
      until: (v) => v >= invalidBefore + 50,
      message: 'published garbage counted',
    });

    // Still serving: probes, API, heartbeats of the real agents, every cluster Connected.
    expect(fleet.hub.running).toBe(true);
    expect((await fetch(`${fleet.hubUrl}/healthz`)).status).toBe(200);
    const metrics = await fleet.arm.metrics();
    expect(metricValue(metrics, REJECTED, { reason: 'MessageTooLarge' })).toBeGreaterThanOrEqual(1);
    await waitFor(() => fleet.metric('arcfleet_hub_heartbeats_total'), {
      until: (v) => v > beats + fleet.clusters.length,
      message: 'heartbeats still processed after the garbage',
    });
    await fleet.waitAll('Connected');
    // Every refusal is counted; the log takes a line per reason per 10 s, not one per message.
    const rejectedLogs = fleet.hub.events('hub.message_rejected');
    const invalidLogs = rejectedLogs.filter((l) => l['reason'] === 'InvalidMessage');
    expect(new Set(rejectedLogs.map((l) => l['reason']))).toContain('MessageTooLarge');
    expect(invalidLogs.length).toBeGreaterThanOrEqual(1);
    expect(invalidLogs.length).toBeLessThan(10);
    expect(await fleet.metric(REJECTED, { reason: 'InvalidMessage' })).toBeGreaterThanOrEqual(50);
  });
});
