/**
 * The launcher's supervisor: a service that exits unasked once the fleet is up, or stops answering its
 * liveness probe (liveness.ts; the supervisor then kills it), is started again after
 * the restart policy's delay (fleet/supervisor.ts, CrashLoopBackOff style), or given up on when it
 * crashes too often. What it saw is kept per service for `arcfleet ps` and written to
 * `<dataDir>/logs/supervisor.log` as JSON lines.
 */
import { appendFile } from 'node:fs/promises';
import type { ProcessName } from './components.js';
import type { ServiceProcess } from './process.js';
import { LivenessProbe, type LivenessOptions } from './liveness.js';
import { RestartPolicy, type RestartPolicyOptions } from './supervisor.js';

/** What the supervisor saw of one service: shown by `arcfleet ps` (from fleet.json). */
export interface ServiceSupervision {
  readonly service: ProcessName;
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly restarts: number;
  /** "was killed by SIGKILL", "exited with code 1". */
  readonly lastExit?: string;
  readonly lastExitAt?: string;
  /** Set when the supervisor stopped restarting it (crash loop). */
  readonly gaveUp?: string;
}

interface Entry {
  readonly policy: RestartPolicy;
  probe?: LivenessProbe;
  /** Why the supervisor killed the process (a failed probe): its exit is described by this. */
  killedFor?: string;
  startedAtMs: number;
  restarts: number;
  /** From a crash until the new process is ready. */
  restarting: boolean;
  lastExit?: string;
  lastExitAt?: string;
  gaveUp?: string;
}

export interface SupervisorDeps {
  readonly policy: RestartPolicyOptions;
  readonly logFile: string;
  /** The liveness probe of the supervised services (those with a health URL). */
  readonly liveness: LivenessOptions;
  /** Starts the service again and waits until it is ready. */
  readonly respawn: (name: ProcessName) => Promise<void>;
  /** Progress lines for the user. */
  readonly log: (line: string) => void;
  /** After every change worth persisting (fleet.json). */
  readonly changed: () => Promise<void>;
}

