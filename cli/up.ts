/** `arcfleet up` and `arcfleet down`. */
import { resolve } from 'node:path';
import { parseDuration } from '../shared/duration.js';
import { isAlive, stopPid } from './children.js';
import { readFleetFile, writeFleetFile } from './fleet-file.js';
import { clockTime, table } from './format.js';
import {
  AGENT_SERVICES,
  DEFAULT_DATA_DIR,
  startFleet,
  type FleetHandle,
  type StartFleetOptions,
} from './launcher.js';
import { formatCounts, WaitTimeoutError, watchTransitions, type Progress } from './progress.js';

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
    write(`\n${sig}: stopping the fleet...`);
    abort.abort();
  };
  const detach = opts.detach ?? false;
  if (!detach) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    const started = Date.now();
    fleet = await startFleet({ ...opts, signal: abort.signal, log: (l) => write(`arcfleet: ${l}`) });
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
      if (detach) {
        write(`arcfleet: ${reason}`);
        write(
          `arcfleet: the fleet is still running (logs: ${fleet.dataDir}/logs); \`arcfleet down\` stops it`,
        );
        return 1;
      }
      if (!(err instanceof WaitTimeoutError)) throw err;
      write(`arcfleet: warning: ${reason}`);
    }
    write(`arcfleet: hub ${fleet.hubUrl}  (nats ${fleet.natsUrl}, data ${fleet.dataDir})`);
    if (fleet.prometheusUrl)
      write(`arcfleet: prometheus ${fleet.prometheusUrl}  (targets ${fleet.targetsFile ?? ''})`);
    if (detach) {
      write('arcfleet: running in the background; try `arcfleet list`, stop with `arcfleet down`');
      return 0;
    }
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
    if (fleet && !detach) {
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
  // A foreground launcher stops its own children on SIGTERM.
  if (!file.detached && file.launcherPid !== process.pid && isAlive(file.launcherPid))
    await stopPid(file.launcherPid, 15_000, false);
  const order = [...AGENT_SERVICES, 'hub', 'nats-server'];
  const names = [
    ...order.filter((n) => n in file.pids),
    ...Object.keys(file.pids).filter((n) => !order.includes(n)),
  ];
  for (const name of names) {
    const pid = file.pids[name];
    if (pid === undefined) continue;
    const how = await stopPid(pid, 10_000, file.detached);
    write(`arcfleet: ${name} (pid ${pid}) ${how === 'absent' ? 'was not running' : how}`);
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
