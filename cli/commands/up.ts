/** `arcfleet up` and `arcfleet down`. */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { parseDuration } from '../../platform/duration.js';
import { isAlive, stopPid, tailOf } from '../../fleet/process.js';
import { readFleetFile, writeFleetFile, type FleetFile } from '../../fleet/fleet-file.js';
import { trustCaFile } from '../../fleet/trust.js';
import { fleetTokenSource } from '../../fleet/tokens.js';
import { HubClient } from '../../fleet/clients/hub-client.js';
import { delay as sleep } from '../../platform/wait.js';
import { clockTime, table } from '../format.js';
import {
  COMPONENTS,
  DEFAULT_DATA_DIR,
  runningFleet,
  startFleet,
  type FleetHandle,
  type StartFleetOptions,
} from '../../fleet/index.js';
import {
  formatCounts,
  waitAllConnected,
  WaitTimeoutError,
  watchTransitions,
  type Progress,
} from '../../fleet/progress.js';

/** Where the fleet answers: the hub (HTTPS and its CA, or plain), the page, the broker, the data. */
function addressLines(f: {
  hubUrl: string;
  pageUrl: string;
  caFile?: string | undefined;
  natsUrl: string;
  dataDir: string;
}): string[] {
  return [
    `arcfleet: hub ${f.hubUrl}  (nats ${f.natsUrl}, data ${f.dataDir})`,
    ...(f.caFile
      ? [`arcfleet: the hub's certificate is from the fleet's CA ${f.caFile} (trust it: README, "HTTPS")`]
      : []),
    `arcfleet: live fleet page ${f.pageUrl}/  (open it in a browser)`,
  ];
}

export interface UpOptions extends StartFleetOptions {
  /** Real time to wait for every cluster to be Connected (default 180 s). */
  readonly timeout?: string;
}

type Write = (line: string) => void;

function progressPrinter(write: Write): (p: Progress) => void {
  const tty = process.stdout.isTTY;
  let last = '';
  return (p) => {
    const line = `  ${(p.elapsedMs / 1000).toFixed(1).padStart(5)} s  ${p.connected}/${p.total} Connected  (${formatCounts(p.counts, p.total)})`;
    const key = line.replace(/^\s+[\d.]+ s/, '');
    if (tty) process.stdout.write(`\r\x1b[K${line}`);
    else if (key !== last) write(line);
    last = key;
  };
}

