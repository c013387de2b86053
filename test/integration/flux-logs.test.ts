/**
 * flux-logs-agent end to end: config-agent (the emulated Flux controllers) logs each reconcile, the real
 * flux-logs-agent ships the lines over its own NATS link (through the egress gateway) and the hub keeps
 * them in JetStream; a user reads them per cluster and configuration through the hub API and the CLI.
 * An apply error is the same text in the log and in the configuration's `statuses[]`. Lines written
 * while flux-logs-agent is stopped and its cluster cut off arrive after, none lost, none twice.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type FleetHandle } from '../../fleet/index.js';
import type { ClusterState, FluxLogEntry } from '../../contract/index.js';
import { fluxLogPath } from '../../agent-runtime/flux-log.js';
import { ENV } from '../../platform/settings.js';
import { metricValue } from '../helpers/arm.js';
import { FAST_TIMINGS } from '../helpers/fleet.js';
import { DIST_DIR } from '../helpers/paths.js';
import { waitFor } from '../helpers/wait.js';
import { postChaos } from '../helpers/chaos.js';

const run = promisify(execFile);
const CLI = join(DIST_DIR, 'cli', 'main.js');
const CONFIG_API = '2024-11-01';
const FAULT = 'accumulating resources: path ./apps not found';

let dataDir: string;
let fleet: FleetHandle;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'arcfleet-flux-logs-'));
  fleet = await startFleet({
    dataDir,
    clusters: 2,
    timeScale: 60,
    env: {
      ...FAST_TIMINGS,
      [ENV.configPullInterval]: '1m',
      [ENV.fluxLogsInterval]: '500',
    },
  });
  await fleet.waitAllConnected({ timeoutMs: 60_000 });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function cluster(i: number): ClusterState {
  const c = fleet.clusters[i];
  if (!c) throw new Error(`no cluster ${i}`);
  return c;
}

const fluxPath = (i: number, name: string): string =>
  `${fleet.client.clusterPath(cluster(i))}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations/${name}`;

/** What the test reads of a Flux configuration. */
interface FluxProperties {
  complianceState?: string;
  errorMessage?: string | null;
  statuses?: { kind: string; statusConditions: { message: string }[] }[];
}

async function arm(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: { properties?: FluxProperties; error?: { code: string } } }> {
  const auth = await fleet.client.authHeaders();
  const res = await fetch(`${fleet.hubUrl}${path}?api-version=${CONFIG_API}`, {
    method,
    headers: body === undefined ? auth : { 'content-type': 'application/json', ...auth },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? {} : (JSON.parse(text) as { properties?: FluxProperties }),
  };
}

const fluxBody = (branch: string): object => ({
  properties: {
    scope: 'cluster',
    namespace: 'apps',
    sourceKind: 'GitRepository',
    gitRepository: { url: 'https://github.com/contoso/apps', repositoryRef: { branch } },
    kustomizations: { apps: { path: './apps', prune: true } },
  },
});

async function waitCompliance(i: number, name: string, state: string): Promise<FluxProperties> {
  const r = await waitFor(() => arm('GET', fluxPath(i, name)), {
    until: (x) => x.status === 200 && x.body.properties?.complianceState === state,
    timeoutMs: 30_000,
    message: `${name} ${state}`,
  });
  return r.body.properties ?? {};
}

const logs = (i: number, q: { configuration?: string; errorsOnly?: boolean; tail?: number } = {}) =>
  fleet.client.fluxLogs(cluster(i), q);

/** `arcfleet cluster flux-logs` of cluster i, as a user runs it; its standard output. */
async function fluxLogsCli(i: number, ...args: string[]): Promise<string> {
  const cmd = [CLI, 'cluster', 'flux-logs', cluster(i).name, '--data-dir', dataDir, ...args];
  return (await run(process.execPath, cmd)).stdout;
}

function setFault(i: number, fluxApply: string | undefined): Promise<unknown> {
  return fleet.store.updateState(cluster(i).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
    ...s,
    faults: fluxApply === undefined ? {} : { fluxApply },
  }));
}

