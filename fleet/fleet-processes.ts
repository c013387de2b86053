/**
 * The running processes of one fleet, one `ServiceProcess` per instance of a component row (most rows
 * run one; the broker one per node): start a row (spawn its instances together, wait for each one's
 * readiness URL, announce it), start one again in place (same ports, same data), stop them all in
 * reverse table order, report a crash, and keep `<dataDir>/fleet.json` current.
 */
import { join } from 'node:path';
import { ArcError, ERROR_CODES } from '../contract/index.js';
import { TLS_FILES } from '../platform/fleet-tls.js';
import { waitFor } from '../platform/wait.js';
import {
  hubPageUrlOf,
  hubUrlOf,
  tlsDir,
  COMPONENTS,
  component,
  gatewayApiUrls,
  loopback,
  natsUrls,
  rowInstances,
  type ProcessInstance,
  type ProcessName,
  type ServiceName,
} from './components.js';
import { readFleetFile, writeFleetFile, type FleetFile } from './fleet-file.js';
import type { StartFleetOptions } from './options.js';
import type { FleetPlan } from './plan.js';
import { ServiceProcess } from './process.js';
import { DEFAULT_LIVENESS } from './liveness.js';
import { DEFAULT_RESTART_POLICY } from './supervisor.js';
import { Supervisor } from './supervision.js';

export class FleetProcesses {
  readonly processes = new Map<ProcessName, ServiceProcess>();
  private readonly instances = new Map<ProcessName, ProcessInstance>();
  readonly supervisor: Supervisor;
  private stopped = false;
  private readonly startedAt = new Date().toISOString();

  constructor(
    private readonly plan: FleetPlan,
    private readonly opts: StartFleetOptions,
    private readonly log: (line: string) => void,
  ) {
    this.supervisor = new Supervisor({
      policy: { ...DEFAULT_RESTART_POLICY, ...opts.restartPolicy },
      logFile: join(plan.logDir, 'supervisor.log'),
      liveness: { ...DEFAULT_LIVENESS, ...opts.liveness },
      respawn: (name) => this.respawn(name),
      log,
      changed: () => this.saveFleetFile(),
    });
  }

  /**
   * Spawns a row's processes, waits until each is ready and announces it. Together: the nodes of a
   * NATS cluster are healthy only once they see each other.
   */
  async start(name: ServiceName): Promise<void> {
    this.checkAborted();
    const instances = rowInstances(component(name), this.plan.addresses);
    await Promise.all(instances.map((i) => this.startInstance(i)));
  }

  private async startInstance(instance: ProcessInstance): Promise<void> {
    const { row, index, name } = instance;
    const a = this.plan.addresses;
    const proc = ServiceProcess.start({
      name,
      command: row.run.kind === 'node' ? process.execPath : row.run.find(),
      args:
        row.run.kind === 'node'
          ? [
              ...(row.nodeArgs ?? []),
              ...(this.opts.nodeArgs?.[row.name] ?? []),
              join(this.plan.distDir, 'services', row.name, 'main.js'),
            ]
          : (row.args?.(a, index) ?? []),
      env: { ...(row.run.kind === 'node' ? this.plan.serviceEnv : process.env), ...row.env?.(a, index) },
      logDir: this.plan.logDir,
      detached: this.plan.detached,
      ...(this.opts.captureLogs ? { capture: true } : {}),
      ownLog: row.run.kind === 'node',
    });
    this.processes.set(name, proc);
    this.instances.set(name, instance);
    this.supervisor.watch(name, proc);
    await this.waitReady(instance, proc, () => this.interrupted() ?? this.failureError());
    this.probeHealth(instance, proc);
    if (row.announce) this.log(`${name} ${row.announce(a, index)}`);
  }

  /** Starts a process again in place; resolves once it is ready. */
  async respawn(name: ProcessName): Promise<void> {
    const proc = this.processes.get(name);
    const instance = this.instances.get(name);
    if (!proc || !instance) return this.start(name as ServiceName);
    if (proc.running) await proc.stop();
    proc.spawn();
    this.supervisor.watch(name, proc);
    await this.waitReady(instance, proc, () =>
      proc.exited ? new ArcError(ERROR_CODES.InternalServerError, proc.describeExit()) : undefined,
    );
    this.probeHealth(instance, proc);
  }

  /** Once ready, the supervisor probes the process's health URL, when its row has one. */
  private probeHealth(instance: ProcessInstance, proc: ServiceProcess): void {
    const url = instance.row.healthUrl?.(this.plan.addresses, instance.index);
    if (url !== undefined) this.supervisor.probe(instance.name, proc, url);
  }

