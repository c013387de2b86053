/**
 * One fleet process (a service, nats-server, prometheus) across its restarts: spawn with output
 * appended to `<logDir>/<name>.log`, watch for exit, stop with SIGTERM then SIGKILL after a grace
 * period, start again with the same command and environment. With `capture`, stdout's JSON log lines
 * are also kept in memory (tests assert on log events); without it the child writes straight to the
 * file, so a detached child (own process group, unref'd) outlives the launcher.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, openSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { ENV } from '../platform/settings.js';
import { delay as sleep, waitFor } from '../platform/wait.js';

export interface ProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logDir: string;
  readonly detached: boolean;
  readonly cwd?: string;
  /** Keep stdout's JSON lines in memory (`logs`, `events`, `waitForLog`); not with `detached`. */
  readonly capture?: boolean;
  /**
   * A Node service that writes `<name>.log` itself, capped and rotated (ARCFLEET_LOG_FILE); its stdout
   * and stderr, which then carry only what is not a log line (a crash's trace), go to `<name>.out.log`.
   * Ignored with `capture`, where the lines come on stdout.
   */
  readonly ownLog?: boolean;
}

/** One structured log line of a service (pino JSON). */
export type LogLine = Record<string, unknown> & { event?: string; level?: string; msg?: string };

/** Lines kept in memory with `capture`; the oldest go first (the log file keeps everything). */
const MAX_CAPTURED_LINES = 50_000;

export class ServiceProcess {
  readonly name: string;
  readonly logFile: string;
  /** Where stdout and stderr go: `logFile`, or `<name>.out.log` when the service writes its own log. */
  readonly outFile: string;
  readonly detached: boolean;
  /** Every JSON log line printed on stdout, across restarts (with `capture`). */
  readonly logs: LogLine[] = [];
  /** Non-JSON output with `capture` (stderr, stray stdout), last 20 kB. */
  text = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  exited = false;
  /** Set before an intentional stop, so the exit is not reported as a crash; cleared by spawn(). */
  stopping = false;
  startError: Error | undefined;
  /** How many times the process was started again (restart() or the supervisor). */
  restarts = 0;
  /** Bumped by every spawn(): an exit watcher of an older spawn ignores itself. */
  generation = 0;
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> = Promise.resolve();
  private sink: WriteStream | undefined;

  constructor(private readonly spec: ProcessSpec) {
    this.name = spec.name;
    this.detached = spec.detached;
    mkdirSync(spec.logDir, { recursive: true });
    this.logFile = join(spec.logDir, `${spec.name}.log`);
    this.outFile = this.ownLog ? join(spec.logDir, `${spec.name}.out.log`) : this.logFile;
  }

  private get ownLog(): boolean {
    return this.spec.ownLog === true && this.spec.capture !== true;
  }

  /** Spawns and returns the process (not yet ready: each component has its own readiness probe). */
  static start(spec: ProcessSpec): ServiceProcess {
    const p = new ServiceProcess(spec);
    p.spawn();
    return p;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && !this.exited;
  }

  get env(): NodeJS.ProcessEnv {
    return this.ownLog ? { ...this.spec.env, [ENV.logFile]: this.logFile } : this.spec.env;
  }

