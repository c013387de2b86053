/**
 * Starts a whole fleet from the component table, as a short sequence of named steps:
 *
 *   plan → clean the data dir → broker trust → cloud side (nats-server, hub) → cluster states → cluster side
 *   (egress gateway, kube-apiserver, agents) → scrape targets → observability → onboard → supervise
 *
 * The one launcher: `arcfleet up`, the tests, the bench and `arcfleet chaos run` all start fleets here.
 *
 *   import { startFleet } from './index.js';
 *   const fleet = await startFleet({ dataDir, clusters: 5, timeScale: 600 });
 *   await fleet.waitAllConnected({ timeoutMs: 60_000 });
 *   ...
 *   await fleet.stop();
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArcError, ERROR_CODES } from '../contract/index.js';
import { ClusterStore } from '../agent-runtime/cluster-store.js';
import { mapLimit } from '../platform/limit.js';
import { ensureBrokerFiles } from '../platform/broker-files.js';
import { ensureBrokerTls, ensureFleetTls } from '../platform/fleet-tls.js';
import { ensureFleetIssuer } from '../platform/fleet-issuer.js';
import { brokerDir, component, hubUrlOf, rowInstances, tlsDir, type ServiceName } from './components.js';
import { trustCaFile } from './trust.js';
import { fleetTokenSource, issuerDir } from './tokens.js';
import { HubClient } from './clients/hub-client.js';
import { FleetProcesses } from './fleet-processes.js';
import { createHandle, type FleetHandle } from './handle.js';
import { readFleetFile, type FleetFile } from './fleet-file.js';
import { connectCluster, createResourceGroups } from './onboard.js';
import { planFleet, type FleetPlan } from './plan.js';
import { isAlive } from './process.js';
import { writePrometheusConfig, writeTargets } from './prometheus.js';
import type { StartFleetOptions } from './options.js';

export { DEFAULT_CLUSTER_COUNT, DEFAULT_DATA_DIR, DEFAULT_TIME_SCALE } from './plan.js';

/** A fleet whose processes are still alive, from `<dataDir>/fleet.json`. */
export async function runningFleet(dataDir: string): Promise<FleetFile | undefined> {
  const file = await readFleetFile(dataDir);
  if (!file) return undefined;
  return Object.values(file.pids).some((pid) => isAlive(pid)) ? file : undefined;
}

async function refuseSecondFleet(dataDir: string): Promise<void> {
  const already = await runningFleet(dataDir);
  if (already)
    throw new ArcError(
      ERROR_CODES.Conflict,
      `a fleet is already running from ${dataDir} (hub ${already.hubUrl}); run \`arcfleet down\` first or use another --data-dir`,
      { status: 409 },
    );
}

async function cleanDataDir(plan: FleetPlan, reset: boolean): Promise<void> {
  if (reset)
    for (const entry of ['clusters', 'nats', 'broker', 'logs', 'hub', 'fleet.json'])
      await rm(join(plan.dataDir, entry), { recursive: true, force: true });
  // The data directory holds the fleet's keys, tokens, broker store and cluster Secrets: its owner's
  // alone, whatever the umask (the files in it that are secrets are 0600 besides).
  await mkdir(plan.dataDir, { recursive: true, mode: 0o700 });
  await chmod(plan.dataDir, 0o700);
  await mkdir(plan.logDir, { recursive: true });
}

/** Every running component with a /metrics endpoint, for Prometheus's file_sd. */
function scrapeTargets(plan: FleetPlan): { service: string; address: string; shard?: string }[] {
  return plan.services.flatMap((name) => {
    const row = component(name);
    const scrape = row.scrape;
    if (!scrape) return [];
    const instances = rowInstances(row, plan.addresses);
    // The service label stays the row's name (dashboards and alerts select on it); several processes
    // of one row are told apart by `shard`.
    return instances.map((i) => ({
      service: name,
      address: scrape(plan.addresses, i.index),
      ...(instances.length > 1 ? { shard: String(i.index) } : {}),
    }));
  });
}

export async function startFleet(opts: StartFleetOptions = {}): Promise<FleetHandle> {
  const log = opts.log ?? (() => undefined);
  const plan = await planFleet(opts);
  await refuseSecondFleet(plan.dataDir);
  await cleanDataDir(plan, opts.reset ?? true);

  const store = new ClusterStore(plan.dataDir);
  // One source for the fleet's own calls and the handle's tokens (one cache of the owner's token).
  const tokens = fleetTokenSource(plan.dataDir);
  const client = new HubClient(hubUrlOf(plan.addresses), { token: tokens });
  const fleet = new FleetProcesses(plan, opts, log);
  const sides = (side: string): ServiceName[] => plan.services.filter((n) => component(n).side === side);
  const startSide = async (side: string): Promise<void> => {
    for (const name of sides(side)) await fleet.start(name);
  };
  try {
    if (plan.services.includes('nats-server'))
      await ensureBrokerFiles({
        dir: brokerDir(plan.dataDir),
        nodes: plan.addresses.natsNodes.map((n, i, all) => ({
          host: '127.0.0.1',
          ...n,
          storeDir: all.length === 1 ? join(plan.dataDir, 'nats') : join(plan.dataDir, 'nats', String(i)),
        })),
        // NATS over TLS with the fleet's CA, as the hub's HTTPS (`--plain-http` turns both off).
        ...(plan.addresses.tls ? { tls: await ensureBrokerTls(tlsDir(plan.dataDir)) } : {}),
      });
    // The issuer whose tokens the hub requires on the ARM API; its key stays with the launcher and CLI.
    await ensureFleetIssuer(issuerDir(plan.dataDir));
    if (plan.addresses.tls) {
      const tls = await ensureFleetTls(tlsDir(plan.dataDir));
      // This process talks to the hub too (onboarding, waits, the tests and the bench through it).
      await trustCaFile(tls.caFile);
    }
    await startSide('cloud');
    await fleet.saveFleetFile();

    fleet.checkAborted();
    await mapLimit(plan.clusters, 32, (c) => store.writeState(c));
    await startSide('cluster');
    log(`${plan.clusters.length} clusters written to ${store.root}; agent services started`);

    const targetsFile = await writeTargets(plan.dataDir, scrapeTargets(plan));
    if (plan.services.includes('prometheus'))
      await writePrometheusConfig({
        dataDir: plan.dataDir,
        ...(opts.scrapeInterval ? { scrapeInterval: opts.scrapeInterval } : {}),
      });
    await startSide('observability');
    await fleet.saveFleetFile();

    const groups = await createResourceGroups(client, plan.clusters);
    if (groups > 0) log(`${groups} resource groups created`);
    if (opts.connect ?? true) {
      await mapLimit(plan.clusters, opts.connectConcurrency ?? 16, async (c) => {
        fleet.checkAborted();
        const failed = fleet.failureError();
        if (failed) throw failed;
        await connectCluster(client, store, c);
      });
      log(`${plan.clusters.length} clusters onboarded (PUT connectedClusters)`);
    }
    fleet.supervise(opts.supervise ?? !plan.detached);
    await fleet.saveFleetFile();
    return createHandle({ plan, fleet, store, client, tokens, targetsFile });
  } catch (err) {
    await fleet.stop(2000);
    throw err;
  }
}

export type { FleetHandle, WaitOptions } from './handle.js';
