/**
 * `arcfleet chaos run FILE`: runs a scenario against the fleet running from --data-dir, or starts the
 * scenario's own fleet there (and stops it afterwards unless --keep). Exit code 0 when every step
 * passed, 1 with a readable report otherwise; --report writes the report as JSON too (CI artefact).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ArcError, ERROR_CODES } from '../../contract/index.js';
import { formatDuration } from '../../platform/duration.js';
import { isAlive } from '../../fleet/process.js';
import { loadContext } from '../context.js';
import { readFleetFile, type FleetFile } from '../../fleet/fleet-file.js';
import { runningFleet, startFleet, type FleetHandle } from '../../fleet/index.js';
import { generateFleet } from '../../fleet/generator.js';
import { delay as sleep } from '../../platform/wait.js';
import { parseScenario, type Scenario, type ScenarioService } from './scenario.js';
import { formatStep, formatSummary, runScenario, type ScenarioFleet } from './runner.js';

export interface ChaosRunOptions {
  readonly dataDir: string;
  /** Write the JSON report here. */
  readonly report?: string;
  /** Leave a fleet the scenario started running. */
  readonly keep?: boolean;
  /** Real ms to wait for the scenario's own fleet to be Connected (default 180 s). */
  readonly startTimeoutMs?: number;
}

type Write = (line: string) => void;

export async function chaosRunCommand(file: string, opts: ChaosRunOptions, write: Write): Promise<number> {
  const scenario = parseScenario(await readFile(file, 'utf8'), file);
  const dataDir = resolve(opts.dataDir);
  let own: FleetHandle | undefined;
  try {
    const running = await runningFleet(dataDir);
    let fleet: ScenarioFleet;
    if (running) {
      fleet = await runningScenarioFleet(running);
    } else {
      write(
        `arcfleet: no fleet is running from ${dataDir}; starting the scenario's own (${scenario.fleet.clusters} clusters, time scale ${scenario.fleet.timeScale}×)`,
      );
      own = await startOwnFleet(scenario, dataDir, write);
      await own.waitAllConnected({ timeoutMs: opts.startTimeoutMs ?? 180_000 });
      fleet = await ownScenarioFleet(own);
    }
    const summary = await fleet.ctx.client.summary();
    write(
      `scenario "${scenario.name}": ${scenario.steps.length} steps against ${fleet.description}; ` +
        `time scale ${summary.timeScale}×, offline threshold ${formatDuration(summary.timings.offlineThresholdMs)}, heartbeat ${formatDuration(summary.timings.heartbeatIntervalMs)}`,
    );
    const report = await runScenario(scenario, fleet, (r) => write(formatStep(r)));
    write(formatSummary(report, scenario.steps.length));
    if (opts.report) await writeFile(opts.report, `${JSON.stringify(report, null, 2)}\n`);
    return report.passed ? 0 : 1;
  } finally {
    if (own && !opts.keep) await own.stop();
    else if (own)
      write(`arcfleet: the scenario's fleet keeps running (hub ${own.hubUrl}); \`arcfleet down\` stops it`);
  }
}

function startOwnFleet(scenario: Scenario, dataDir: string, write: Write): Promise<FleetHandle> {
  const version = scenario.fleet.agentVersion;
  return startFleet({
    dataDir,
    ...(version === undefined
      ? { clusters: scenario.fleet.clusters, seed: scenario.fleet.seed }
      : {
          clusterStates: generateFleet({
            count: scenario.fleet.clusters,
            seed: scenario.fleet.seed,
            nowIso: new Date().toISOString(),
          }).map((c) => ({ ...c, agentVersion: version, autoUpdate: true })),
        }),
    timeScale: scenario.fleet.timeScale,
    env: Object.fromEntries(Object.entries(scenario.fleet.env).map(([k, v]) => [k, String(v)])),
    log: (l) => write(`arcfleet: ${l}`),
  });
}

async function ownScenarioFleet(handle: FleetHandle): Promise<ScenarioFleet> {
  return {
    description: `its own fleet of ${handle.clusters.length} in ${handle.dataDir}`,
    ctx: await loadContext({ dataDir: handle.dataDir }),
    gatewayUrl: handle.egressApiUrls.join(','),
    kill(service) {
      const pid = handle.pids()[service];
      handle.crash(service, 'SIGKILL');
      return Promise.resolve(
        `killed ${service} (pid ${pid ?? '?'}) with SIGKILL; the supervisor restarts it`,
      );
    },
    async restart(service) {
      const before = handle.pids()[service];
      await handle.restart(service);
      return `restarted ${service}: pid ${before ?? '?'} → ${handle.pids()[service] ?? '?'}`;
    },
  };
}

/** A fleet started by another `arcfleet up`: its supervisor restarts what the scenario kills. */
async function runningScenarioFleet(file: FleetFile): Promise<ScenarioFleet> {
  if (!file.egressApiUrl)
    throw new ArcError(ERROR_CODES.NotFound, `the fleet in ${file.dataDir} has no egress gateway`, {
      status: 404,
    });
  const supervisedPid = (service: ScenarioService, current: FleetFile): number => {
    if (current.supervised !== true || !isAlive(current.launcherPid))
      throw new ArcError(
        ERROR_CODES.Conflict,
        `the fleet in ${current.dataDir} is not supervised (started with --detach, or its launcher is gone): ` +
          `a stopped ${service} would stay down. Run the scenario against a foreground \`arcfleet up\`, or stop the fleet and let the scenario start its own`,
        { status: 409 },
      );
    const pid = current.pids[service];
    if (pid === undefined)
      throw new ArcError(
        ERROR_CODES.NotFound,
        `${service} is not running in the fleet in ${current.dataDir}`,
        {
          status: 404,
        },
      );
    return pid;
  };
  const signal = async (service: ScenarioService, sig: NodeJS.Signals): Promise<number> => {
    const pid = supervisedPid(service, (await readFleetFile(file.dataDir)) ?? file);
    process.kill(pid, sig);
    return pid;
  };
  return {
    description: `the running fleet in ${file.dataDir}`,
    ctx: await loadContext({ dataDir: file.dataDir }),
    gatewayUrl: (file.egressApiUrls ?? [file.egressApiUrl]).join(','),
    async kill(service) {
      const pid = await signal(service, 'SIGKILL');
      return `killed ${service} (pid ${pid}) with SIGKILL; the supervisor restarts it`;
    },
    async restart(service) {
      const pid = await signal(service, 'SIGTERM');
      // The supervisor writes the new pid to fleet.json once the service is ready again.
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const next = (await readFleetFile(file.dataDir))?.pids[service];
        if (next !== undefined && next !== pid && isAlive(next))
          return `restarted ${service}: pid ${pid} → ${next}`;
        await sleep(200);
      }
      throw new ArcError(
        ERROR_CODES.InternalServerError,
        `${service} (pid ${pid}) was stopped but not started again within 120 s; see \`arcfleet ps\``,
      );
    },
  };
}
