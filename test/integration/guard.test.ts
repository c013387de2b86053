/**
 * Azure RBAC end to end with the real kubectl: a cluster's azure-rbac feature deploys guard, which
 * pulls the cluster's role assignments from the hub over its own link; every request through cluster
 * connect is then authorized by them, at the cluster or a namespace, for each built-in role and a
 * custom one, and a denial is the apiserver's 403 with guard's reason. Real processes (startFleet): nats-server, hub,
 * gateway, apiserver and every agent.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import {
  BUILT_IN_ROLES,
  RBAC_DENIED_REASON,
  roleDefinitionIdOf,
  type ClusterState,
} from '../../contract/index.js';
import { objectIdOf } from '../../platform/fleet-issuer.js';
import { ENV } from '../../platform/settings.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { KUBECTL, requireKubectl } from '../helpers/kubectl.js';
import { DIST_DIR } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const CLI = join(DIST_DIR, 'cli', 'main.js');
let dataDir: string;
let fleet: FleetHandle;
let cluster: ClusterState;

beforeAll(async () => {
  await requireKubectl();
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-guard-'));
  fleet = await startFleet({
    dataDir,
    clusters: 1,
    timeScale: 60,
    env: { ...FAST_TIMINGS, [ENV.agentStatusInterval]: '200', [ENV.configPullInterval]: '1m' },
  });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
  cluster = fleet.clusters[0] as ClusterState;
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

type Verdict = 'allowed' | 'denied';

/** `arcfleet cluster <verb> <the cluster> <args>`, as a user runs it; its standard output. */
async function arcfleetCluster(verb: string, ...args: string[]): Promise<string> {
  const cmd = [CLI, 'cluster', verb, cluster.name, ...args, '--data-dir', dataDir];
  return (await run(process.execPath, cmd)).stdout;
}

