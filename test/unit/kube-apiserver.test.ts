// The emulated apiserver's pure parts: selectors, store semantics, derived objects from a cluster
// store in a temporary directory, and the persistence round trip. No network.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClusterState,
  KUBE_RESOURCES,
  resourceForKind,
  type KubeResource,
} from '../../contract/index.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { createLogger } from '../../platform/log.js';
import { KubeClusters } from '../../services/kube-apiserver/clusters.js';
import { derivedObjects, type DerivedInput } from '../../services/kube-apiserver/derived.js';
import { withLastConnectivity } from '../../services/kube-apiserver/derived-arc-config.js';
import type { DerivedConnectivity } from '../../services/kube-apiserver/derived-meta.js';
import { ClusterObjects } from '../../services/kube-apiserver/object-store.js';
import { jsonPatch, mergePatch } from '../../services/kube-apiserver/patch.js';
import { CoalescingWriter } from '../../services/kube-apiserver/persistence.js';
import { parseRoute } from '../../services/kube-apiserver/routes.js';
import {
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '../../services/kube-apiserver/selectors.js';
import { KubeStatusError } from '../../services/kube-apiserver/status.js';
import { validateObject } from '../../services/kube-apiserver/validate.js';
import { clusterState, nodePool } from '../helpers/fixtures.js';

function res(apiVersion: string, kind: string): KubeResource {
  const r = resourceForKind(apiVersion, kind);
  if (!r) throw new Error(`no resource ${kind}`);
  return r;
}
const CM = res('v1', 'ConfigMap');
const NS = res('v1', 'Namespace');

function cm(name: string, namespace = 'default', labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, ...(labels ? { labels } : {}) },
    data: { a: '1' },
  };
}

function state(name: string, over: Partial<ClusterState> = {}): ClusterState {
  return clusterState(name, {
    nodePools: [
      nodePool({ name: 'sys', nodeImageVersion: 'img-1', count: 2 }),
      nodePool({
        name: 'win',
        vmSize: 'Standard_D8ps_v5',
        osType: 'Windows',
        osSku: 'Windows2022',
        nodeImageVersion: 'img-w',
        count: 1,
        coresPerNode: 8,
      }),
    ],
    ...over,
  });
}

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };
  it.each([
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web, db)', true],
    ['app notin (web,db)', false],
    ['missing notin (a)', true],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['env in (prod),!missing,tier', true],
    ['', true],
  ])('%s → %s', (sel, expected) => {
    expect(matchesLabels(parseLabelSelector(sel), labels)).toBe(expected);
  });

  it('rejects bad syntax with a 400 Status', () => {
    for (const bad of ['app=web,', 'a b=c', 'app=(x', 'in (a)=']) {
      const err = (() => {
        try {
          parseLabelSelector(bad);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, bad).toBeInstanceOf(KubeStatusError);
      expect((err as KubeStatusError).status).toBe(400);
    }
  });

  it('field selectors support metadata.name and metadata.namespace only', () => {
    expect(parseFieldSelector('metadata.name=x,metadata.namespace!=y')).toEqual([
      { field: 'metadata.name', op: '=', value: 'x' },
      { field: 'metadata.namespace', op: '!=', value: 'y' },
    ]);
    expect(() => parseFieldSelector('spec.nodeName=n1')).toThrow(/not supported/);
  });
});

