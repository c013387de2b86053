/**
 * cluster-metadata-operator on a fake clock: what the `clustermetadata` status says (pure), and when
 * the operator reads and writes it (on start and on a change; only what differs; a failed sync retried
 * with backoff; changes during a sync cause exactly one more). The apiserver is an in-memory stand-in
 * here; test/integration/cluster-metadata.test.ts runs the real one with kubectl.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import type { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { FakeClock } from '../../platform/clock.js';
import {
  clusterMetadataObject,
  metadataStatus,
  milliCpu,
  upToDate,
} from '../../services/cluster-metadata-operator/cluster-metadata.js';
import {
  AGENT,
  MetadataOperator,
  type MetadataApi,
} from '../../services/cluster-metadata-operator/metadata-operator.js';
import { captureLogger, clusterState, fakeContext, snapshotOf } from './agent-fakes.js';

const node = (name: string, cpu?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  ...(cpu === undefined ? {} : { status: { capacity: { cpu } } }),
});

const IDENTITY = {
  certificate: 'CERT',
  'azure-identity-certificate-expiration-time': '2026-04-01T00:00:00.000Z',
  issuedAt: '2026-01-01T00:00:00.000Z',
  state: 'Valid' as const,
};

describe('the clustermetadata status', () => {
  it('counts nodes and their CPU capacity, and carries the versions and the certificate expiry', () => {
    const status = metadataStatus({
      nodes: [node('a', '4'), node('b', '3860m'), node('c', '0.5'), node('by-hand')],
      kubernetesVersion: 'v1.30.4',
      agentVersion: '1.21.10',
      identity: IDENTITY,
    });
    expect(status).toEqual({
      nodeCount: 4,
      // 4000 + 3860 + 500 millicores; a Node created by hand without a status adds no cores.
      coreCount: 8,
      arcAgentVersion: '1.21.10',
      kubernetesAPIServerVersion: 'v1.30.4',
      managedIdentityCertificateExpirationTime: '2026-04-01T00:00:00.000Z',
    });
    const before = metadataStatus({
      nodes: [],
      kubernetesVersion: 'v1.30.4',
      agentVersion: 'x',
      identity: undefined,
    });
    expect(before).not.toHaveProperty('managedIdentityCertificateExpirationTime');
    expect(before.nodeCount).toBe(0);
  });

  it('reads CPU quantities as Kubernetes writes them, and nothing else', () => {
    expect([milliCpu('16'), milliCpu('250m'), milliCpu('1.5'), milliCpu(2)]).toEqual([
      16000, 250, 1500, 2000,
    ]);
    expect([milliCpu('lots'), milliCpu('-1'), milliCpu('1Ki'), milliCpu(undefined), milliCpu(NaN)]).toEqual([
      0, 0, 0, 0, 0,
    ]);
  });

  it('is up to date only when every field the operator owns matches (lastConnectivityTime is not its own)', () => {
    const status = metadataStatus({
      nodes: [node('a', '2')],
      kubernetesVersion: 'v1',
      agentVersion: '1',
      identity: undefined,
    });
    const stored = { ...clusterMetadataObject(status, '5') };
    expect(upToDate(undefined, status)).toBe(false);
    expect(upToDate(stored, status)).toBe(true);
    expect(upToDate({ ...stored, status: { ...status, lastConnectivityTime: 'x' } }, status)).toBe(true);
    expect(upToDate({ ...stored, status: { ...status, coreCount: 3 } }, status)).toBe(false);
    expect(clusterMetadataObject(status, '5').metadata).toEqual({
      name: 'clustermetadata',
      resourceVersion: '5',
    });
    expect(clusterMetadataObject(status).metadata).toEqual({ name: 'clustermetadata' });
  });
});

/** An apiserver in memory: nodes, a version, the one stored resource; calls can be held or failed. */
class FakeApi implements MetadataApi {
  nodeList: KubeObject[] = [node('n0', '4'), node('n1', '4')];
  version = 'v1.30.4';
  stored: KubeObject | undefined;
  writes: KubeObject[] = [];
  reads = 0;
  versionReads = 0;
  failReads = 0;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }
  release(): void {
    this.open?.();
    this.gate = undefined;
  }
  async nodes(): Promise<KubeObject[]> {
    this.reads++;
    await this.gate;
    if (this.failReads > 0) {
      this.failReads--;
      throw new Error('connect ECONNREFUSED');
    }
    return this.nodeList;
  }
  kubernetesVersion(): Promise<string> {
    this.versionReads++;
    return Promise.resolve(this.version);
  }
  current(): Promise<KubeObject | undefined> {
    return Promise.resolve(this.stored);
  }
  write(obj: KubeObject): Promise<void> {
    const rv = String(this.writes.length + 1);
    this.writes.push(obj);
    this.stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: rv } };
    return Promise.resolve();
  }
}

const NO_CHANGE = { state: false, onboarding: false, identity: false, kube: false };
const SETTLE_MS = 1000;
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function operator(api: FakeApi, clock = new FakeClock()) {
  const { logger, lines } = captureLogger();
  const { ctx } = fakeContext(AGENT, {} as ClusterStore, logger);
  const state = clusterState(0);
  const op = new MetadataOperator(
    ctx,
    api,
    { clock, random: () => 0.5, settleMs: SETTLE_MS },
    snapshotOf(state, undefined, IDENTITY),
  );
  /** Lets the settle delay pass and the sync it starts finish. */
  const synced = async (): Promise<void> => {
    clock.advance(SETTLE_MS);
    await op.settled();
  };
  return { op, clock, lines, state, synced };
}

