/**
 * The fleet's message boundaries as the fuzzer sees them:
 *
 * - agent messages: a cluster's own NATS user (valid credentials, the cluster's own subjects, as a
 *   compromised agent would have) sends requests to the hub with any agent and kind on the subject and
 *   bodies from almost-right to noise. Every request must be answered; a refusal is `{type:'error'}`
 *   with a code, never InternalServerError.
 * - live feed frames: a WebSocket client of the hub's page sends frames of any kind; the hub ignores
 *   the invalid ones (counted) and keeps serving the connection: a `resync` still gets a snapshot.
 */
import fc from 'fast-check';
import { connect, type NatsConnection, type NatsError } from 'nats';
import { WebSocket } from 'ws';
import {
  AGENT_NAMES,
  MESSAGE_KINDS,
  PROTOCOL_VERSION,
  clusterKey,
  decodeAgentMessage,
  type ClusterRef,
} from '../../contract/index.js';
import { parseCreds, userAuthenticator } from '../../platform/broker-keys.js';
import { clusterInboxPrefix } from '../../platform/broker-trust.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import type { FleetHandle } from '../../fleet/index.js';
import type { Boundary, Verdict } from './boundary.js';
import { body, junkSegment, type Json } from './inputs.js';
import { scrapeSum } from './metrics-text.js';

/** The hub's default ARCFLEET_MAX_MESSAGE_BYTES; the fuzzer's payloads stay far below it. */
const MAX_MESSAGE_BYTES = 64 * 1024;

interface AgentInput {
  readonly agent: string;
  readonly kind: string;
  readonly payload: Uint8Array;
}

/** The hub's page URL as a WebSocket URL. */
const wsUrl = (pageUrl: string, path: string): string => pageUrl.replace(/^http/, 'ws') + path;

