/**
 * The compose fleet's failover test (issue 14): with every cluster Connected and the hub scaled to 2,
 * SIGKILL (`docker kill`) the hub replica holding the leader lease and the broker node leading
 * JetStream's meta group, together, then watch the fleet through the published hub URL for several
 * Offline thresholds. Passes when:
 *   - no read shows a cluster other than Connected, and the surviving replica (the only one left to
 *     judge connectivity) has turned no cluster Offline: that counter also sees a flap the reads miss
 *     while JetStream elects new leaders (reads answer 503 then, as an ARM client sees it);
 *   - the survivor takes the lease, and the same clusters are there afterwards, with the change a PUT
 *     had acknowledged before the kill.
 */
import { expect } from 'vitest';
import type { ConnectedCluster } from '../../contract/index.js';
import { HubClient, type TokenSource } from '../../fleet/clients/hub-client.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from '../../fleet/generator.js';
import { holdsFor, waitFor } from '../helpers/wait.js';
import { run } from './docker.js';
import { hubReplicaState, jetStreamMetaLeader } from './replicas.js';

export interface FailoverContext {
  readonly hub: HubClient;
  /** The bearer token of the hub's ARM API (the fleet issuer's, from the hub-trust volume). */
  readonly token: TokenSource;
  readonly env: NodeJS.ProcessEnv;
  readonly step: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  readonly containers: (service: string) => Promise<string[]>;
  readonly clusters: () => Promise<ConnectedCluster[]>;
  readonly fleetSize: number;
  readonly offlineThresholdMs: number;
}

const NATS_NODES = ['nats-0', 'nats-1', 'nats-2'];
const TAG = 'arcfleet-compose-failover';

const notConnected = (list: readonly ConnectedCluster[]): string[] =>
  list.filter((c) => c.properties.connectivityStatus !== 'Connected').map((c) => c.name);

