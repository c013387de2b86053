/**
 * `arcfleet broker init`: the broker's trust chain and nats.conf (platform/broker-files.ts) for fleets
 * whose processes something else runs: compose runs it once before nats-server starts. `arcfleet up`
 * does the same itself. Idempotent: an existing chain (and the revocations the server stored) is kept.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ensureBrokerFiles } from '../../platform/broker-files.js';

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${v} is not a port`);
  return n;
};

export function registerBrokerCommands(program: Command, print: (text: string) => void): void {
  const broker = program.command('broker').description("the broker's accounts and credentials");
  broker
    .command('init')
    .description('write the operator, accounts, the hub credentials and nats.conf (kept when present)')
    .requiredOption('--dir <path>', "the server's files and the trust chain")
    .option('--hub-dir <path>', "the hub's keys and credentials (default: --dir)")
    .option('--server-dir <path>', '--dir as nats-server sees it (default: --dir)')
    .requiredOption('--store-dir <path>', "JetStream's store as nats-server sees it")
    .option('--host <address>', 'nats-server listen address', '0.0.0.0')
    .option('--port <port>', 'client port', port, 4222)
    .option('--monitor-port <port>', 'monitoring port (/healthz)', port, 8222)
    .action(
      async (o: {
        dir: string;
        hubDir?: string;
        serverDir?: string;
        storeDir: string;
        host: string;
        port: number;
        monitorPort: number;
      }) => {
        const [config] = await ensureBrokerFiles({
          dir: resolve(o.dir),
          ...(o.hubDir ? { hubDir: resolve(o.hubDir) } : {}),
          ...(o.serverDir ? { serverDir: o.serverDir } : {}),
          nodes: [{ storeDir: o.storeDir, host: o.host, port: o.port, monitorPort: o.monitorPort }],
        });
        print(`broker configuration: ${config ?? ''}`);
      },
    );
}