export async function agentMessageBoundary(fleet: FleetHandle): Promise<Boundary<AgentInput>> {
  const cluster = fleet.clusters[0];
  if (!cluster) throw new Error('the agent-message fuzzer needs one cluster');
  const ref: ClusterRef = {
    subscriptionId: cluster.subscriptionId,
    resourceGroup: cluster.resourceGroup,
    name: cluster.name,
  };
  const key = clusterKey(ref);
  const at = new Date(fleet.clock.now()).toISOString();
  const base = { v: PROTOCOL_VERSION, agent: 'resource-sync-agent', sentAt: at };
  const templates: Json[] = [
    { ...base, type: 'heartbeat', agentVersion: '1.21.10' },
    { ...base, type: 'renew', agent: 'clusteridentityoperator' },
    {
      ...base,
      type: 'register',
      agent: 'clusteridentityoperator',
      bootstrapToken: 'f'.repeat(32),
      agentPublicKey: generateAgentKeyPair().publicKey,
      agentVersion: '1.21.10',
    },
    {
      ...base,
      type: 'metadata',
      generation: 1,
      changedAt: at,
      metadata: {
        kubernetesVersion: '1.30.4',
        totalNodeCount: 3,
        totalCoreCount: 12,
        agentVersion: '1.21.10',
        distribution: 'aks',
        distributionVersion: '',
        infrastructure: 'azure',
      },
    },
    {
      ...base,
      type: 'agent-health',
      agent: 'metrics-agent',
      components: [{ type: 'config-agent', version: '1.21.10', state: 'Running', errors: [] }],
    },
    { ...base, type: 'config-pull', agent: 'config-agent' },
    {
      ...base,
      type: 'config-status',
      agent: 'extension-manager',
      extensions: [{ name: 'x', generation: 1 }],
    },
  ];
  // Mostly the subjects the hub serves (each agent's own kinds: the others have no responder in the
  // broker), then any agent with any kind, then names no agent has.
  const served: ReadonlyArray<readonly [string, string]> = [
    ['clusteridentityoperator', 'register'],
    ['clusteridentityoperator', 'renew'],
    ['resource-sync-agent', 'heartbeat'],
    ['resource-sync-agent', 'metadata'],
    ['metrics-agent', 'agent-health'],
    ['config-agent', 'config-pull'],
    ['config-agent', 'config-status'],
    ['extension-manager', 'config-pull'],
    ['extension-manager', 'config-status'],
  ];
  const subject = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...served) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...AGENT_NAMES), fc.constantFrom(...MESSAGE_KINDS)) },
    {
      weight: 1,
      arbitrary: fc.tuple(
        fc.constantFrom('no-such-agent', 'config-agent'),
        junkSegment.map((s) => s.replace(/[^a-z0-9-]/g, '') || 'x'),
      ),
    },
  );
  const input = fc
    .tuple(subject, body(templates))
    .map(([[agent, kind], payload]): AgentInput => ({ agent, kind, payload }));
  const creds = parseCreds((await fleet.store.readBrokerCredentials(cluster.name)) ?? '');
  let nc: NatsConnection | undefined;
  const metricsUrl = `${fleet.pageUrl}/metrics`;
  /**
   * Heartbeats cross the account boundary as a stream (published, never answered: platform/
   * broker-trust.ts), so the hub's verdict is only in its counter; the contract's decoder, the one the
   * hub runs, says which verdict to expect, and the runner checks the counter moved for a refusal.
   */
  const heartbeat = async (subject: string, payload: Uint8Array): Promise<Verdict> => {
    nc!.publish(subject, payload);
    await nc!.flush();
    try {
      decodeAgentMessage('heartbeat', payload, subject, MAX_MESSAGE_BYTES);
      return { outcome: 'accepted' };
    } catch {
      return { outcome: 'rejected' };
    }
  };
  return {
    name: "agent messages (a cluster's own user)",
    input,
    async prepare() {
      nc = await connect({
        servers: fleet.natsUrl.split(','),
        name: 'fuzz',
        authenticator: userAuthenticator(() => creds),
        inboxPrefix: clusterInboxPrefix(key),
        ...(await fleet.natsTls()),
      });
    },
    async send(i): Promise<Verdict> {
      // The agent's kind token is the hub's to judge; clusterconnect-agent's `s.<id>` frames are the
      // relay's, which forwards whatever comes (its own boundary is the kube-apiserver).
      if (i.agent === 'clusterconnect-agent') return { outcome: 'skipped' };
      const subject = `arc.v1.${key}.${i.agent}.${i.kind}`;
      if (i.agent === 'resource-sync-agent' && i.kind === 'heartbeat') return heartbeat(subject, i.payload);
      try {
        const reply = await nc!.request(subject, i.payload, { timeout: 5000 });
        const r = JSON.parse(new TextDecoder().decode(reply.data)) as { type?: string; code?: string };
        if (r.type !== 'error') return { outcome: 'accepted' };
        if (typeof r.code !== 'string' || r.code === 'InternalServerError')
          return { outcome: 'crash', detail: `${subject}: ${JSON.stringify(r).slice(0, 300)}` };
        return { outcome: 'rejected', code: r.code };
      } catch (err) {
        const code = (err as NatsError).code;
        // A subject the hub does not serve (an unknown agent, heartbeats are published not requested
        // by real agents) has no responder: the broker says so at once; not a hub failure.
        if (code === '503') return { outcome: 'skipped' };
        return { outcome: 'crash', detail: `${subject}: ${String(err)}` };
      }
    },
    counted: () => scrapeSum(metricsUrl, 'arcfleet_hub_rejected_messages_total'),
    async close() {
      await nc?.close();
    },
  };
}

/**
 * A frame: text (always UTF-8), binary, or one the protocol forbids (text that is not UTF-8, or over the
 * feed's 1 KiB limit), after which the hub must close the connection (1007, 1009) and count it.
 */
type Frame = { readonly kind: 'text' | 'binary' | 'fatal'; readonly data: Uint8Array };

/** The feed's limit on a client frame (live-page.ts MAX_CLIENT_MESSAGE). */
const MAX_FRAME = 1024;