describe('ClusterObjects', () => {
  it('counts resourceVersion per cluster, conflicts on a stale one, keeps uid and bumps generation on spec change', () => {
    const store = new ClusterObjects(() => 1_700_000_000_000);
    const a = store.create(CM, cm('a'));
    const b = store.create(CM, cm('b', 'other'));
    expect([a.metadata.resourceVersion, b.metadata.resourceVersion]).toEqual(['1', '2']);
    expect(a.metadata.creationTimestamp).toBe('2023-11-14T22:13:20Z');
    expect(() => store.create(CM, cm('a'))).toThrow(/already exists/);
    const updated = store.update(CM, { ...a, data: { a: '2' } });
    expect(updated.metadata.resourceVersion).toBe('3');
    expect(updated.metadata.uid).toBe(a.metadata.uid);
    expect(updated.metadata.generation).toBe(2);
    const err = (() => {
      try {
        store.update(CM, { ...a, data: { a: '3' } });
      } catch (e) {
        return e as KubeStatusError;
      }
      return undefined;
    })();
    expect(err?.reason).toBe('Conflict');
    expect(err?.status).toBe(409);
    // No resourceVersion: an unconditional update, as Kubernetes allows for these kinds.
    const { resourceVersion: _rv, ...meta } = updated.metadata;
    expect(store.update(CM, { ...updated, metadata: meta }).metadata.resourceVersion).toBe('4');
    expect(store.list(CM).map((o) => o.metadata.name)).toEqual(['a', 'b']);
    expect(store.list(CM, 'other').map((o) => o.metadata.name)).toEqual(['b']);
  });

  it('deleting a namespace deletes its objects and emits DELETED for each', () => {
    const store = new ClusterObjects(() => 0);
    store.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    store.create(CM, cm('x', 'team'));
    store.create(CM, cm('y', 'team'));
    store.create(CM, cm('z', 'default'));
    const events: string[] = [];
    store.subscribe((e) => events.push(`${e.type} ${e.resource} ${e.object.metadata.name}`));
    store.delete(
      NS,
      undefined,
      'team',
      KUBE_RESOURCES.filter((r) => r.namespaced),
    );
    expect(store.list(CM).map((o) => o.metadata.name)).toEqual(['z']);
    expect(events).toEqual(['DELETED /configmaps x', 'DELETED /configmaps y', 'DELETED /namespaces team']);
    expect(store.since(0)?.length).toBe(7);
  });

  it('round-trips through a snapshot', () => {
    const store = new ClusterObjects(() => 0);
    store.create(CM, cm('a'));
    store.create(res('kustomize.toolkit.fluxcd.io/v1', 'Kustomization'), {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'k', namespace: 'flux-system' },
      spec: { path: './' },
    });
    const copy = new ClusterObjects(() => 0, JSON.parse(JSON.stringify(store.snapshot())));
    expect(copy.resourceVersion).toBe(2);
    expect(copy.get(CM, 'default', 'a')?.data).toEqual({ a: '1' });
    expect(copy.count()).toBe(2);
    expect(copy.create(CM, cm('b')).metadata.resourceVersion).toBe('3');
  });
});