/** The hub's Offline events (cluster, simulated time), to say which cluster a failure is about. */
async function offlineEvents(baseUrl: string): Promise<string> {
  try {
    const res = await fetch(`${baseUrl}/arcfleet/v1/events?limit=10000`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as { events?: Array<{ name: string; to: string; time: string }> };
    const offline = (body.events ?? []).filter((e) => e.to === 'Offline');
    return offline.map((e) => `${e.name} at ${e.time}`).join(', ') || 'none in the event log';
  } catch (err) {
    return `(events unreadable: ${String(err)})`;
  }
}

/** PUT of the cluster as it is, plus a tag: an update the hub acknowledges once it is in KV. */
async function putTag(hub: HubClient, name: string, value: string): Promise<void> {
  const ref = { subscriptionId: DEFAULT_SUBSCRIPTION_ID, resourceGroup: DEFAULT_RESOURCE_GROUP, name };
  const c = await hub.getCluster(ref);
  const p = c.properties;
  const res = await hub.putCluster(ref, {
    location: c.location,
    tags: { ...c.tags, [TAG]: value },
    identity: { type: c.identity.type },
    properties: {
      agentPublicKeyCertificate: p.agentPublicKeyCertificate,
      ...(p.distribution ? { distribution: p.distribution } : {}),
      ...(p.distributionVersion ? { distributionVersion: p.distributionVersion } : {}),
      ...(p.infrastructure ? { infrastructure: p.infrastructure } : {}),
    },
  });
  expect(res.status).toBe(200);
  expect(res.resource.tags?.[TAG]).toBe(value);
}

export async function killOneNodeAndOneReplica(c: FailoverContext): Promise<void> {
  const before = await c.step('every cluster Connected before the kill', () =>
    waitFor(c.clusters, {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: `${c.fleetSize} Connected clusters before the kill`,
      until: (l) => l.length === c.fleetSize && notConnected(l).length === 0,
    }),
  );
  const names = before.map((x) => x.name).sort();
  const tagged = names[names.length - 1] as string;
  await c.step(`PUT ${tagged} with a tag, acknowledged`, () => putTag(c.hub, tagged, 'before-kill'));

  const hubIds = await c.containers('hub');
  expect(hubIds).toHaveLength(2);
  const replicas = await c.step('the replica holding the lease', () =>
    waitFor(() => Promise.all(hubIds.map((id) => hubReplicaState(id, c.env))), {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: 'exactly one hub replica leading',
      until: (states) => states.filter((s) => s.leader).length === 1,
    }),
  );
  const leader = replicas.find((r) => r.leader) as (typeof replicas)[number];
  const survivor = replicas.find((r) => !r.leader) as (typeof replicas)[number];
  const nodeIds = new Map<string, string>();
  for (const n of NATS_NODES) nodeIds.set(n, (await c.containers(n))[0] ?? '');
  const metaLeader = await jetStreamMetaLeader(nodeIds.get('nats-0') ?? '', c.env);
  const node = nodeIds.get(metaLeader);
  if (!node) throw new Error(`JetStream's meta leader "${metaLeader}" is none of ${NATS_NODES.join(', ')}`);
  console.log(
    `compose: killing hub replica ${leader.container.slice(0, 12)} (leader) and ${metaLeader} (JetStream meta leader)`,
  );
  await c.step(`docker kill the leading hub replica and ${metaLeader}`, () =>
    run('docker', ['kill', leader.container, node], { env: c.env }),
  );
  const killedAt = Date.now();

  // Several thresholds, past the lease's failover (≈ 4 s) and JetStream's re-election (4–9 s).
  const windowMs = Math.max(15_000, 5 * c.offlineThresholdMs);
  // Longer than a replica's 5 s wait for its KV watch: one still catching up answers 503 (counted as a
  // failed read), not a client timeout.
  const reader = new HubClient(c.hub.baseUrl, { timeoutMs: 10_000, token: c.token });
  const seen = { reads: 0, failed: 0, errors: new Set<string>() };
  /** One LIST through the published URL: what is wrong with it, or undefined when it failed. */
  const read = async (): Promise<string | undefined> => {
    try {
      const list = (await reader.listClusters(DEFAULT_SUBSCRIPTION_ID)).value;
      seen.reads++;
      const missing = names.filter((n) => !list.some((x) => x.name === n));
      const off = notConnected(list);
      return off.length + missing.length === 0 ? '' : `not Connected [${off}], missing [${missing}]`;
    } catch (err) {
      seen.failed++;
      seen.errors.add(err instanceof Error ? err.message.slice(0, 120) : String(err));
      return undefined;
    }
  };
  await c.step(`every cluster Connected for ${windowMs / 1000} s after the kill`, () =>
    holdsFor(read, (wrong) => !wrong, windowMs - (Date.now() - killedAt), {
      intervalMs: 250,
      message: 'every cluster Connected and listed after the kill',
    }),
  );
  console.log(
    `compose: ${seen.reads} reads after the kill, ${seen.failed} failed (${[...seen.errors].join(' | ') || 'none'})`,
  );
  // While JetStream elects new leaders the hub answers 503 with Retry-After (its store is unreachable):
  // that took longer than the window once (3 reads, all 503). It must serve again, and serve the whole
  // fleet Connected; the survivor's count of Offline transitions below covers the time it did not.
  const served = await c.step('the hub API serves again', () =>
    waitFor(read, {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: 'a LIST answered through the published URL after the kill',
      until: (wrong) => wrong !== undefined,
    }),
  );
  expect(served).toBe('');
  expect(seen.reads).toBeGreaterThan(0);

  const after = await c.step('the survivor leads', () =>
    waitFor(() => hubReplicaState(survivor.container, c.env), {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: 'the surviving hub replica holding the lease',
      until: (s) => s.leader,
    }),
  );
  expect(
    after.offlineTransitions,
    `Offline transitions on the survivor: ${await offlineEvents(c.hub.baseUrl)}`,
  ).toBe(survivor.offlineTransitions);
  const list = await waitFor(c.clusters, { timeoutMs: 30_000, intervalMs: 500, message: 'a LIST after' });
  expect(list.map((x) => x.name).sort()).toEqual(names);
  expect(notConnected(list)).toEqual([]);
  expect(list.find((x) => x.name === tagged)?.tags?.[TAG]).toBe('before-kill');
}