export class Supervisor {
  /** Off while starting (a failure then aborts start-up); on once the fleet is up. */
  active = false;
  private stopped = false;
  private readonly entries = new Map<ProcessName, Entry>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: SupervisorDeps) {}

  /** Watches a (re)spawned process: an unasked exit while active is a crash. */
  watch(name: ProcessName, proc: ServiceProcess): void {
    let entry = this.entries.get(name);
    if (entry) entry.startedAtMs = Date.now();
    else {
      entry = {
        policy: new RestartPolicy(this.deps.policy),
        startedAtMs: Date.now(),
        restarts: 0,
        restarting: false,
      };
      this.entries.set(name, entry);
    }
    const watched = entry;
    watched.probe?.stop();
    watched.killedFor = undefined;
    const generation = proc.generation;
    void proc.exited$().then(() => {
      if (proc.generation === generation) watched.probe?.stop();
      if (proc.generation === generation && !proc.stopping && this.active && !this.stopped)
        this.onCrash(name, proc, watched.killedFor ?? proc.how());
    });
  }

  /**
   * Probes a watched process that is ready: failing the liveness probe of `healthUrl` is a crash too
   * (the supervisor kills it, and its exit is described by the probe's failure).
   */
  probe(name: ProcessName, proc: ServiceProcess, healthUrl: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    entry.probe?.stop();
    const generation = proc.generation;
    entry.probe = new LivenessProbe(healthUrl, this.deps.liveness, (reason) => {
      if (proc.generation !== generation || proc.stopping || !this.active || this.stopped) return;
      entry.killedFor = reason;
      proc.signal('SIGKILL');
    });
    entry.probe.start();
  }

  /** The service a crash was given up on, with why; undefined while none. */
  gaveUp(name: ProcessName): string | undefined {
    return this.entries.get(name)?.gaveUp;
  }

  /** Stops restarting (Ctrl-C: every process of the group exits, and those exits are not crashes). */
  pause(): void {
    this.active = false;
    for (const e of this.entries.values()) e.probe?.stop();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  stop(): void {
    this.stopped = true;
    this.pause();
  }

  report(processes: ReadonlyMap<ProcessName, ServiceProcess>): ServiceSupervision[] {
    return [...this.entries].map(([service, e]) => {
      const proc = processes.get(service);
      return {
        service,
        pid: proc?.running ? proc.pid : undefined,
        running: proc?.running === true && !e.restarting,
        restarts: e.restarts,
        ...(e.lastExit === undefined ? {} : { lastExit: e.lastExit }),
        ...(e.lastExitAt === undefined ? {} : { lastExitAt: e.lastExitAt }),
        ...(e.gaveUp === undefined ? {} : { gaveUp: e.gaveUp }),
      };
    });
  }

  /** For fleet.json: restarts and exits per service. */
  summary(): Record<string, { restarts: number; lastExit?: string; lastExitAt?: string; gaveUp?: string }> {
    return Object.fromEntries(
      [...this.entries].map(([name, e]) => [
        name,
        {
          restarts: e.restarts,
          ...(e.lastExit === undefined ? {} : { lastExit: e.lastExit }),
          ...(e.lastExitAt === undefined ? {} : { lastExitAt: e.lastExitAt }),
          ...(e.gaveUp === undefined ? {} : { gaveUp: e.gaveUp }),
        },
      ]),
    );
  }

  private record(event: Record<string, unknown>): void {
    const line = JSON.stringify({ time: new Date().toISOString(), service: 'launcher', ...event });
    void appendFile(this.deps.logFile, `${line}\n`).catch(() => undefined);
  }

  private onCrash(name: ProcessName, proc: ServiceProcess, how = proc.how()): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    const pid = proc.pid;
    entry.lastExit = how;
    entry.lastExitAt = new Date().toISOString();
    const decision = entry.policy.onCrash(Date.now(), entry.startedAtMs);
    if (decision.action === 'give-up') {
      entry.gaveUp = decision.reason;
      this.deps.log(
        `${name} (pid ${pid ?? '?'}) ${how}; not restarting it: ${decision.reason} (log: ${proc.logFile})`,
      );
      this.record({ event: 'service.given_up', target: name, pid, exit: how, reason: decision.reason });
    } else {
      entry.restarts = decision.restart;
      entry.restarting = true;
      this.deps.log(
        `${name} (pid ${pid ?? '?'}) ${how}; restarting it in ${(decision.delayMs / 1000).toFixed(1)} s (restart ${decision.restart})`,
      );
      this.record({
        event: 'service.crashed',
        target: name,
        pid,
        exit: how,
        restart: decision.restart,
        delayMs: decision.delayMs,
      });
      const generation = proc.generation;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.active && !this.stopped) void this.restartAfterCrash(name, proc, generation);
      }, decision.delayMs);
      this.timers.add(timer);
    }
    void this.deps.changed().catch(() => undefined);
  }

  private async restartAfterCrash(
    name: ProcessName,
    proc: ServiceProcess,
    generation: number,
  ): Promise<void> {
    const entry = this.entries.get(name);
    try {
      await this.deps.respawn(name);
      if (this.stopped) return;
      if (entry) entry.restarting = false;
      this.deps.log(`${name} restarted (pid ${proc.pid ?? '?'})`);
      this.record({ event: 'service.restarted', target: name, pid: proc.pid });
      await this.deps.changed();
    } catch (err) {
      if (this.stopped) return;
      const reason = err instanceof Error ? err.message : String(err);
      if (proc.generation === generation) {
        // Never spawned again: give up.
        if (entry) entry.gaveUp = `could not be started again: ${reason}`;
        this.deps.log(`${name} could not be started again: ${reason}`);
        this.record({ event: 'service.given_up', target: name, reason });
        await this.deps.changed();
        return;
      }
      // Exited on its own: its exit watcher has taken over. Alive but never ready: stop it, count a crash.
      if (proc.running) {
        await proc.stop(2000);
        this.onCrash(name, proc, `did not become ready (${reason})`);
      }
    }
  }
}