describe('validation and patches', () => {
  it('names the missing field and checks the URL', () => {
    expect(() => validateObject(CM, { metadata: {} }, { namespace: 'default' })).toThrow(/metadata.name/);
    expect(() =>
      validateObject(CM, { apiVersion: 'apps/v1', metadata: { name: 'x' } }, { namespace: 'd' }),
    ).toThrow(/API version/);
    expect(() => validateObject(CM, { metadata: { name: 'x', namespace: 'a' } }, { namespace: 'b' })).toThrow(
      /namespace/,
    );
    expect(() => validateObject(CM, { metadata: { name: 'Bad_Name' } }, { namespace: 'd' })).toThrow(
      /RFC 1123/,
    );
    expect(() => validateObject(CM, { metadata: { name: 'x' }, data: { a: 1 } }, { namespace: 'd' })).toThrow(
      /data\[a\]/,
    );
    const dep = res('apps/v1', 'Deployment');
    expect(() => validateObject(dep, { metadata: { name: 'd' }, spec: {} }, { namespace: 'd' })).toThrow(
      /spec.selector/,
    );
    const secret = validateObject(
      res('v1', 'Secret'),
      { metadata: { name: 's' }, stringData: { k: 'v' } },
      { namespace: 'd' },
    );
    expect(secret.data).toEqual({ k: Buffer.from('v').toString('base64') });
  });

  it('merge patch and json patch', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 } })).toEqual({
      a: 1,
      b: { d: 3, e: 4 },
    });
    expect(
      jsonPatch({ a: [1, 2], b: 'x' }, [
        { op: 'add', path: '/a/-', value: 3 },
        { op: 'replace', path: '/b', value: 'y' },
        { op: 'remove', path: '/a/0' },
      ]),
    ).toEqual({ a: [2, 3], b: 'y' });
    expect(() => jsonPatch({}, [{ op: 'remove', path: '/nope' }])).toThrow(/does not exist/);
    const target = { a: { b: 1 } };
    expect(jsonPatch(target, [{ op: 'move', from: '/a/b', path: '/c' }])).toEqual({ a: {}, c: 1 });
    expect(target).toEqual({ a: { b: 1 } }); // the stored object is never mutated
  });

  it('answers a failed json patch test with 422 Invalid and a malformed one with 400 BadRequest', () => {
    const failure = (f: () => unknown): { status?: number; reason?: string } => {
      try {
        f();
      } catch (err) {
        return err as { status?: number; reason?: string };
      }
      throw new Error('no error thrown');
    };
    expect(failure(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }]))).toMatchObject({
      status: 422,
      reason: 'Invalid',
    });
    expect(failure(() => jsonPatch({ a: 1 }, [{ op: 'bogus', path: '/a' }]))).toMatchObject({
      status: 400,
      reason: 'BadRequest',
    });
    expect(failure(() => jsonPatch({ a: 1 }, { op: 'add' }))).toMatchObject({ status: 400 });
  });

  it('routes Kubernetes paths', () => {
    expect(parseRoute(['api', 'v1', 'namespaces', 'ns1', 'configmaps', 'x'])).toMatchObject({
      kind: 'resource',
      namespace: 'ns1',
      name: 'x',
      resource: { plural: 'configmaps' },
    });
    expect(parseRoute(['api', 'v1', 'namespaces', 'ns1'])).toMatchObject({
      kind: 'resource',
      name: 'ns1',
      resource: { plural: 'namespaces' },
    });
    expect(parseRoute(['apis', 'apps', 'v1', 'deployments'])).toMatchObject({
      kind: 'resource',
      resource: { plural: 'deployments' },
    });
    expect(parseRoute(['api', 'v1', 'pods', 'x'])).toEqual({ kind: 'notFound' });
    expect(parseRoute(['apis', 'nope', 'v1', 'things'])).toEqual({ kind: 'notFound' });
    expect(parseRoute(['apis'])).toEqual({ kind: 'groupList' });
  });
});