/** Resolves with the exit code. */
export async function upCommand(opts: UpOptions, write: Write = console.log): Promise<number> {
  const timeoutMs = parseDuration(opts.timeout ?? '180s', '--timeout');
  const abort = new AbortController();
  let stopRequested = false;
  let fleet: FleetHandle | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopRequested) return;
    stopRequested = true;
    fleet?.unsupervise();
    write(`\n${sig}: stopping the fleet...`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const started = Date.now();
    fleet = await startFleet({
      ...opts,
      detach: false,
      signal: abort.signal,
      log: (l) => write(`arcfleet: ${l}`),
    });
    write(
      `arcfleet: waiting for ${fleet.clusters.length} clusters to be Connected (time scale ${fleet.timeScale}×)`,
    );
    const waitAbort = (): Error | undefined => (abort.signal.aborted ? new Error('interrupted') : undefined);
    try {
      const print = progressPrinter(write);
      await Promise.race([
        fleet.waitAllConnected({ timeoutMs, onProgress: print }),
        new Promise<never>((_, reject) => abort.signal.addEventListener('abort', () => reject(waitAbort()))),
      ]);
      if (process.stdout.isTTY) process.stdout.write('\n');
      write(
        `arcfleet: all ${fleet.clusters.length} clusters Connected in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } catch (err) {
      if (process.stdout.isTTY) process.stdout.write('\n');
      if (stopRequested) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      if (!(err instanceof WaitTimeoutError)) throw err;
      write(`arcfleet: warning: ${reason}`);
    }
    for (const line of addressLines(fleet)) write(line);
    if (fleet.prometheusUrl)
      write(`arcfleet: prometheus ${fleet.prometheusUrl}  (targets ${fleet.targetsFile ?? ''})`);
    write('arcfleet: watching connectivity transitions; Ctrl-C stops the fleet');
    let reportedFailure = false;
    await watchTransitions(
      fleet.client,
      fleet.subscriptionId,
      (t) => {
        const sim = new Date(fleet?.clock.now() ?? Date.now()).toISOString().slice(0, 19);
        write(`${clockTime()} (sim ${sim}Z)  ${t.name}: ${t.from ?? '(new)'} → ${t.to ?? '(deleted)'}`);
        const failure = fleet?.failure();
        if (failure && !reportedFailure) {
          reportedFailure = true;
          write(`arcfleet: warning: ${failure}`);
        }
      },
      abort.signal,
      1000,
    );
    return 0;
  } catch (err) {
    if (stopRequested) return 130;
    throw err;
  } finally {
    if (fleet) {
      await fleet.stop();
      write('arcfleet: fleet stopped');
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function downCommand(
  dataDirOpt: string | undefined,
  write: Write = console.log,
): Promise<number> {
  const dataDir = resolve(dataDirOpt ?? DEFAULT_DATA_DIR);
  const file = await readFleetFile(dataDir);
  if (!file || Object.keys(file.pids).length === 0) {
    write(`arcfleet: no fleet is running from ${dataDir}`);
    return 0;
  }
  // A launcher (foreground, or the background one of --detach) stops its own children on SIGTERM.
  if (!file.detached && file.launcherPid !== process.pid && isAlive(file.launcherPid)) {
    await stopPid(file.launcherPid, 15_000, false);
    write(`arcfleet: launcher (pid ${file.launcherPid}) stopped, with its fleet`);
  }
  // Reverse start order (the component table's): agents first, the broker last.
  const order: string[] = COMPONENTS.map((c) => c.name).reverse();
  const names = [
    ...order.filter((n) => n in file.pids),
    ...Object.keys(file.pids).filter((n) => !order.includes(n)),
  ];
  for (const name of names) {
    const pid = file.pids[name];
    if (pid === undefined) continue;
    const how = await stopPid(pid, 10_000, file.detached);
    if (how !== 'absent') write(`arcfleet: ${name} (pid ${pid}) ${how}`);
  }
  await writeFleetFile({ ...file, pids: {} });
  write('arcfleet: fleet stopped');
  return 0;
}

/** `arcfleet ps`: the fleet's processes, with what the supervisor saw (restarts, last crash). */
export async function psCommand(dataDirOpt: string | undefined, json: boolean): Promise<string> {
  const dataDir = resolve(dataDirOpt ?? DEFAULT_DATA_DIR);
  const file = await readFleetFile(dataDir);
  if (!file) return `arcfleet: no fleet has been started from ${dataDir}`;
  const names = [...new Set([...Object.keys(file.pids), ...Object.keys(file.supervision ?? {})])];
  const rows = names.map((service) => {
    const pid = file.pids[service];
    const s = file.supervision?.[service];
    return {
      service,
      pid,
      running: pid !== undefined && isAlive(pid),
      restarts: s?.restarts ?? 0,
      lastExit: s?.lastExit,
      lastExitAt: s?.lastExitAt,
      gaveUp: s?.gaveUp,
    };
  });
  if (json) return JSON.stringify({ supervised: file.supervised ?? false, services: rows }, null, 2);
  const supervisor =
    file.supervised === true && isAlive(file.launcherPid)
      ? `supervised by the launcher (pid ${file.launcherPid}): crashed services are restarted with backoff`
      : 'not supervised (detached or launcher gone): crashed services stay down';
  return `${table(
    ['SERVICE', 'PID', 'STATE', 'RESTARTS', 'LAST EXIT'],
    rows.map((r) => [
      r.service,
      r.pid === undefined ? '-' : String(r.pid),
      r.running ? 'running' : r.gaveUp ? 'given up' : 'down',
      String(r.restarts),
      r.lastExit ? `${r.lastExit} at ${r.lastExitAt ?? '?'}${r.gaveUp ? ` (${r.gaveUp})` : ''}` : '-',
    ]),
  )}\n${supervisor}`;
}

/**
 * `arcfleet up --detach`: starts a background launcher (`up` itself, in its own session, output in
 * `<data-dir>/launcher.log`) that runs and supervises the fleet, waits until every cluster is
 * Connected, and returns. `arcfleet down` stops that launcher, which stops its fleet.
 */
export async function detachCommand(
  argv: readonly string[],
  dataDirOpt: string | undefined,
  timeout: string,
  write: Write = console.log,
): Promise<number> {
  const timeoutMs = parseDuration(timeout, '--timeout');
  const dataDir = resolve(dataDirOpt ?? DEFAULT_DATA_DIR);
  const running = await runningFleet(dataDir);
  if (running) {
    write(
      `arcfleet: a fleet is already running from ${dataDir} (hub ${running.hubUrl}); run \`arcfleet down\` first`,
    );
    return 1;
  }
  await mkdir(dataDir, { recursive: true });
  const logFile = join(dataDir, 'launcher.log');
  const fd = openSync(logFile, 'w');
  const args = [process.argv[1] ?? '', ...argv.filter((a) => a !== '--detach'), '--background-launcher'];
  const launcher = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  launcher.unref();
  let exited = false;
  launcher.once('exit', () => (exited = true));
  const failed = (): number => {
    write(`arcfleet: the background launcher exited; its output (${logFile}):`);
    write(tailOf(logFile, 20));
    return 1;
  };
  write(`arcfleet: background launcher started (pid ${launcher.pid ?? '?'}, output ${logFile})`);
  const started = Date.now();
  let file: FleetFile | undefined;
  while (!file || file.launcherPid !== launcher.pid || file.supervised !== true) {
    if (exited) return failed();
    if (Date.now() - started > timeoutMs) {
      write(`arcfleet: the fleet did not start within ${timeout}; see ${logFile}`);
      return 1;
    }
    await sleep(200);
    file = await readFleetFile(dataDir).catch(() => undefined);
  }
  await trustCaFile(file.caFile);
  const client = new HubClient(file.hubUrl, { token: fleetTokenSource(dataDir) });
  const names = new Set<string>();
  for (const name of await new ClusterStore(dataDir).list()) names.add(name.toLowerCase());
  try {
    await waitAllConnected({
      client,
      subscriptionId: file.subscriptionId,
      names,
      timeoutMs: Math.max(1000, timeoutMs - (Date.now() - started)),
      pollMs: 500,
      onProgress: progressPrinter(write),
      abort: () => (exited ? new Error('the background launcher exited') : undefined),
    });
  } catch (err) {
    if (exited) return failed();
    write(`arcfleet: ${err instanceof Error ? err.message : String(err)}`);
    write(`arcfleet: the fleet is still running (logs: ${dataDir}/logs); \`arcfleet down\` stops it`);
    return 1;
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  write(`arcfleet: all ${names.size} clusters Connected in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const line of addressLines({ ...file, pageUrl: file.pageUrl ?? file.hubUrl, dataDir })) write(line);
  write(
    `arcfleet: running in the background, supervised by the launcher (pid ${launcher.pid ?? '?'}); \`arcfleet ps\`, \`arcfleet down\``,
  );
  return 0;
}
