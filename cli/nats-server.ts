/**
 * The embedded broker: finds the `nats-server` binary and starts it with JetStream on loopback.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ArcError, ERROR_CODES } from '../contract/index.js';
import { Child } from './children.js';
import { waitFor } from '../platform/wait.js';

export const NATS_INSTALL_HINT =
  'install it with `apt-get install -y nats-server` (Debian/Ubuntu) or put a nats-server 2.9+ binary on PATH';

/** Absolute path of nats-server (PATH, then /usr/sbin, /usr/local/bin); throws NatsServerMissing. */
export function findNatsServer(
  env: NodeJS.ProcessEnv = process.env,
  extraDirs: readonly string[] = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin'],
): string {
  const dirs = [...(env.PATH ?? '').split(delimiter), ...extraDirs];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new ArcError(
    ERROR_CODES.NatsServerMissing,
    `nats-server was not found on PATH; ${NATS_INSTALL_HINT}`,
    {
      status: 500,
    },
  );
}

export interface NatsServerOptions {
  readonly port: number;
  readonly monitorPort: number;
  readonly storeDir: string;
  readonly logDir: string;
  readonly detached: boolean;
  readonly startTimeoutMs?: number;
  /** Called with the process as soon as it is spawned (before it is healthy), e.g. to supervise it. */
  readonly onSpawn?: (child: Child) => void;
}

export interface RunningNats {
  readonly child: Child;
  readonly url: string;
  readonly monitorUrl: string;
}

export async function startNatsServer(opts: NatsServerOptions): Promise<RunningNats> {
  const binary = findNatsServer();
  const child = new Child({
    name: 'nats-server',
    command: binary,
    args: [
      '-js',
      '-a',
      '127.0.0.1',
      '-p',
      String(opts.port),
      '-m',
      String(opts.monitorPort),
      '-sd',
      opts.storeDir,
    ],
    env: process.env,
    logDir: opts.logDir,
    detached: opts.detached,
  });
  opts.onSpawn?.(child);
  const monitorUrl = `http://127.0.0.1:${opts.monitorPort}`;
  await waitFor(
    async () => {
      try {
        const res = await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        return false;
      }
    },
    {
      timeoutMs: opts.startTimeoutMs ?? 15_000,
      onTimeout: () =>
        new ArcError(
          ERROR_CODES.InternalServerError,
          `nats-server did not become healthy (log: ${child.logFile})`,
        ),
      abort: () =>
        child.exited ? new ArcError(ERROR_CODES.InternalServerError, child.describeExit()) : undefined,
    },
  );
  return { child, url: `nats://127.0.0.1:${opts.port}`, monitorUrl };
}