describe('derived objects', () => {
  const base = (over: Partial<DerivedInput> = {}): DerivedInput => ({
    state: state('c1'),
    createdAtMs: 1_000,
    nowMs: 100_000,
    ...over,
  });

  it('nodes from node pools with Arc/AKS labels and capacity', () => {
    const nodes = derivedObjects('/nodes', base());
    expect(nodes).toHaveLength(3);
    const win = nodes.find((n) => n.metadata.labels?.['kubernetes.azure.com/agentpool'] === 'win');
    expect(win?.metadata.labels).toMatchObject({
      'kubernetes.io/os': 'windows',
      'kubernetes.io/arch': 'arm64',
      'node.kubernetes.io/instance-type': 'Standard_D8ps_v5',
      'kubernetes.azure.com/os-sku': 'Windows2022',
      'kubernetes.azure.com/node-image-version': 'img-w',
    });
    expect(win?.status).toMatchObject({
      capacity: { cpu: '8' },
      nodeInfo: { kubeletVersion: 'v1.30.4', operatingSystem: 'windows' },
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    // Stable while nothing changes, including as time passes.
    expect(derivedObjects('/nodes', base({ nowMs: 999_999 }))).toEqual(nodes);
  });

  it('identity secret only with the identity file', () => {
    expect(derivedObjects('/secrets', base())).toEqual([]);
    const identity = {
      certificate: 'CERT',
      'azure-identity-certificate-expiration-time': '2026-04-01T00:00:00.000Z',
      issuedAt: '2026-01-01T00:00:00.000Z',
      state: 'Valid' as const,
    };
    const [secret] = derivedObjects('/secrets', base({ identity }));
    const data = secret?.data as Record<string, string>;
    expect(Buffer.from(data['azure-identity-certificate-expiration-time'] ?? '', 'base64').toString()).toBe(
      '2026-04-01T00:00:00.000Z',
    );
    // clustermetadata is cluster-metadata-operator's to write, not derived.
    expect(derivedObjects('arc.azure.com/connectedclusters', base({ identity }))).toEqual([]);
    const [config] = derivedObjects('/configmaps', base());
    expect(config?.data).toMatchObject({
      AZURE_ARC_AUTOUPDATE: 'true',
      CLUSTER_TYPE: 'ConnectedClusters',
      AZURE_RESOURCE_NAME: 'c1',
    });
  });

  it('clustermetadata lastConnectivityTime: the latest heartbeat tick while the link is up, the last contact after', () => {
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    const min = 60_000;
    // As cluster-metadata-operator stored it; a lastConnectivityTime written by anyone is not served.
    const stored = {
      apiVersion: 'arc.azure.com/v1beta1',
      kind: 'ConnectedCluster',
      metadata: { name: 'clustermetadata' },
      status: { nodeCount: 3, lastConnectivityTime: '2020-01-01T00:00:00.000Z' },
    };
    const metaOf = (connectivity: DerivedConnectivity) =>
      (withLastConnectivity(stored, connectivity).status ?? {}) as Record<string, unknown>;
    // Never linked: no field (the real resource has none before the first contact).
    expect(metaOf({ record: undefined, untilMs: t0 })).not.toHaveProperty('lastConnectivityTime');
    expect(metaOf({ record: undefined, untilMs: t0 })).toMatchObject({ nodeCount: 3 });
    // Another object is served as stored.
    const other = { ...stored, metadata: { name: 'other' } };
    expect(withLastConnectivity(other, { record: undefined, untilMs: t0 })).toBe(other);
    const up = { upSinceMs: t0, lastContactMs: t0, heartbeatIntervalMs: 5 * min };
    // Up for 12 minutes with a 5-minute interval: the heartbeat at minute 10 is the latest.
    expect(metaOf({ record: up, untilMs: t0 + 12 * min }).lastConnectivityTime).toBe(
      '2026-01-01T00:10:00.000Z',
    );
    // The link went down after the heartbeat at minute 20: that time stays, however late it is read.
    const down = { ...up, upSinceMs: null, lastContactMs: t0 + 20 * min };
    expect(metaOf({ record: down, untilMs: t0 + 90 * min }).lastConnectivityTime).toBe(
      '2026-01-01T00:20:00.000Z',
    );
  });
});

describe('clusters from a store on disk', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('serves new clusters at once, persists durably, reloads, and forgets removed clusters', async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-unit-'));
    const store = new ClusterStore(dir);
    const opts = {
      store,
      persistIntervalMs: 20,
      pollIntervalMs: 1000,
      staleAfterMs: 6000,
      logger: createLogger('test', 'silent'),
    };
    const clusters = new KubeClusters(opts);
    expect(await clusters.resolve('c1')).toBeUndefined();
    await store.writeState(state('c1'));
    const h = await clusters.resolve('c1');
    expect(h).toBeDefined();
    expect((await h?.derived('/nodes'))?.length).toBe(3);
    await store.writeIdentity('c1', {
      certificate: 'C',
      'azure-identity-certificate-expiration-time': '2026-04-01T00:00:00.000Z',
      issuedAt: '2026-01-01T00:00:00.000Z',
      state: 'Valid',
    });
    expect((await h?.derived('/secrets'))?.map((s) => s.metadata.name)).toEqual([
      'azure-identity-certificate',
    ]);
    h?.objects.create(CM, cm('kept'));
    await h?.persist();
    const file = JSON.parse(await readFile(join(dir, 'clusters', 'c1', 'kube', 'objects.json'), 'utf8')) as {
      objects: KubeObject[];
    };
    expect(file.objects.map((o) => o.metadata.name)).toEqual(['kept']);
    const again = await new KubeClusters(opts).resolve('c1');
    expect(again?.objects.get(CM, 'default', 'kept')?.data).toEqual({ a: '1' });
    await store.remove('c1');
    expect(await clusters.resolve('c1')).toBeUndefined();
    expect(h?.isClosed).toBe(true);
    expect(clusters.stats().clustersLoaded).toBe(0);
  });

  it('coalesces a burst of write requests into few writes', async () => {
    let writes = 0;
    const writer = new CoalescingWriter(30, async () => {
      writes++;
      await new Promise((r) => setTimeout(r, 5));
    });
    await Promise.all(Array.from({ length: 100 }, () => writer.request()));
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(2);
    expect(writer.pending).toBe(false);
  });
});
