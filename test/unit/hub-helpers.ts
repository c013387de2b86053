import { FakeClock } from '../../platform/clock.js';
import { DEFAULT_TIMINGS } from '../../platform/settings.js';
import { IdentityAuthority, MessageSigner, generateAgentKeyPair } from '../../platform/identity.js';
import { createLogger } from '../../platform/log.js';
import {
  type ControlMessage,
  encodeMessage,
  PROTOCOL_VERSION,
  clusterKey,
  subjects,
  type ClusterRef,
} from '../../contract/index.js';
import { Hub } from '../../services/hub/hub.js';
import { createHubMetrics } from '../../services/hub/metrics.js';
import type { ClusterRecord } from '../../services/hub/connected-clusters/projection.js';
import { parsePutBody } from '../../services/hub/connected-clusters/validation.js';
import {
  ProjectionStore,
  type ProjectionPersistence,
} from '../../services/hub/persistence/projection-store.js';

export class MemoryPersistence implements ProjectionPersistence {
  readonly data = new Map<string, string>();
  puts = 0;
  async loadAll(): Promise<ClusterRecord[]> {
    return [...this.data.values()].map((v) => JSON.parse(v) as ClusterRecord);
  }
  async put(record: ClusterRecord): Promise<void> {
    this.puts++;
    this.data.set(record.key, JSON.stringify(record));
  }
  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }
}

export function makeHub(
  opts: { persistence?: MemoryPersistence; clock?: FakeClock; authorityPem?: string } = {},
) {
  const clock = opts.clock ?? new FakeClock();
  const persistence = opts.persistence ?? new MemoryPersistence();
  const logger = createLogger('test', 'silent');
  const store = new ProjectionStore({
    persistence,
    logger,
    persistIntervalMs: 100,
    heartbeatPersistIntervalMs: 30_000,
  });
  const authorityPem = opts.authorityPem ?? IdentityAuthority.generatePem();
  const controls: Array<{ ref: ClusterRef; message: ControlMessage }> = [];
  const holder: { hub?: Hub } = {};
  const metrics = createHubMetrics(() => holder.hub!.counts());
  const hub = new Hub({
    store,
    clock,
    timings: DEFAULT_TIMINGS,
    authority: new IdentityAuthority(authorityPem),
    metrics,
    logger,
    publishControl: (ref, message) => controls.push({ ref, message }),
  });
  holder.hub = hub;
  return { hub, clock, store, persistence, metrics, controls, authorityPem };
}

export const REF: ClusterRef = { subscriptionId: 'sub-1', resourceGroup: 'rg-1', name: 'c1' };

/** PUTs a cluster and registers its agent, returning what the agents would hold. */
export function onboard(hub: Hub, ref: ClusterRef = REF, clock?: FakeClock) {
  const keys = generateAgentKeyPair();
  const put = hub.put(
    ref,
    parsePutBody({ location: 'eastus', properties: { agentPublicKeyCertificate: keys.publicKey } }),
    'u',
  );
  const signer = new MessageSigner(keys.privateKeyPem);
  const subject = subjects.agentToHub(ref, 'clusteridentityoperator', 'register');
  const body = {
    v: PROTOCOL_VERSION,
    type: 'register' as const,
    agent: 'clusteridentityoperator' as const,
    bootstrapToken: put.bootstrapToken!,
    agentPublicKey: keys.publicKey,
    agentVersion: '1.21.10',
    sentAt: new Date(clock?.now() ?? Date.now()).toISOString(),
  };
  const payload = encodeMessage(body);
  const identity = hub.register(clusterKey(ref), body, subject, payload, signer.sign(subject, payload));
  return { keys, signer, identity, put, key: clusterKey(ref) };
}

export function signedHeartbeat(ref: ClusterRef, signer: MessageSigner, nowMs: number) {
  const subject = subjects.agentToHub(ref, 'resource-sync-agent', 'heartbeat');
  const body = {
    v: PROTOCOL_VERSION,
    type: 'heartbeat' as const,
    agent: 'resource-sync-agent' as const,
    agentVersion: '1.21.10',
    sentAt: new Date(nowMs).toISOString(),
  };
  const payload = encodeMessage(body);
  return { subject, body, payload, signature: signer.sign(subject, payload) };
}