  /** Starts the OS process (again). */
  spawn(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    if (this.child !== undefined) this.restarts++;
    this.generation++;
    Object.assign(this, { exited: false, stopping: false, exitCode: null, exitSignal: null });
    this.startError = undefined;
    const capture = this.spec.capture === true && !this.spec.detached;
    const fd = capture ? undefined : openSync(this.outFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.spec.command, [...this.spec.args], {
        env: this.env,
        cwd: this.spec.cwd,
        stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
        detached: this.spec.detached,
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    this.child = child;
    if (capture) this.captureOutput(child);
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        Object.assign(this, { exited: true, exitCode: code, exitSignal: signal });
        resolve();
      });
      child.once('error', (err) => {
        Object.assign(this, { exited: true, exitCode: -1, startError: err });
        resolve();
      });
    });
    if (this.spec.detached) child.unref();
  }

  private captureOutput(child: ChildProcess): void {
    if (!this.sink) {
      this.sink = createWriteStream(this.logFile, { flags: 'a' });
      // A full disk must not take the launcher down: the lines are still kept in memory.
      this.sink.on('error', () => undefined);
    }
    const sink = this.sink;
    let pending = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      sink.write(chunk);
      pending += chunk.toString('utf8');
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        this.addLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      sink.write(chunk);
      this.addText(chunk.toString('utf8'));
    });
  }

  private addLine(line: string): void {
    if (line.trim() === '') return;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        this.logs.push(parsed as LogLine);
        if (this.logs.length > MAX_CAPTURED_LINES) this.logs.splice(0, MAX_CAPTURED_LINES / 5);
        return;
      }
    } catch {
      // not JSON: kept as text
    }
    this.addText(`${line}\n`);
  }

  private addText(text: string): void {
    this.text = (this.text + text).slice(-20_000);
  }

  /** Resolves when the current spawn has exited. */
  exited$(): Promise<void> {
    return this.exitPromise;
  }

  /** "hub exited with code 1 (log: ...): <last lines>" */
  describeExit(): string {
    const tail = this.tailOfFiles(5);
    return `${this.name} ${this.how()} (log: ${this.logFile})${tail ? `; last output:\n${tail}` : ''}`;
  }

  /** "was killed by SIGKILL", "exited with code 1", "could not start: ...". */
  how(): string {
    if (this.startError) return `could not start: ${this.startError.message}`;
    return this.exitSignal ? `was killed by ${this.exitSignal}` : `exited with code ${this.exitCode}`;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exited || this.pid === undefined) return;
    signalPid(this.pid, sig, this.detached);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    this.signal('SIGTERM');
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exitPromise.then(() => 'exited' as const), timer])) === 'timeout') {
      this.signal('SIGKILL');
      await this.exitPromise;
    }
  }

  /** SIGKILL as a crash would (nothing flushed); marked intentional, so no supervisor restarts it. */
  async kill(): Promise<void> {
    this.stopping = true;
    if (!this.running) return;
    this.signal('SIGKILL');
    await this.exitPromise;
  }

  /** Stops (gracefully unless `crash`) and starts again with the same environment (not yet ready). */
  async restart(opts: { crash?: boolean } = {}): Promise<void> {
    if (opts.crash) await this.kill();
    else await this.stop();
    this.spawn();
  }

  /** Captured log lines whose `event` equals `event` (and that satisfy `where`). */
  events(event: string, where: (line: LogLine) => boolean = () => true): LogLine[] {
    return this.logs.filter((l) => l.event === event && where(l));
  }

  async waitForLog(
    predicate: (line: LogLine) => boolean,
    opts: { timeoutMs?: number; message?: string } = {},
  ): Promise<LogLine> {
    const line = await waitFor(() => this.logs.find(predicate), {
      timeoutMs: opts.timeoutMs ?? 15_000,
      message: `${this.name} log line: ${opts.message ?? 'matching predicate'}`,
    });
    if (!line) throw new Error('unreachable: waitFor resolved without a line');
    return line;
  }

  /** Last lines of output, for failure messages. */
  tail(lines = 20): string {
    if (this.spec.capture !== true) return this.tailOfFiles(lines);
    const json = this.logs.slice(-lines).map((l) => JSON.stringify(l));
    return [...json, this.text.split('\n').slice(-lines).join('\n')].join('\n');
  }

  /** The log's last lines, then (a service writing its own log) what it printed besides. */
  private tailOfFiles(lines: number): string {
    const log = tailOf(this.logFile, lines);
    if (this.outFile === this.logFile) return log;
    return [log, tailOf(this.outFile, lines)].filter((t) => t !== '').join('\n');
  }

  /** Closes the captured log file (after the last stop). */
  close(): void {
    this.sink?.end();
    this.sink = undefined;
  }
}

function signalPid(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops a process we do not hold a handle for (from fleet.json): SIGTERM, wait, SIGKILL. */
export async function stopPid(
  pid: number,
  graceMs = 5000,
  group = true,
): Promise<'stopped' | 'killed' | 'absent'> {
  if (!isAlive(pid)) return 'absent';
  signalPid(pid, 'SIGTERM', group);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  signalPid(pid, 'SIGKILL', group);
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  return 'killed';
}

export function tailOf(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