describe('cluster-metadata-operator', () => {
  it('writes the resource when it starts, and again only when what it reads changed', async () => {
    const api = new FakeApi();
    const { op, state, synced, clock } = operator(api);
    // Not before the settle delay: the changes of an onboarding come in a burst.
    clock.advance(SETTLE_MS - 1);
    await flush();
    expect(api.reads).toBe(0);
    await synced();
    expect(api.writes).toHaveLength(1);
    expect(api.writes[0]?.status).toMatchObject({
      nodeCount: 2,
      coreCount: 8,
      arcAgentVersion: state.agentVersion,
    });
    expect(api.writes[0]?.metadata.resourceVersion).toBeUndefined();

    // Its own write comes back as a change of the stored objects: read, nothing to write; /version is
    // not read again (only a state change moves it).
    op.update(snapshotOf(state, undefined, IDENTITY), { ...NO_CHANGE, kube: true });
    await synced();
    expect(api.writes).toHaveLength(1);
    expect([api.reads, api.versionReads]).toEqual([2, 1]);

    // A Node added through the apiserver: replaced at the stored resourceVersion.
    api.nodeList = [...api.nodeList, node('edge-1', '8')];
    op.update(snapshotOf(state, undefined, IDENTITY), { ...NO_CHANGE, kube: true });
    await synced();
    expect(api.writes).toHaveLength(2);
    expect(api.writes[1]?.status).toMatchObject({ nodeCount: 3, coreCount: 16 });
    expect(api.writes[1]?.metadata.resourceVersion).toBe('1');

    // A new agent release and Kubernetes upgrade (cluster state) and a renewed certificate (identity).
    const upgraded = { ...state, agentVersion: '1.22.0', generation: 1 };
    const renewed = { ...IDENTITY, 'azure-identity-certificate-expiration-time': '2026-07-01T00:00:00.000Z' };
    api.version = 'v1.31.1';
    op.update(snapshotOf(upgraded, undefined, renewed), { ...NO_CHANGE, state: true, identity: true });
    await synced();
    expect(api.writes[2]?.status).toMatchObject({
      arcAgentVersion: '1.22.0',
      kubernetesAPIServerVersion: 'v1.31.1',
      managedIdentityCertificateExpirationTime: '2026-07-01T00:00:00.000Z',
    });
    // An onboarding-secret change alone says nothing about the metadata.
    op.update(snapshotOf(upgraded, undefined, renewed), { ...NO_CHANGE, onboarding: true });
    await synced();
    expect(api.reads).toBe(4);
    await op.close();
  });

  it('coalesces a burst of changes into one sync; changes during a sync cause exactly one more', async () => {
    const api = new FakeApi();
    const { op, state, synced, clock } = operator(api);
    for (let i = 0; i < 5; i++)
      op.update(snapshotOf(state, undefined, IDENTITY), { ...NO_CHANGE, kube: true });
    await synced();
    expect(api.reads).toBe(1);
    api.hold();
    op.update(snapshotOf(state, undefined, IDENTITY), { ...NO_CHANGE, kube: true });
    clock.advance(SETTLE_MS);
    await flush();
    for (let i = 0; i < 5; i++)
      op.update(snapshotOf(state, undefined, IDENTITY), { ...NO_CHANGE, kube: true });
    expect(api.reads).toBe(2);
    api.release();
    await op.settled();
    await synced();
    expect(api.reads).toBe(3);
    await op.close();
  });

  it('retries a failed sync with backoff on the simulated clock, and a change ends the wait', async () => {
    const api = new FakeApi();
    api.failReads = 2;
    const { op, clock, lines, state, synced } = operator(api);
    await synced();
    expect(api.writes).toHaveLength(0);
    expect(lines.filter((l) => l['event'] === 'metadata.sync_failed').map((l) => l['level'])).toEqual([40]);
    // First retry: half of the 30 s bound (random 0.5).
    clock.advance(14_000);
    await flush();
    expect(api.reads).toBe(1);
    clock.advance(1_000);
    await op.settled();
    expect(api.reads).toBe(2);
    // The second failure in a row is logged at debug, not warn; its retry waits up to 60 s, but a change
    // is synced after the settle delay.
    expect(lines.filter((l) => l['event'] === 'metadata.sync_failed').map((l) => l['level'])).toEqual([
      40, 20,
    ]);
    op.update(snapshotOf(state, undefined, IDENTITY), { ...NO_CHANGE, state: true });
    await synced();
    expect(api.writes).toHaveLength(1);
    clock.advance(600_000);
    await op.settled();
    expect(api.reads).toBe(3);
    await op.close();
  });

  it('stops retrying once closed', async () => {
    const api = new FakeApi();
    api.failReads = 1;
    const { op, clock, synced } = operator(api);
    await synced();
    await op.close();
    clock.advance(600_000);
    await flush();
    expect(api.reads).toBe(1);
    op.update(snapshotOf(clusterState(1), undefined, IDENTITY), { ...NO_CHANGE, state: true });
    clock.advance(600_000);
    await flush();
    expect(api.reads).toBe(1);
  });
});