function setStopped(i: number, stoppedAgents: ClusterState['stoppedAgents']): Promise<unknown> {
  return fleet.store.updateState(cluster(i).name, new Date(fleet.clock.now()).toISOString(), (s) => ({
    ...s,
    stoppedAgents,
  }));
}

/** flux-logs requests flux-logs-agent sent that got no answer (its /metrics). */
async function failedShipments(): Promise<number> {
  const targets = JSON.parse(await readFile(fleet.targetsFile, 'utf8')) as {
    targets: string[];
    labels: { service: string };
  }[];
  const agent = targets.find((t) => t.labels.service === 'flux-logs-agent');
  if (!agent) throw new Error('flux-logs-agent is not among the scrape targets');
  const text = await (await fetch(`http://${agent.targets[0] ?? ''}/metrics`)).text();
  return metricValue(text, 'arcfleet_agent_messages_failed_total', { kind: 'flux-logs' });
}

const chaos = (body: object): Promise<void> => postChaos(fleet.egressApiUrl, body);

/** Every entry number in the cluster's Flux log file (what the controllers wrote). */
async function writtenSeqs(i: number): Promise<number[]> {
  const text = await readFile(fluxLogPath(fleet.store.dir(cluster(i).name)), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as FluxLogEntry).seq);
}

