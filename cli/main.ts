#!/usr/bin/env node
/** `arcfleet`: wires the commands; behaviour lives in the modules beside it. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from '../platform/duration.js';
import { isArcError } from '../contract/index.js';
import {
  connectCommand,
  deleteCommand,
  faultCommand,
  kubeconfigCommand,
  listCommand,
  parseAgents,
  parseOutput,
  scaleCommand,
  setAgentsCommand,
  showCommand,
  upgradeCommand,
} from './commands/cluster.js';
import { registerChaosCommands } from './commands/chaos.js';
import { loadContext, type ContextOptions } from './context.js';
import { initFleet } from './commands/init.js';
import { DEFAULT_CLUSTER_COUNT, DEFAULT_DATA_DIR, DEFAULT_TIME_SCALE } from '../fleet/index.js';
import { detachCommand, downCommand, psCommand, upCommand } from './commands/up.js';
import { moveCluster } from './commands/move.js';
import { DEFAULT_PROXY_PORT, startClientProxy } from './commands/proxy.js';

function intArg(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number ${min}..${max}`);
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

interface GlobalOpts extends ContextOptions {
  readonly output?: string;
}

function fleetOptions(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .option('--hub-url <url>', 'hub URL (default: from <data-dir>/fleet.json)')
    .option('--subscription <id>', 'subscription id (default: the fleet\u2019s)')
    .option('--resource-group <rg>', 'resource group (default: the fleet\u2019s)');
}

function outputOption(cmd: Command, defaultFormat: 'json' | 'table'): Command {
  return cmd.addOption(
    new Option('-o, --output <format>', 'output format').choices(['json', 'table']).default(defaultFormat),
  );
}

let exitCode = 0;
const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

export function buildProgram(): Command {
  const program = new Command('arcfleet')
    .description('Emulated Azure Arc-enabled Kubernetes fleet: launcher and az connectedk8s-like commands')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });

  program
    .command('up')
    .description('start nats-server, the hub and the agent services; onboard every cluster')
    .option('--clusters <n>', 'number of generated clusters', intArg(0, 100_000), DEFAULT_CLUSTER_COUNT)
    .option('--spec <file>', 'fleet spec YAML (instead of generated clusters)')
    .option('--seed <seed>', 'seed of the generated fleet', '1')
    .option('--time-scale <x>', 'simulated seconds per real second', positiveNumber, DEFAULT_TIME_SCALE)
    .option('--hub-port <port>', 'hub HTTP port (default: a free port)', intArg(1, 65_535))
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
          exitCode = await detachCommand(process.argv.slice(2), o.dataDir, o.timeout);
          return;
        }
        exitCode = await upCommand({
          clusters: o.clusters,
          seed: /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed,
          timeScale: o.timeScale,
          detach: false,
          timeout: o.timeout,
          dataDir: o.dataDir,
          ...(o.spec === undefined ? {} : { specFile: o.spec }),
          ...(o.hubPort === undefined ? {} : { hubPort: o.hubPort }),
          ...(o.subscription === undefined ? {} : { subscriptionId: o.subscription }),
          ...(o.resourceGroup === undefined ? {} : { resourceGroup: o.resourceGroup }),
          ...(o.distDir === undefined ? {} : { distDir: o.distDir }),
          prometheus: o.prometheus,
          ...(o.prometheusPort === undefined ? {} : { prometheusPort: o.prometheusPort }),
        });
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
    .action(
      async (o: { clusters: number; seed: string; dataDir: string; hubUrl: string; timeout: string }) => {
        await initFleet(
          {
            clusters: o.clusters,
            seed: /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed,
            dataDir: o.dataDir,
            hubUrl: o.hubUrl,
            timeoutMs: parseDuration(o.timeout, '--timeout'),
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
      exitCode = await downCommand(o.dataDir);
    });

  outputOption(program.command('ps'), 'table')
    .description('the fleet\u2019s processes: pid, state, restarts by the supervisor, last crash')
    .option('--data-dir <dir>', 'fleet data directory', DEFAULT_DATA_DIR)
    .action(async (o: { dataDir: string; output: string }) => {
      print(await psCommand(o.dataDir, parseOutput(o.output) === 'json'));
    });

  outputOption(fleetOptions(program.command('list')), 'table')
    .description('list the connected clusters (json = the ARM LIST body)')
    .action(async (o: GlobalOpts) => {
      print(await listCommand(await loadContext(o), parseOutput(o.output ?? 'table'), o.resourceGroup));
    });

  outputOption(fleetOptions(program.command('show').argument('<name>')), 'json')
    .description('show one connected cluster, like `az connectedk8s show`')
    .action(async (name: string, o: GlobalOpts) => {
      print(await showCommand(await loadContext(o), name, parseOutput(o.output ?? 'json')));
    });

  fleetOptions(program.command('connect').argument('<name>'))
    .description('connect (onboard) a cluster from the cluster store, e.g. after delete')
    .action(async (name: string, o: GlobalOpts) => {
      print(await connectCommand(await loadContext(o), name));
    });

  fleetOptions(program.command('delete').argument('<name>'))
    .description('delete the connectedClusters resource and uninstall its agents')
    .action(async (name: string, o: GlobalOpts) => {
      print(await deleteCommand(await loadContext(o), name));
    });

  const cluster = program.command('cluster').description('change an emulated cluster at run time');
  fleetOptions(cluster.command('upgrade').argument('<name>'))
    .requiredOption('--kubernetes-version <version>', 'new Kubernetes version, e.g. 1.31.2')
    .description('upgrade the cluster\u2019s Kubernetes version')
    .action(async (name: string, o: GlobalOpts & { kubernetesVersion: string }) => {
      print(await upgradeCommand(await loadContext(o, false), name, o.kubernetesVersion));
    });
  fleetOptions(cluster.command('scale').argument('<name>'))
    .requiredOption('--pool <pool>', 'node pool name')
    .requiredOption('--count <n>', 'node count', intArg(0, 5000))
    .description('scale a node pool')
    .action(async (name: string, o: GlobalOpts & { pool: string; count: number }) => {
      print(await scaleCommand(await loadContext(o, false), name, o.pool, o.count));
    });
  fleetOptions(cluster.command('stop-agents').argument('<name>'))
    .option('--agent <agent>', 'one agent (default: all)')
    .description('stop the cluster\u2019s agents (as if their deployments were scaled to 0)')
    .action(async (name: string, o: GlobalOpts & { agent?: string }) => {
      print(await setAgentsCommand(await loadContext(o, false), name, parseAgents(o.agent), true));
    });
  fleetOptions(cluster.command('start-agents').argument('<name>'))
    .option('--agent <agent>', 'one agent (default: all)')
    .description('start the cluster\u2019s stopped agents again')
    .action(async (name: string, o: GlobalOpts & { agent?: string }) => {
      print(await setAgentsCommand(await loadContext(o, false), name, parseAgents(o.agent), false));
    });

  fleetOptions(cluster.command('fault').argument('<name>'))
    .option('--flux-apply <message>', 'config-agent’s apply of Flux configurations fails with this message')
    .option('--extension-install <message>', 'extension-manager’s Helm installs fail with this message')
    .option('--clear', 'remove every injected fault')
    .description('inject (or clear) an in-cluster failure')
    .action(
      async (
        name: string,
        o: GlobalOpts & { fluxApply?: string; extensionInstall?: string; clear?: boolean },
      ) => {
        print(
          await faultCommand(await loadContext(o, false), name, {
            ...(o.fluxApply === undefined ? {} : { fluxApply: o.fluxApply }),
            ...(o.extensionInstall === undefined ? {} : { extensionInstall: o.extensionInstall }),
            clear: o.clear === true,
          }),
        );
      },
    );

  fleetOptions(program.command('kubeconfig').argument('<name>'))
    .option('--file <path>', 'write the kubeconfig here instead of printing it')
    .option('--user <user>', 'the user the token is for', 'clusterUser')
    .description('listClusterUserCredential: a kubeconfig that reaches the cluster through cluster connect')
    .action(async (name: string, o: GlobalOpts & { file?: string; user: string }) => {
      print(await kubeconfigCommand(await loadContext(o), name, o.user, o.file));
    });

  fleetOptions(program.command('proxy').argument('<name>'))
    .option('--port <port>', 'local port', intArg(0, 65535), DEFAULT_PROXY_PORT)
    .option('--file <path>', 'write the kubeconfig for the proxy here', 'arcfleet-proxy.kubeconfig')
    .option('--user <user>', 'the user the token is for', 'clusterUser')
    .description(
      'az connectedk8s proxy: a local proxy to the cluster through cluster connect (Ctrl-C stops it)',
    )
    .action(async (name: string, o: GlobalOpts & { port: number; file: string; user: string }) => {
      const ctx = await loadContext(o);
      const proxy = await startClientProxy(ctx.client, await ctx.ref(name), {
        port: o.port,
        user: o.user,
        kubeconfigFile: o.file,
      });
      print(`Proxy is listening on ${proxy.url} for ${name}; kubeconfig: ${o.file}`);
      print(`Try: kubectl --kubeconfig ${o.file} get pods -n azure-arc   (Ctrl-C stops the proxy)`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await proxy.close();
    });

  outputOption(fleetOptions(program.command('move').argument('<name>')), 'table')
    .requiredOption('--to <location>', 'the new location (region)')
    .option(
      '--protected-settings <file>',
      'JSON {extensions:{name:{k:v}}, fluxConfigurations:{...}} kept from the original requests',
    )
    .option('--timeout <seconds>', 'longest wait of each step', positiveNumber, 120)
    .description('move a connected cluster to another region (the documented procedure, step by step)')
    .action(
      async (name: string, o: GlobalOpts & { to: string; protectedSettings?: string; timeout: number }) => {
        const report = await moveCluster(await loadContext(o), name, {
          to: o.to,
          protectedSettingsFile: o.protectedSettings,
          timeoutMs: o.timeout * 1000,
          log: o.output === 'json' ? undefined : (line) => print(line),
        });
        if (o.output === 'json') print(JSON.stringify(report, null, 2));
        else
          print(
            report.equal
              ? `${report.cluster}: moved ${report.from} → ${report.to}; LIST after re-creating equals LIST before (${Object.values(report.before).flat().length} resources; kept in ${report.savedTo})`
              : `${report.cluster}: moved ${report.from} → ${report.to}, but the LISTs differ:\n  ${report.differences.join('\n  ')}`,
          );
        if (!report.equal) exitCode = 1;
      },
    );

  registerChaosCommands(program, print, (code) => {
    exitCode = code;
  });

  return program;
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  exitCode = 0;
  try {
    await buildProgram().parseAsync([...argv]);
    return exitCode;
  } catch (err) {
    if (isArcError(err)) process.stderr.write(`arcfleet: ${err.code}: ${err.message}\n`);
    else process.stderr.write(`arcfleet: error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** Exits once stdout and stderr are flushed (a pipe may hold more than its buffer: `list -o json | jq`). */
function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// Exit explicitly: idle HTTP keep-alive sockets must not hold a finished command open.
main().then(exitAfterFlush, (err: unknown) => {
  process.stderr.write(`arcfleet: error: ${String(err)}\n`);
  exitAfterFlush(1);
});
