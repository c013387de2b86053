import { FakeClock } from '../../platform/clock.js';
import { DEFAULT_TIMINGS } from '../../platform/settings.js';
import { IdentityAuthority, generateAgentKeyPair } from '../../platform/identity.js';
import { createLogger } from '../../platform/log.js';
import { type ControlMessage, PROTOCOL_VERSION, clusterKey, type ClusterRef } from '../../contract/index.js';
import { AgentProtocol } from '../../services/hub/agent-bus/agent-protocol.js';
import {
  ConnectedClusters,
  DEFAULT_RESOURCE_TIMINGS,
  type ResourceTimings,
} from '../../services/hub/connected-clusters/connected-clusters.js';
import { createHubMetrics } from '../../services/hub/metrics.js';
import type { ClusterRecord } from '../../services/hub/connected-clusters/projection.js';
import { parsePutBody } from '../../services/hub/connected-clusters/validation.js';
import type { AgentReleaseLookup } from '../../services/hub/connected-clusters/agent-profile.js';
import {
  ProjectionStore,
  RevisionConflict,
  type KeyedRecord,
  type ProjectionPersistence,
  type Stored,
} from '../../services/hub/persistence/projection-store.js';

/** JetStream KV in memory: one revision sequence for the bucket, compare-and-set writes. */
export class MemoryPersistence<R extends KeyedRecord = ClusterRecord> implements ProjectionPersistence<R> {
  readonly data = new Map<string, string>();
  readonly revisions = new Map<string, number>();
  private seq = 0;
  puts = 0;
  async loadAll(): Promise<Array<Stored<R>>> {
    return [...this.data.keys()].map((k) => ({
      record: JSON.parse(this.data.get(k)!) as R,
      revision: this.revisions.get(k)!,
    }));
  }
  async write(key: string, json: string, revision: number | undefined): Promise<number> {
    if (revision !== this.revisions.get(key)) throw new RevisionConflict(key);
    this.puts++;
    this.data.set(key, json);
    this.revisions.set(key, ++this.seq);
    return this.seq;
  }
  async read(key: string): Promise<Stored<R> | undefined> {
    const json = this.data.get(key);
    return json === undefined
      ? undefined
      : { record: JSON.parse(json) as R, revision: this.revisions.get(key)! };
  }
  async delete(key: string): Promise<void> {
    this.data.delete(key);
    this.revisions.delete(key);
    this.seq++;
  }
}

export function makeHub(
  opts: {
    persistence?: MemoryPersistence;
    clock?: FakeClock;
    authorityPem?: string;
    resourceTimings?: Partial<ResourceTimings>;
    /** The agent releases the hub checks `desiredAgentVersion` and support against. */
    releases?: AgentReleaseLookup;
  } = {},
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
  const holder: { hub?: ConnectedClusters } = {};
  const metrics = createHubMetrics(() => holder.hub!.counts());
  const deps = { store, clock, timings: DEFAULT_TIMINGS, metrics, logger };
  const hub = new ConnectedClusters({
    ...deps,
    // Metadata shown at once unless a test is about its delay.
    resourceTimings: {
      ...DEFAULT_RESOURCE_TIMINGS,
      metadataDelayMs: 0,
      metadataJitterMs: 0,
      ...opts.resourceTimings,
    },
    publishControl: (ref, message) => controls.push({ ref, message }),
    ...(opts.releases ? { releases: opts.releases } : {}),
  });
  holder.hub = hub;
  const agents = new AgentProtocol({
    ...deps,
    clusters: hub,
    authority: new IdentityAuthority(authorityPem),
  });
  return { hub, agents, clock, store, persistence, metrics, controls, authorityPem };
}

export type TestHub = Pick<ReturnType<typeof makeHub>, 'hub' | 'agents'>;

export const REF: ClusterRef = { subscriptionId: 'sub-1', resourceGroup: 'rg-1', name: 'c1' };

export function registerBody(keys: { publicKey: string }, bootstrapToken: string, nowMs = Date.now()) {
  return {
    v: PROTOCOL_VERSION,
    type: 'register' as const,
    agent: 'clusteridentityoperator' as const,
    bootstrapToken,
    agentPublicKey: keys.publicKey,
    agentVersion: '1.21.10',
    sentAt: new Date(nowMs).toISOString(),
  };
}

/** PUTs a cluster and registers its agent, returning what the agents would hold. */
export function onboard(h: TestHub, ref: ClusterRef = REF, clock?: FakeClock) {
  const keys = generateAgentKeyPair();
  const put = h.hub.put(
    ref,
    parsePutBody({ location: 'eastus', properties: { agentPublicKeyCertificate: keys.publicKey } }),
    'u',
  );
  const key = clusterKey(ref);
  const identity = h.agents.register(key, registerBody(keys, put.bootstrapToken!, clock?.now()));
  return { keys, identity, put, key };
}

export function heartbeatBody(nowMs: number) {
  return {
    v: PROTOCOL_VERSION,
    type: 'heartbeat' as const,
    agent: 'resource-sync-agent' as const,
    agentVersion: '1.21.10',
    sentAt: new Date(nowMs).toISOString(),
  };
}

/** A heartbeat on the cluster's subject, as the agent bus dispatches it. */
export function beat(h: TestHub, key: string, nowMs: number): void {
  h.agents.heartbeat(h.agents.recordOf(key), heartbeatBody(nowMs));
}

/** resource-sync-agent's metadata report of generation `generation`, sent at `nowMs`. */
export function metadataReport(nowMs: number, generation: number, overrides: Record<string, unknown> = {}) {
  return {
    v: PROTOCOL_VERSION,
    type: 'metadata' as const,
    agent: 'resource-sync-agent' as const,
    generation,
    changedAt: new Date(nowMs).toISOString(),
    sentAt: new Date(nowMs).toISOString(),
    metadata: {
      kubernetesVersion: '1.30.4',
      totalNodeCount: 3,
      totalCoreCount: 12,
      agentVersion: '1.21.10',
      distribution: 'aks',
      distributionVersion: '',
      infrastructure: 'azure',
      ...overrides,
    },
  };
}