describe('flux-logs-agent', () => {
  it('ships the controllers’ reconcile logs, read per configuration through the hub API and the CLI', async () => {
    expect((await arm('PUT', fluxPath(0, 'apps'), fluxBody('main'))).status).toBeLessThan(300);
    expect((await arm('PUT', fluxPath(0, 'infra'), fluxBody('infra'))).status).toBeLessThan(300);
    await waitCompliance(0, 'apps', 'Compliant');
    const entries = await waitFor(() => logs(0, { configuration: 'apps' }), {
      until: (e) =>
        e.some((x) => x.controller === 'source-controller' && x.msg.startsWith('stored artifact')) &&
        e.some((x) => x.controller === 'kustomize-controller' && x.msg.startsWith('Reconciliation finished')),
      timeoutMs: 30_000,
      message: 'source-controller and kustomize-controller lines of apps',
    });
    expect(entries.every((e) => e.configuration === 'apps')).toBe(true);
    expect(entries.find((e) => e.kind === 'Kustomization')).toMatchObject({
      namespace: 'apps',
      name: 'apps-apps',
      level: 'info',
    });
    expect(entries.find((e) => e.kind === 'GitRepository')?.revision).toMatch(/^main@sha1:[0-9a-f]{40}$/);
    await waitFor(() => logs(0, { configuration: 'infra' }), {
      until: (e) => e.length > 0,
      timeoutMs: 30_000,
      message: 'infra lines',
    });
    const all = await logs(0);
    expect(new Set(all.map((e) => e.configuration))).toEqual(new Set(['apps', 'infra']));
    expect(await logs(1)).toEqual([]);

    const stdout = await fluxLogsCli(0, '--configuration', 'apps', '--tail', '3');
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines)
      expect(line).toMatch(
        / (source|kustomize)-controller (GitRepository|Kustomization)\/apps\/.* \[apps\] /,
      );
  });

  it('logs an apply error with the text the configuration’s statuses[] carry', async () => {
    await setFault(0, FAULT);
    const broken = await waitCompliance(0, 'apps', 'Non-Compliant');
    const kustomization = broken.statuses?.find((s) => s.kind === 'Kustomization');
    const conditionMessage = kustomization?.statusConditions[0]?.message ?? '';
    expect(conditionMessage).toContain(FAULT);
    const errors = await waitFor(() => logs(0, { configuration: 'apps', errorsOnly: true }), {
      until: (e) => e.length > 0,
      timeoutMs: 30_000,
      message: 'an error line',
    });
    expect(errors.every((e) => e.level === 'error')).toBe(true);
    expect(errors.at(-1)).toMatchObject({ controller: 'kustomize-controller', error: conditionMessage });
    expect(errors.at(-1)?.msg).toMatch(/^Reconciliation failed after \S+, next try in 10m0s$/);
    expect(broken.errorMessage).toContain(FAULT);

    const stdout = await fluxLogsCli(0, '--errors');
    expect(stdout).toContain(
      `ERROR kustomize-controller Kustomization/apps/apps-apps [apps] Reconciliation failed`,
    );
    expect(stdout).toContain(FAULT);
    await setFault(0, undefined);
    await waitCompliance(0, 'apps', 'Compliant');
  });

  /** Flips the fault on and off: two reconciles' worth of lines, written whether or not they ship. */
  async function reconcileTwice(): Promise<void> {
    await setFault(0, FAULT);
    await waitCompliance(0, 'apps', 'Non-Compliant');
    await setFault(0, undefined);
    await waitCompliance(0, 'apps', 'Compliant');
  }

  /** Every entry the controllers wrote is at the hub exactly once, in order. */
  async function allShipped(): Promise<void> {
    const last = Math.max(...(await writtenSeqs(0)));
    const shipped = await waitFor(() => logs(0, { tail: 5000 }), {
      until: (e) => e.some((x) => x.seq >= last),
      timeoutMs: 30_000,
      message: `entries up to ${last} shipped`,
    });
    const seqs = shipped.map((e) => e.seq).filter((s) => s <= last);
    expect(seqs).toEqual(Array.from({ length: last }, (_, k) => k + 1));
  }

  it('loses nothing and repeats nothing across a restart of the agent', async () => {
    await setStopped(0, ['flux-logs-agent']);
    await waitFor(() => fleet.store.readAgentStatuses(cluster(0).name), {
      until: (r) => !r.statuses.some((s) => s.agent === 'flux-logs-agent'),
      timeoutMs: 10_000,
      message: 'flux-logs-agent stopped for the cluster',
    });
    const before = Math.max(...(await writtenSeqs(0)));
    await reconcileTwice();
    expect(Math.max(...(await writtenSeqs(0)))).toBeGreaterThan(before);
    await setStopped(0, []);
    await allShipped();
  });

  it('loses nothing and repeats nothing across a cut of its link', async () => {
    await chaos({
      action: 'cut',
      targets: { clusters: [cluster(0).name] },
      agents: ['flux-logs-agent'],
      mode: 'drop',
    });
    const before = (await logs(0, { tail: 5000 })).at(-1)?.seq ?? 0;
    await reconcileTwice();
    // The shipper tries and its requests go unanswered, while config-agent, not cut, goes on reconciling.
    const failed = await failedShipments();
    await waitFor(failedShipments, {
      until: (n) => n > failed,
      timeoutMs: 20_000,
      message: 'a flux-logs request unanswered while cut',
    });
    expect((await logs(0, { tail: 5000 })).at(-1)?.seq ?? 0).toBe(before);
    await chaos({ action: 'restore', targets: { clusters: [cluster(0).name] } });
    await allShipped();
  });

  it('answers ARM-shaped errors for a bad query and an unknown cluster', async () => {
    const auth = await fleet.client.authHeaders();
    const base = `${fleet.hubUrl}/arcfleet/v1/subscriptions/${cluster(0).subscriptionId}/resourceGroups/${cluster(0).resourceGroup}/connectedClusters`;
    const bad = await fetch(`${base}/${cluster(0).name}/fluxLogs?tail=0`, { headers: auth });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: unknown }).error).toMatchObject({ code: 'InvalidParameter' });
    const missing = await fetch(`${base}/no-such-cluster/fluxLogs`, { headers: auth });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: unknown }).error).toMatchObject({ code: 'ResourceNotFound' });
  });
});
