/**
 * Agent auto-upgrade end to end, as a user drives it with the CLI against a running fleet (every
 * service a real process; the real kubectl against the emulated apiserver):
 * - `arcfleet cluster update --auto-upgrade false` pins a cluster: its resource says Disabled and its
 *   azure-clusterconfig says AZURE_ARC_AUTOUPDATE false;
 * - `arcfleet release publish` ships new minors; every other cluster's config-agent finds them on its
 *   check and upgrades: agentVersion and systemComponents[].currentVersion change, the azure-arc
 *   Deployments roll onto the new image, the rollout gauge counts them;
 * - the pinned cluster falls more than N-2 minors behind: out of support in agentErrors, the metric,
 *   `arcfleet release list` and `arcfleet list`; `arcfleet cluster upgrade --agent-version` moves it;
 * - an injected upgrade failure is rolled back and reported in agentErrors; once cleared, it upgrades;
 * - extensions follow their own releases: a version published for a type reaches the extensions with
 *   autoUpgradeMinorVersion, not a pinned one, and currentVersion says what is installed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import { DEFAULT_AGENT_VERSION, generateFleet } from '../../fleet/generator.js';
import type { ClusterState, ConnectedCluster } from '../../contract/index.js';
import { ENV } from '../../platform/settings.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { KUBECTL, requireKubectl } from '../helpers/kubectl.js';
import { metricValue } from '../helpers/arm.js';
import { DIST_DIR } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
const EXT_API = '2023-05-01';
const CLI = join(DIST_DIR, 'cli', 'main.js');
let dataDir: string;
let fleet: FleetHandle;
let pinned: ClusterState;
let others: ClusterState[];

beforeAll(async () => {
  await requireKubectl();
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-upgrade-'));
  fleet = await startFleet({
    dataDir,
    // Every cluster at the latest release, auto-upgrading (a generated fleet pins those behind it).
    clusterStates: generateFleet({ count: 4, seed: 1, nowIso: new Date().toISOString() }).map((c) => ({
      ...c,
      agentVersion: DEFAULT_AGENT_VERSION,
      autoUpdate: true,
    })),
    timeScale: 60,
    env: {
      ...FAST_TIMINGS,
      [ENV.agentStatusInterval]: '200',
      // Checks every 20 simulated minutes (20 s here) instead of hourly; the cadence off, so that
      // only the releases this test publishes appear.
      [ENV.upgradeCheckInterval]: '20m',
      [ENV.agentReleaseCadence]: 'off',
      // Extensions: pulled every 2 and checked for a newer minor every 10 simulated minutes.
      [ENV.configPullInterval]: '2m',
      [ENV.extensionUpgradeInterval]: '10m',
    },
  });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
  [pinned, ...others] = fleet.clusters as [ClusterState, ...ClusterState[]];
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function arcfleet(...args: string[]): Promise<string> {
  return (await run(process.execPath, [CLI, ...args, '--data-dir', dataDir])).stdout;
}

async function kubectl(cluster: string, ...args: string[]): Promise<string> {
  const server = `${fleet.kubeApiserverUrl}/clusters/${encodeURIComponent(cluster)}`;
  return (await run(KUBECTL, ['--server', server, '--token', 'in-cluster', ...args])).stdout;
}

/** The cluster's azure-clusterconfig ConfigMap data, as kubectl shows it. */
async function clusterConfig(c: ClusterState): Promise<Record<string, string>> {
  const json = await kubectl(
    c.name,
    'get',
    'configmap',
    'azure-clusterconfig',
    '-n',
    'azure-arc',
    '-o',
    'json',
  );
  return (JSON.parse(json) as { data: Record<string, string> }).data;
}

const resource = (c: ClusterState): Promise<ConnectedCluster> => fleet.client.getCluster(c);

function profile(r: ConnectedCluster): Record<string, unknown> {
  return (r.properties.arcAgentProfile ?? {}) as Record<string, unknown>;
}

/** Waits until every one of `clusters` reports `version` to the hub (metadata and agent health). */
async function reported(
  clusters: readonly ClusterState[],
  version: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(() => Promise.all(clusters.map(resource)), {
    until: (rs) =>
      rs.every(
        (r) =>
          r.properties.agentVersion === version &&
          ((profile(r)['systemComponents'] ?? []) as Array<{ currentVersion: string | null }>).every(
            (c) => c.currentVersion === version,
          ),
      ),
    timeoutMs,
    message: `${clusters.map((c) => c.name).join(', ')} at ${version}`,
  });
}

async function metrics(): Promise<string> {
  const res = await fetch(`${fleet.pageUrl}/metrics`);
  return res.text();
}