/** Mirrors the feed's rule (live-feed.ts `receive`): a JSON `resync`, or an `ack` with an integer seq. */
function valid(f: Frame): boolean {
  if (f.kind !== 'text') return false;
  try {
    const m = JSON.parse(new TextDecoder().decode(f.data)) as Record<string, unknown> | null;
    if (typeof m !== 'object' || m === null) return false;
    return m['type'] === 'resync' || (m['type'] === 'ack' && Number.isInteger(m['seq']));
  } catch {
    return false;
  }
}

const feedFrames: fc.Arbitrary<readonly Frame[]> = (() => {
  const data = body([{ type: 'ack', seq: 1 }, { type: 'resync' }, { type: 'subscribe', filter: 'x' }]).filter(
    (d) => d.length <= MAX_FRAME,
  );
  const text = data.map((d) => ({
    kind: 'text' as const,
    data: new TextEncoder().encode(new TextDecoder().decode(d)),
  }));
  const binary = data.map((d) => ({ kind: 'binary' as const, data: d }));
  const fatal = fc.oneof(
    fc
      .uint8Array({ minLength: 1, maxLength: 16 })
      .map((d) => ({ kind: 'fatal' as const, data: Uint8Array.from([0xc3, 0x28, ...d]) })),
    fc
      .integer({ min: MAX_FRAME + 1, max: 4 * MAX_FRAME })
      .map((n) => ({ kind: 'fatal' as const, data: new Uint8Array(n).fill(0x20) })),
  );
  return fc
    .tuple(
      fc.array(fc.oneof(text, binary), { minLength: 1, maxLength: 8 }),
      fc.option(fatal, { freq: 5, nil: undefined }),
    )
    .map(([frames, last]) => (last ? [...frames, last] : frames));
})();

export function feedBoundary(fleet: FleetHandle, feedPath: string): Boundary<readonly Frame[]> {
  const metricsUrl = `${fleet.pageUrl}/metrics`;
  return {
    name: 'live feed (WebSocket frames)',
    input: feedFrames,
    async send(frames): Promise<Verdict> {
      const ws = new WebSocket(wsUrl(fleet.pageUrl, feedPath));
      try {
        const messages: string[] = [];
        let closedWith: number | undefined;
        ws.on('message', (d) => messages.push(String(d)));
        ws.on('close', (code) => (closedWith = code));
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        for (const f of frames) ws.send(f.data, { binary: f.kind === 'binary' });
        const refusals = frames.filter((f) => !valid(f)).length;
        const fatal = frames.at(-1)?.kind === 'fatal';
        const deadline = Date.now() + 5000;
        if (fatal) {
          // The protocol's answer: the hub closes the connection, saying why.
          while (closedWith === undefined) {
            if (Date.now() > deadline)
              return { outcome: 'crash', detail: 'a forbidden frame left the feed open' };
            await new Promise((r) => setTimeout(r, 10));
          }
          if (closedWith !== 1007 && closedWith !== 1009)
            return { outcome: 'crash', detail: `a forbidden frame closed the feed with ${closedWith}` };
          return { outcome: 'rejected', refusals };
        }
        // Still served: a resync after the junk gets a snapshot.
        const before = messages.length;
        ws.send(JSON.stringify({ type: 'resync' }));
        while (!messages.slice(before).some((m) => m.includes('"snapshot"'))) {
          if (ws.readyState !== WebSocket.OPEN)
            return {
              outcome: 'crash',
              detail: `the hub closed the feed (${closedWith}) after ${frames.length} frames`,
            };
          if (Date.now() > deadline)
            return { outcome: 'crash', detail: 'no snapshot within 5 s after a resync' };
          await new Promise((r) => setTimeout(r, 10));
        }
        return refusals === 0 ? { outcome: 'accepted' } : { outcome: 'rejected', refusals };
      } catch (err) {
        return { outcome: 'crash', detail: `feed: ${String(err)}` };
      } finally {
        ws.terminate();
      }
    },
    counted: () =>
      scrapeSum(metricsUrl, 'arcfleet_hub_feed_rejected_total', (l) => l['reason'] === 'invalid_message'),
  };
}
