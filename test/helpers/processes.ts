/**
 * Services as real child processes: `node dist/services/<svc>/main.js` with an environment, stdout
 * JSON log lines captured for assertions, SIGTERM / SIGKILL, restart with the same environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const DIST_DIR = join(REPO_ROOT, 'dist');

export type ServiceName =
  'hub' | 'clusteridentityoperator' | 'resource-sync-agent' | 'metrics-agent' | 'egress-gateway';

export type LogLine = Record<string, unknown> & { event?: string; level?: string; msg?: string };

export function serviceEntry(name: ServiceName): string {
  const entry = join(DIST_DIR, 'services', name, 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first with \`npm run build\``);
  return entry;
}

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> = Promise.resolve();
  /** Every JSON log line printed on stdout, across restarts. */
  readonly logs: LogLine[] = [];
  /** Non-JSON output (stderr, stray stdout), last 20 kB. */
  text = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  restarts = 0;

  constructor(
    readonly name: ServiceName,
    public env: NodeJS.ProcessEnv,
  ) {}

  static start(name: ServiceName, env: NodeJS.ProcessEnv): ServiceProcess {
    const p = new ServiceProcess(name, env);
    p.spawn();
    return p;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  spawn(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.exitCode = null;
    this.exitSignal = null;
    const child = spawn(process.execPath, [serviceEntry(this.name)], {
      env: this.env,
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        this.addLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => this.addText(chunk.toString('utf8')));
    this.exitPromise = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      }),
    );
  }

  private addLine(line: string): void {
    if (line.trim() === '') return;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        this.logs.push(parsed as LogLine);
        if (this.logs.length > 50_000) this.logs.splice(0, 10_000);
        return;
      }
    } catch {
      // not JSON
    }
    this.addText(`${line}\n`);
  }

  private addText(text: string): void {
    this.text = (this.text + text).slice(-20_000);
  }

  /** Log lines whose `event` equals `event` (and that satisfy `where`). */
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

  exited(): Promise<void> {
    return this.exitPromise;
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.exitPromise.then(() => 'exited' as const), timer])) === 'timeout') {
      this.child?.kill('SIGKILL');
      await this.exitPromise;
    }
  }

  /** SIGKILL: a crash, nothing flushed. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exitPromise;
  }

  /** Stops (gracefully unless `crash`) and starts again with the same environment. */
  async restart(opts: { crash?: boolean } = {}): Promise<void> {
    if (opts.crash) await this.kill();
    else await this.stop();
    this.restarts++;
    this.spawn();
  }

  /** Last lines of output, for failure messages. */
  tail(lines = 20): string {
    const json = this.logs.slice(-lines).map((l) => JSON.stringify(l));
    return [...json, this.text.split('\n').slice(-lines).join('\n')].join('\n');
  }
}