describe('agent releases and auto-upgrade', () => {
  it('pins a cluster with `cluster update --auto-upgrade false`: the resource and the Helm value follow', async () => {
    const out = await arcfleet('cluster', 'update', pinned.name, '--auto-upgrade', 'false');
    expect(out).toContain('agentAutoUpgrade Disabled');
    expect(profile(await resource(pinned))['agentAutoUpgrade']).toBe('Disabled');
    await waitFor(() => clusterConfig(pinned), {
      until: (data) => data['AZURE_ARC_AUTOUPDATE'] === 'false',
      timeoutMs: 20_000,
      message: 'AZURE_ARC_AUTOUPDATE false',
    });
    expect((await clusterConfig(others[0]!))['AZURE_ARC_AUTOUPDATE']).toBe('true');
  });

  it('rolls three published minors out to every unpinned cluster; the pinned one stays and falls out of support', async () => {
    const before = (await resource(pinned)).properties.agentVersion as string;
    for (const v of ['1.22.0', '1.23.0', '1.24.0'])
      expect(await arcfleet('release', 'publish', '--version', v)).toContain(`agent version ${v} released`);
    await reported(others, '1.24.0');
    // The Deployments rolled: every azure-arc pod of an upgraded cluster runs the new image.
    const pods = JSON.parse(
      await kubectl(others[0]!.name, 'get', 'pods', '-n', 'azure-arc', '-o', 'json'),
    ) as {
      items: Array<{ spec: { containers: Array<{ name: string; image: string }> } }>;
    };
    const images = pods.items.flatMap((p) => p.spec.containers.filter((c) => c.name !== 'fluent-bit'));
    expect(images.length).toBeGreaterThan(5);
    for (const c of images) expect(c.image).toMatch(/:1\.24\.0$/);
    expect((await clusterConfig(others[0]!))['AZURE_ARC_AGENT_VERSION']).toBe('1.24.0');

    // The pinned cluster did not move, and is now more than N-2 minors behind.
    const p = await resource(pinned);
    expect(p.properties.agentVersion).toBe(before);
    const errors = (profile(p)['agentErrors'] ?? []) as Array<{ message: string; severity: string }>;
    expect(errors.map((e) => e.message)).toContainEqual(
      expect.stringMatching(new RegExp(`^Agent version ${before.replace(/\./g, '\\.')} is out of support`)),
    );
    const text = await metrics();
    expect(metricValue(text, 'arcfleet_hub_clusters_by_agent_version', { version: '1.24.0' })).toBe(
      others.length,
    );
    expect(metricValue(text, 'arcfleet_hub_clusters_agent_out_of_support', {})).toBe(1);
    const list = await arcfleet('list');
    expect(list).toContain(`${before} (out of support)`);
    const releases = await arcfleet('release', 'list');
    expect(releases).toMatch(
      /latest 1\.24\.0; supported: 1\.22 and newer \(N-2\); 1 cluster\(s\) out of support/,
    );
  });

  it('`cluster upgrade --agent-version` moves the pinned cluster at once, and refuses while auto-upgrade is on', async () => {
    await expect(
      arcfleet('cluster', 'upgrade', others[0]!.name, '--agent-version', '1.23.0'),
    ).rejects.toThrow(/has auto-upgrade enabled/);
    expect(await arcfleet('cluster', 'upgrade', pinned.name, '--agent-version', '1.24.0')).toContain(
      'desiredAgentVersion 1.24.0',
    );
    // Told at once (the hub's upgrade-check control), not at the next 20-minute check.
    await reported([pinned], '1.24.0', 15_000);
    expect(profile(await resource(pinned))['agentErrors']).toEqual([]);
  });

  it('an upgrade that fails is rolled back and reported; once the fault is cleared it goes through', async () => {
    const [failing, ...rest] = others as [ClusterState, ...ClusterState[]];
    await arcfleet(
      'cluster',
      'fault',
      failing.name,
      '--agent-upgrade',
      'Error: UPGRADE FAILED: timed out waiting for the condition',
    );
    await arcfleet('release', 'publish', '--patch');
    await reported(rest, '1.24.1');
    const r = await waitFor(() => resource(failing), {
      until: (x) => ((profile(x)['agentErrors'] ?? []) as unknown[]).length > 0,
      timeoutMs: 30_000,
      message: 'the failed upgrade in agentErrors',
    });
    expect(r.properties.agentVersion).toBe('1.24.0');
    expect(profile(r)['agentErrors']).toContainEqual(
      expect.objectContaining({
        component: 'config-agent',
        severity: 'Error',
        message:
          'Helm upgrade of the azure-arc release to 1.24.1 failed and was rolled back to 1.24.0: Error: UPGRADE FAILED: timed out waiting for the condition',
      }),
    );
    await arcfleet('cluster', 'fault', failing.name, '--clear');
    await reported([failing], '1.24.1');
    expect(profile(await resource(failing))['agentErrors']).toEqual([]);
  });

  it('extensions follow their own releases: auto-upgrading ones move to a published minor, pinned ones stay', async () => {
    const type = 'microsoft.contoso.sample';
    const extPath = (c: ClusterState) =>
      `${fleet.client.clusterPath(c)}/providers/Microsoft.KubernetesConfiguration/extensions/sample`;
    const props = async (c: ClusterState): Promise<Record<string, unknown>> => {
      const r = await fleet.client
        .arm<{ properties: Record<string, unknown> }>('GET', extPath(c), EXT_API)
        .catch(() => undefined);
      return r?.body?.properties ?? {};
    };
    const [auto] = others as [ClusterState];
    await fleet.client.arm('PUT', extPath(auto), EXT_API, { properties: { extensionType: type } });
    await fleet.client.arm('PUT', extPath(pinned), EXT_API, {
      properties: { extensionType: type, autoUpgradeMinorVersion: false, version: '0.1.0' },
    });
    const installed = (c: ClusterState, version: string) =>
      waitFor(() => props(c), {
        until: (p) => p['provisioningState'] === 'Succeeded' && p['currentVersion'] === version,
        timeoutMs: 60_000,
        message: `${type} ${version} on ${c.name}`,
      });
    await installed(auto, '0.2.0');
    await installed(pinned, '0.1.0');

    expect(await arcfleet('release', 'publish', '--extension-type', type, '--minor')).toContain(
      `${type} 0.3.0 released on Stable`,
    );
    expect(await arcfleet('release', 'list', '--extension-type', type)).toContain(
      'Stable: 0.1.0, 0.2.0, 0.3.0',
    );
    await installed(auto, '0.3.0');
    expect((await props(pinned))['currentVersion']).toBe('0.1.0');
    // A published version can be pinned to at once.
    await fleet.client.arm('PATCH', extPath(pinned), EXT_API, { properties: { version: '0.3.0' } });
    await installed(pinned, '0.3.0');
  });
});