  private async waitReady(
    { row, index, name }: ProcessInstance,
    proc: ServiceProcess,
    abort: () => Error | undefined,
  ): Promise<void> {
    const url = row.readyUrl?.(this.plan.addresses, index);
    if (url === undefined) return;
    const timeoutMs = Math.max(this.opts.startTimeoutMs ?? 30_000, row.readyTimeoutMs ?? 0);
    await waitFor(
      async () => {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return res.status === 200;
      },
      {
        timeoutMs,
        abort,
        onTimeout: () =>
          new ArcError(
            ERROR_CODES.InternalServerError,
            // The log's end says where start-up stopped (a test's fleet directory is gone by the time
            // anyone reads its CI output).
            `${name} did not answer GET ${url} with 200 within ${timeoutMs / 1000} s (log: ${proc.logFile}); ` +
              `last output:\n${proc.tail(12)}`,
          ),
      },
    );
    await row.afterReady?.(this.plan.addresses, index);
  }

  interrupted(): Error | undefined {
    return this.opts.signal?.aborted
      ? new ArcError(ERROR_CODES.InternalServerError, 'start-up interrupted')
      : undefined;
  }

  checkAborted(): void {
    const err = this.interrupted();
    if (err) throw err;
  }

  /** A process that exited unasked, described; once supervised, only one the supervisor gave up on. */
  failure(): string | undefined {
    for (const [name, proc] of this.processes) {
      if (!proc.exited || proc.stopping) continue;
      if (!this.supervisor.active) return proc.describeExit();
      const gaveUp = this.supervisor.gaveUp(name);
      if (gaveUp !== undefined) return `${proc.describeExit()}\n(not restarted: ${gaveUp})`;
    }
    return undefined;
  }

  failureError(): Error | undefined {
    const f = this.failure();
    return f === undefined ? undefined : new ArcError(ERROR_CODES.InternalServerError, f);
  }

  supervise(on: boolean): void {
    this.supervisor.active = on;
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, p] of this.processes) if (p.running && p.pid !== undefined) out[name] = p.pid;
    return out;
  }

  fleetFile(): FleetFile {
    const p = this.plan;
    return {
      version: 1,
      dataDir: p.dataDir,
      subscriptionId: p.subscriptionId,
      resourceGroup: p.resourceGroup,
      hubUrl: hubUrlOf(p.addresses),
      hubUrls: p.addresses.hubPorts.map((_, i) => hubUrlOf(p.addresses, i)),
      pageUrl: hubPageUrlOf(p.addresses),
      ...(p.addresses.tls ? { caFile: join(tlsDir(p.dataDir), TLS_FILES.ca) } : {}),
      natsUrl: natsUrls(p.addresses),
      natsMonitorUrl: loopback(p.addresses.natsMonitorPort),
      egressApiUrl: loopback(p.addresses.egressApiPort),
      ...(p.addresses.egressApiPorts.length > 1 ? { egressApiUrls: gatewayApiUrls(p.addresses) } : {}),
      kubeApiserverUrl: loopback(p.addresses.kubeApiserverPort),
      timeScale: p.timeScale,
      epochMs: p.epochMs,
      clusterCount: p.clusters.length,
      detached: p.detached,
      launcherPid: process.pid,
      pids: this.pids(),
      startedAt: this.startedAt,
      supervised: this.supervisor.active,
      supervision: this.supervisor.summary(),
    };
  }

  async saveFleetFile(): Promise<void> {
    if (!this.stopped) await writeFleetFile(this.fleetFile());
  }

  /** Stops every process, in reverse table order; safe to call twice. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.supervisor.stop();
    const rank = (n: ProcessName): number =>
      COMPONENTS.indexOf(this.instances.get(n)?.row ?? component(n as ServiceName));
    const order = [...this.processes.keys()].sort((x, y) => rank(y) - rank(x));
    // The agents together (they only hold client connections), then each server in turn; the nodes
    // of a NATS cluster together (a node alone cannot finish its JetStream shutdown).
    const isAgent = (n: ProcessName): boolean => this.instances.get(n)?.row.agent === true;
    await Promise.all(order.filter(isAgent).map((n) => this.processes.get(n)?.stop(graceMs)));
    const servers = order.filter((n) => !isAgent(n));
    for (const row of [...new Set(servers.map((n) => this.instances.get(n)?.row))])
      await Promise.all(
        servers
          .filter((n) => this.instances.get(n)?.row === row)
          .map((n) => this.processes.get(n)?.stop(graceMs)),
      );
    for (const p of this.processes.values()) p.close();
    const file = await readFleetFile(this.plan.dataDir);
    if (file && file.launcherPid === process.pid) await writeFleetFile({ ...file, pids: {} });
  }
}