/** Runs kubectl through cluster connect as `user`: denied when guard refused, else allowed. */
async function kubectlAs(user: string, ...args: string[]): Promise<{ verdict: Verdict; stderr: string }> {
  const file = join(dataDir, `${user}.kubeconfig`);
  await writeFile(file, await fleet.client.clusterUserKubeconfig(cluster, user), { mode: 0o600 });
  try {
    await run(KUBECTL, ['--kubeconfig', file, ...args]);
    return { verdict: 'allowed', stderr: '' };
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    // A 403 naming the user is the authorizer's; anything else (the emulated apiserver not serving a
    // kind, say) got past guard. Kinds the emulated apiserver does not list (rbac) go by --raw: kubectl
    // would otherwise stop at discovery, before any request.
    return { verdict: / is forbidden: User "/.test(stderr) ? 'denied' : 'allowed', stderr };
  }
}

async function assign(user: string, roleName: string, namespace?: string): Promise<string> {
  const role = BUILT_IN_ROLES.find((r) => r.roleName === roleName);
  if (!role) throw new Error(roleName);
  const name = randomUUID();
  await fleet.client.authorization.putRoleAssignment(cluster, namespace, name, {
    roleDefinitionId: roleDefinitionIdOf(cluster.subscriptionId, role.id),
    principalId: objectIdOf(user),
    principalType: 'User',
  });
  return name;
}

/** Waits until guard (which pulls on every change) decides as expected. */
async function eventually(user: string, verdict: Verdict, ...args: string[]): Promise<void> {
  await waitFor(() => kubectlAs(user, ...args), {
    until: (r) => r.verdict === verdict,
    timeoutMs: 20_000,
    message: `${user}: kubectl ${args.join(' ')} ${verdict}`,
  });
}

async function expectVerdicts(user: string, cases: Array<[Verdict, string[]]>): Promise<void> {
  for (const [verdict, args] of cases)
    expect((await kubectlAs(user, ...args)).verdict, `${user}: kubectl ${args.join(' ')}`).toBe(verdict);
}

describe('guard (Azure RBAC)', () => {
  it('is off until azure-rbac is enabled; then a user without an assignment is refused as guard refuses', async () => {
    expect((await kubectlAs('alice@contoso.com', 'get', 'pods', '-n', 'azure-arc')).verdict).toBe('allowed');
    const stdout = await arcfleetCluster('enable-features', '--features', 'azure-rbac');
    expect(stdout).toContain('azure-rbac: on');
    await waitFor(() => fleet.store.readAgentStatuses(cluster.name), {
      until: (r) => r.statuses.some((s) => s.agent === 'guard'),
      timeoutMs: 20_000,
      message: 'guard running for the cluster',
    });
    await eventually('alice@contoso.com', 'denied', 'get', 'pods', '-n', 'azure-arc');
    const { stderr } = await kubectlAs('alice@contoso.com', 'get', 'pods', '-n', 'azure-arc');
    expect(stderr).toContain(
      `Error from server (Forbidden): pods is forbidden: User "alice@contoso.com" cannot list resource "pods" in API group "" in the namespace "azure-arc": ${RBAC_DENIED_REASON}`,
    );
  });

  it('Viewer at a namespace: reads there, nothing else', async () => {
    const user = 'viewer@contoso.com';
    await assign(user, 'Azure Arc Kubernetes Viewer', 'azure-arc');
    await eventually(user, 'allowed', 'get', 'pods', '-n', 'azure-arc');
    await expectVerdicts(user, [
      ['allowed', ['get', 'deployments', '-n', 'azure-arc']],
      ['denied', ['get', 'secrets', '-n', 'azure-arc']],
      ['denied', ['create', 'configmap', 'viewer-cm', '-n', 'azure-arc']],
      ['denied', ['get', 'pods', '-n', 'default']],
      ['denied', ['get', 'nodes']],
    ]);
  });

  it('Writer at the cluster: writes workloads anywhere, no roles, no nodes', async () => {
    const user = 'writer@contoso.com';
    await assign(user, 'Azure Arc Kubernetes Writer');
    await eventually(user, 'allowed', 'create', 'configmap', 'writer-cm', '-n', 'default');
    await expectVerdicts(user, [
      ['allowed', ['get', 'secrets', '-n', 'azure-arc']],
      ['allowed', ['delete', 'configmap', 'writer-cm', '-n', 'default']],
      ['denied', ['get', '--raw', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles']],
      ['denied', ['get', 'nodes']],
      ['denied', ['create', 'namespace', 'writer-ns']],
    ]);
  });

  it('Admin at a namespace: roles there too, but not the namespace itself or the cluster', async () => {
    const user = 'admin@contoso.com';
    await assign(user, 'Azure Arc Kubernetes Admin', 'default');
    await eventually(
      user,
      'allowed',
      'get',
      '--raw',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles',
    );
    await expectVerdicts(user, [
      ['allowed', ['create', 'configmap', 'admin-cm', '-n', 'default']],
      ['denied', ['get', '--raw', '/apis/rbac.authorization.k8s.io/v1/namespaces/azure-arc/roles']],
      ['denied', ['delete', 'namespace', 'default']],
      ['denied', ['get', 'nodes']],
    ]);
  });

  it('Cluster Admin: anything; and a deleted assignment stops allowing', async () => {
    const user = 'root@contoso.com';
    const name = await assign(user, 'Azure Arc Kubernetes Cluster Admin');
    await eventually(user, 'allowed', 'get', 'nodes');
    await expectVerdicts(user, [
      ['allowed', ['get', 'secrets', '-A']],
      ['allowed', ['create', 'namespace', 'root-ns']],
      ['allowed', ['get', '--raw', '/apis/rbac.authorization.k8s.io/v1/clusterroles']],
    ]);
    expect(await fleet.client.authorization.deleteRoleAssignment(cluster, undefined, name)).toBe(200);
    await eventually(user, 'denied', 'get', 'nodes');
  });

  it('a custom role: what its data actions allow, less its not-data actions; an update reaches guard', async () => {
    const user = 'deployer@contoso.com';
    const K8S = 'Microsoft.Kubernetes/connectedClusters';
    const id = randomUUID();
    const define = (dataActions: string[]) =>
      fleet.client.authorization.putRoleDefinition(cluster.subscriptionId, id, {
        roleName: 'Deployment Operator',
        permissions: [
          { actions: [], notActions: [], dataActions, notDataActions: [`${K8S}/apps/deployments/delete`] },
        ],
        assignableScopes: [`/subscriptions/${cluster.subscriptionId}`],
      });
    await define([`${K8S}/apps/deployments/*`]);
    await fleet.client.authorization.putRoleAssignment(cluster, 'azure-arc', randomUUID(), {
      roleDefinitionId: roleDefinitionIdOf(cluster.subscriptionId, id),
      principalId: objectIdOf(user),
      principalType: 'User',
    });
    await eventually(user, 'allowed', 'get', 'deployments', '-n', 'azure-arc');
    await expectVerdicts(user, [
      ['denied', ['delete', 'deployment', 'no-such-deployment', '-n', 'azure-arc']],
      ['denied', ['get', 'pods', '-n', 'azure-arc']],
      ['denied', ['get', 'deployments', '-n', 'default']],
    ]);
    // Changed permissions reach guard without a new assignment (the hub nudges it to pull).
    await define([`${K8S}/apps/deployments/*`, `${K8S}/pods/read`]);
    await eventually(user, 'allowed', 'get', 'pods', '-n', 'azure-arc');
  });

  it('refuses rather than allows while guard is stopped for the cluster; disabling azure-rbac lifts the checks', async () => {
    await arcfleetCluster('stop-agents', '--agent', 'guard');
    await eventually('viewer@contoso.com', 'denied', 'get', 'pods', '-n', 'azure-arc');
    await arcfleetCluster('start-agents', '--agent', 'guard');
    await eventually('viewer@contoso.com', 'allowed', 'get', 'pods', '-n', 'azure-arc');
    await arcfleetCluster('disable-features', '--features', 'azure-rbac');
    await eventually('alice@contoso.com', 'allowed', 'get', 'pods', '-n', 'azure-arc');
  });
});
