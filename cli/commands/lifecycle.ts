/**
 * Why this file exists: the fleet's life-cycle commands (`up`, `init`, `down`, `ps`) wired into
 * commander, out of main.ts. Their behaviour is in up.ts and init.ts; up.ts is already near the
 * size limit, so the wiring of the group sits beside it here.
 */
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { tlsDir } from '../../fleet/components.js';
import { fleetTokenSource } from '../../fleet/tokens.js';
import { trustCaFile } from '../../fleet/trust.js';
import { TLS_FILES } from '../../platform/fleet-tls.js';
import {
  DEFAULT_CLUSTER_COUNT,
  DEFAULT_DATA_DIR,
  DEFAULT_TIME_SCALE,
  MAX_BROKERS,
  MAX_LOCAL_SHARDS,
  MAX_HUBS,
} from '../../fleet/index.js';
import { parseDuration } from '../../platform/duration.js';
import { parseOutput } from './options.js';
import { initFleet } from './init.js';
import { intArg, outputOption, positiveNumber, type Print, type SetExitCode } from './options.js';
import { detachCommand, downCommand, psCommand, upCommand } from './up.js';

/** Adds `up`, `init`, `down` and `ps` to the program. */
export function registerLifecycleCommands(program: Command, print: Print, setExitCode: SetExitCode): void {
  program
    .command('up')
    .description('start nats-server, the hub and the agent services; onboard every cluster')
    .option('--clusters <n>', 'number of generated clusters', intArg(0, 100_000), DEFAULT_CLUSTER_COUNT)
    .option('--spec <file>', 'fleet spec YAML (instead of generated clusters)')
    .option('--seed <seed>', 'seed of the generated fleet', '1')
    .option('--time-scale <x>', 'simulated seconds per real second', positiveNumber, DEFAULT_TIME_SCALE)
    .option('--hub-port <port>', 'hub HTTPS port (default: a free port)', intArg(1, 65_535))
    .option(
      '--plain-http',
      'serve the hub on plain HTTP instead of HTTPS with the fleet CA (kubectl then sends no token)',
      false,
    )
    .option(
      '--brokers <k>',
      'nats-server nodes; several make a NATS cluster, JetStream on 3 (default: 1 up to 2,000 clusters, then 3+)',
      intArg(1, MAX_BROKERS),
    )
    .option(
      '--shards <s>',
      'shards: an egress gateway and one process per agent kind each (default: one per 1,500 clusters)',
      intArg(1, MAX_LOCAL_SHARDS),
    )
    .option(
      '--hubs <h>',
      'hub replicas sharing the KV buckets, one leader for the time-driven work (default 1)',
      intArg(1, MAX_HUBS),
    )
    .option('--detach', 'leave the fleet running in the background once all clusters are Connected', false)
    .option('--timeout <duration>', 'how long to wait for all clusters to be Connected (real time)', '180s')
    .option('--data-dir <dir>', 'fleet data directory (wiped on start)', DEFAULT_DATA_DIR)
    .option('--subscription <id>', 'subscription id of the clusters')
    .option('--resource-group <rg>', 'resource group of the clusters')
    .option(
      '--prometheus',
      'also start a local Prometheus scraping every service (package `prometheus`)',
      false,
    )
    .option('--prometheus-port <port>', 'port of that Prometheus (default: a free port)', intArg(1, 65_535))
    .addOption(new Option('--dist-dir <dir>', 'directory of the compiled services (development)').hideHelp())
    // What `--detach` starts in the background: a foreground launcher that keeps supervising the fleet.
    .addOption(new Option('--background-launcher', 'run as the background launcher of --detach').hideHelp())
    .action(
      async (o: {
        clusters: number;
        spec?: string;
        seed: string;
        timeScale: number;
        hubPort?: number;
        plainHttp: boolean;
        brokers?: number;
        shards?: number;
        hubs?: number;
        detach: boolean;
        backgroundLauncher?: boolean;
        timeout: string;
        dataDir: string;
        subscription?: string;
        resourceGroup?: string;
        distDir?: string;
        prometheus: boolean;
        prometheusPort?: number;
      }) => {
        if (o.detach && !o.backgroundLauncher) {
          setExitCode(await detachCommand(process.argv.slice(2), o.dataDir, o.timeout));
          return;
        }
        setExitCode(
          await upCommand({
            clusters: o.clusters,
            seed: /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed,
            timeScale: o.timeScale,
            detach: false,
            timeout: o.timeout,
            dataDir: o.dataDir,
            ...(o.spec === undefined ? {} : { specFile: o.spec }),
            ...(o.hubPort === undefined ? {} : { hubPort: o.hubPort }),
            ...(o.plainHttp ? { plainHttp: true } : {}),
            ...(o.brokers === undefined ? {} : { brokers: o.brokers }),
            ...(o.shards === undefined ? {} : { shards: o.shards }),
            ...(o.hubs === undefined ? {} : { hubs: o.hubs }),
            ...(o.subscription === undefined ? {} : { subscriptionId: o.subscription }),
            ...(o.resourceGroup === undefined ? {} : { resourceGroup: o.resourceGroup }),
            ...(o.distDir === undefined ? {} : { distDir: o.distDir }),
            prometheus: o.prometheus,
            ...(o.prometheusPort === undefined ? {} : { prometheusPort: o.prometheusPort }),
          }),
        );
      },
    );

  program
    .command('init')
    .description(
      'write generated clusters to the cluster store and onboard them, starting nothing (docker compose)',
    )
    .option('--clusters <n>', 'number of generated clusters', intArg(0, 100_000), DEFAULT_CLUSTER_COUNT)
    .option('--seed <seed>', 'seed of the generated fleet', '1')
    .option(
      '--data-dir <dir>',
      'cluster store directory (kept: existing clusters are not rewritten)',
      DEFAULT_DATA_DIR,
    )
    .requiredOption('--hub-url <url>', 'hub URL the clusters are onboarded to')
    .option('--timeout <duration>', 'how long to wait for the hub to be ready (real time)', '60s')
    .option(
      '--trust-dir <dir>',
      "the fleet's trust material (`arcfleet trust init --dir`): trust its CA, sign the owner's tokens",
    )
    .action(
      async (o: {
        clusters: number;
        seed: string;
        dataDir: string;
        hubUrl: string;
        timeout: string;
        trustDir?: string;
      }) => {
        if (o.trustDir !== undefined) await trustCaFile(join(tlsDir(o.trustDir), TLS_FILES.ca));
        await initFleet(
          {
            clusters: o.clusters,
            seed: /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed,
            dataDir: o.dataDir,
            hubUrl: o.hubUrl,
            timeoutMs: parseDuration(o.timeout, '--timeout'),
            ...(o.trustDir !== undefined ? { token: fleetTokenSource(o.trustDir) } : {}),
          },
          (line) => print(`arcfleet: ${line}`),
        );
      },
    );

  program
    .command('down')
    .description('stop the fleet started with `up --detach` (or a foreground `up`)')
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .action(async (o: { dataDir: string }) => {
      setExitCode(await downCommand(o.dataDir));
    });

  outputOption(program.command('ps'), 'table')
    .description('the fleet\u2019s processes: pid, state, restarts by the supervisor, last crash')
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .action(async (o: { dataDir: string; output: string }) => {
      print(await psCommand(o.dataDir, parseOutput(o.output) === 'json'));
    });
}
