/**
 * The embedded broker's binary: found on PATH or in the usual sbin directories, or a clear error
 * saying how to install it (the component table starts it).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ArcError, ERROR_CODES } from '../contract/index.js';

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
