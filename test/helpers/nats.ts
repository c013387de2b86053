/**
 * A real nats-server with JetStream for tests, like nats.js's harness: random free port, temporary
 * store dir, wait until it accepts connections, and stop / kill / restart on the same port and store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from './ports.js';
import { waitFor } from './wait.js';

export const NATS_SERVER_CANDIDATES = [
  '/usr/sbin/nats-server',
  '/usr/local/bin/nats-server',
  '/usr/bin/nats-server',
];

/** Path of nats-server; throws loudly with the install command when it is missing. */
export function natsServerBinary(): string {
  const fromPath = (process.env.PATH ?? '').split(':').map((d) => join(d, 'nats-server'));
  for (const candidate of [...NATS_SERVER_CANDIDATES, ...fromPath]) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    'nats-server is missing: the integration tests need a real broker. install nats-server: apt-get install -y nats-server',
  );
}

export interface NatsServerOptions {
  readonly port?: number;
  /** JetStream store dir; default a new temp dir (removed by `cleanup()`). */
  readonly storeDir?: string;
  readonly startTimeoutMs?: number;
}

export class NatsServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private ownsStore = false;
  /** stderr/stdout of the current process, for failure messages. */
  output = '';

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    readonly storeDir: string,
    private readonly startTimeoutMs: number,
  ) {}

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    natsServerBinary();
    const port = opts.port ?? (await freePort());
    let monitorPort = await freePort();
    while (monitorPort === port) monitorPort = await freePort();
    const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), 'arcfleet-nats-')));
    const server = new NatsServer(port, monitorPort, storeDir, opts.startTimeoutMs ?? 15_000);
    server.ownsStore = opts.storeDir === undefined;
    await server.spawn();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  private async spawn(): Promise<void> {
    this.output = '';
    const child = spawn(
      natsServerBinary(),
      [
        '-js',
        '-a',
        '127.0.0.1',
        '-p',
        String(this.port),
        '-m',
        String(this.monitorPort),
        '-sd',
        this.storeDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const append = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(
      async () => {
        if (!this.running) throw new Error(`nats-server exited during start-up:\n${this.output}`);
        if (!(await canConnect(this.port))) return false;
        // JetStream is ready when the monitor's healthz says so.
        const res = await fetch(`http://127.0.0.1:${this.monitorPort}/healthz`, {
          signal: AbortSignal.timeout(1000),
        });
        await res.body?.cancel();
        return res.status === 200;
      },
      {
        timeoutMs: this.startTimeoutMs,
        message: `nats-server on port ${this.port} to accept connections`,
      },
    );
  }

  /** SIGTERM (graceful), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.exited.then(() => 'exited' as const), timer])) === 'timeout') {
      this.child?.kill('SIGKILL');
      await this.exited;
    }
  }

  /** SIGKILL: a crash. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** Starts again on the same port and store (JetStream data survives). */
  async restart(): Promise<void> {
    await this.stop();
    await this.spawn();
  }

  /** Stops and removes the temp store dir if this harness created it. */
  async cleanup(): Promise<void> {
    await this.stop(2000);
    if (this.ownsStore) await rm(this.storeDir, { recursive: true, force: true });
  }
}
