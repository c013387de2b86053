/**
 * config-agent's Flux v1 reconciler against a real emulated apiserver (in-process, real HTTP): each
 * step of the legacy compliance flow, pull by pull, which the fleet test can only sample.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { KubeClient } from '../../agent-runtime/kube-client.js';
import type { ClusterState, DesiredSourceControl } from '../../contract/index.js';
import { FakeClock } from '../../platform/clock.js';
import { createLogger } from '../../platform/log.js';
import { FluxV1Reconciler, operatorArgs } from '../../services/config-agent/flux-v1-reconciler.js';
import { buildKubeApi } from '../../services/kube-apiserver/api.js';
import { KubeClusters } from '../../services/kube-apiserver/clusters.js';
import { createKubeApiMetrics } from '../../services/kube-apiserver/metrics.js';
import { WatchRegistry } from '../../services/kube-apiserver/watch.js';
import { clusterState } from '../helpers/fixtures.js';

let dataDir: string;
let app: FastifyInstance;
let kube: KubeClient;
let state: ClusterState;
const clock = new FakeClock();
const logger = createLogger('test', 'silent');

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-fluxv1-'));
  const store = new ClusterStore(dataDir);
  state = clusterState('c1');
  await store.writeState(state);
  const clusters = new KubeClusters({
    store,
    persistIntervalMs: 10,
    pollIntervalMs: 1000,
    staleAfterMs: 3000,
    logger,
  });
  app = buildKubeApi({
    clusters,
    metrics: createKubeApiMetrics(() => clusters.stats()),
    logger,
    ready: () => true,
    watches: new WatchRegistry(),
    watchPollIntervalMs: 1000,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  kube = KubeClient.forCluster(`http://127.0.0.1:${port}`, 'c1');
});

afterAll(async () => {
  await app?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function desired(over: Partial<DesiredSourceControl> = {}): DesiredSourceControl {
  return {
    name: 'legacy',
    repositoryUrl: 'git@github.com:contoso/flux-get-started',
    operatorNamespace: 'flux-v1',
    operatorInstanceName: 'legacy',
    operatorScope: 'namespace',
    operatorParams: '--git-readonly',
    sshKnownHostsContents: '',
    enableHelmOperator: false,
    helmOperatorProperties: null,
    configurationProtectedSettings: {},
    generation: 1,
    deleting: false,
    ...over,
  };
}

const snapshot = (faults: ClusterState['faults'] = {}): ClusterSnapshot => ({
  name: 'c1',
  state: { ...state, faults },
  onboarding: undefined,
  identity: undefined,
});

it('Installed at the pull that deploys the operator, Compliant at the next, Noncompliant on a failed sync', async () => {
  const r = new FluxV1Reconciler(kube, logger, clock);
  const [first] = await r.reconcile([desired()], snapshot());
  expect(first).toMatchObject({ complianceState: 'Installed', lastConfigApplied: null, deleted: false });
  const operator = await kube.get('apps/v1', 'Deployment', 'legacy', 'flux-v1');
  const args = (operator?.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec
    .containers[0]?.args;
  expect(args).toEqual([
    '--git-url=git@github.com:contoso/flux-get-started',
    '--git-readonly',
    '--k8s-allow-namespace=flux-v1',
  ]);
  const [second] = await r.reconcile([desired({ configurationProtectedSettings: null })], snapshot());
  expect(second).toMatchObject({ complianceState: 'Compliant', messageLevel: 'Information' });
  expect(second?.lastConfigApplied).toBe(new Date(clock.now()).toISOString());
  // The generated key stays the operator's: the same public key at every pull.
  expect(second?.repositoryPublicKey).toBe(first?.repositoryPublicKey);
  expect((await kube.get('v1', 'ConfigMap', 'legacy-sync', 'flux-v1'))?.data).toMatchObject({
    branch: 'master',
  });
  const [third] = await r.reconcile([desired()], snapshot({ fluxApply: 'authentication required' }));
  expect(third).toMatchObject({ complianceState: 'Noncompliant', messageLevel: 'Error' });
  // A new generation installs again before it syncs.
  const [update] = await r.reconcile([desired({ generation: 2, enableHelmOperator: true })], snapshot());
  expect(update?.complianceState).toBe('Installed');
  expect(await kube.get('apps/v1', 'Deployment', 'legacy-helm-operator', 'flux-v1')).toBeDefined();
  const [gone] = await r.reconcile([desired({ generation: 3, deleting: true })], snapshot());
  expect(gone?.deleted).toBe(true);
  for (const d of ['legacy', 'legacy-memcached', 'legacy-helm-operator'])
    expect(await kube.get('apps/v1', 'Deployment', d, 'flux-v1'), d).toBeUndefined();
  expect(await kube.get('v1', 'Secret', 'legacy-git-deploy', 'flux-v1')).toBeUndefined();
});

it("reports the public half of the user's key, and none for an HTTPS repository", async () => {
  const r = new FluxV1Reconciler(kube, logger, clock);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const [given] = await r.reconcile(
    [
      desired({
        name: 'own-key',
        operatorInstanceName: 'own-key',
        configurationProtectedSettings: { sshPrivateKey: Buffer.from(pem).toString('base64') },
      }),
    ],
    snapshot(),
  );
  expect(given?.repositoryPublicKey).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E\S+ own-key@flux-v1$/);
  const [https] = await r.reconcile(
    [
      desired({
        name: 'https',
        operatorInstanceName: 'https',
        repositoryUrl: 'https://github.com/contoso/x',
      }),
    ],
    snapshot(),
  );
  expect(https?.repositoryPublicKey).toBe('');
  expect(await kube.get('v1', 'Secret', 'https-git-deploy', 'flux-v1')).toBeUndefined();
});

it('parses the operator arguments Flux v1 takes', () => {
  expect(operatorArgs('')).toEqual({ ok: true, args: [], branch: 'master', path: '' });
  expect(operatorArgs(' --git-branch=main  --git-path=a/b --sync-garbage-collection')).toMatchObject({
    ok: true,
    branch: 'main',
    path: 'a/b',
  });
  expect(operatorArgs('--git-readonly readonly')).toEqual({ ok: false, bad: 'readonly' });
});
