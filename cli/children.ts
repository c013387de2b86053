/**
 * Child processes of the fleet: spawn with output to `<dataDir>/logs/<name>.log`, watch for exit,
 * stop with SIGTERM then SIGKILL after a grace period. Detached children get their own process
 * group and are unref'd so the launcher can exit and leave them running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { delay as sleep } from '../platform/wait.js';

export interface ChildSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly logDir: string;
  readonly detached: boolean;
  readonly cwd?: string;
}

export class Child {
  readonly name: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  readonly detached: boolean;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  exited = false;
  /** Set before an intentional stop, so the exit is not reported as a crash. */
  stopping = false;
  startError: Error | undefined;
  private readonly exitPromise: Promise<void>;

  constructor(spec: ChildSpec) {
    this.name = spec.name;
    this.detached = spec.detached;
    mkdirSync(spec.logDir, { recursive: true });
    this.logFile = join(spec.logDir, `${spec.name}.log`);
    const fd = openSync(this.logFile, 'a');
    try {
      this.process = spawn(spec.command, [...spec.args], {
        env: spec.env,
        cwd: spec.cwd,
        stdio: ['ignore', fd, fd],
        detached: spec.detached,
      });
    } finally {
      closeSync(fd);
    }
    this.exitPromise = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.process.once('error', (err) => {
        this.exited = true;
        this.exitCode = -1;
        this.startError = err;
        resolve();
      });
    });
    if (spec.detached) this.process.unref();
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  exited$(): Promise<void> {
    return this.exitPromise;
  }

  /** "hub exited with code 1 (log: ...): <last lines>" */
  describeExit(): string {
    const how = this.how();
    const tail = tailOf(this.logFile, 5);
    return `${this.name} ${how} (log: ${this.logFile})${tail ? `; last output:\n${tail}` : ''}`;
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
    if (this.exited) return;
    this.signal('SIGTERM');
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([this.exitPromise.then(() => 'exited' as const), timer])) === 'timeout') {
      this.signal('SIGKILL');
      await this.exitPromise;
    }
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
