/**
 * Why this file exists: the `arcfleet cluster ...` group (upgrade, scale, stop-agents, start-agents,
 * fault), the run-time changes to an emulated cluster's state, split out of cluster.ts with their
 * commander wiring. Each command returns the text to print.
 */
import type { Command } from 'commander';
import { registerFeatureCommands } from './features.js';
import { registerAgentUpgradeCommands, upgradeAgentsCommand } from './agent-upgrade.js';
import { registerFluxLogsCommand } from './flux-logs.js';
import {
  ArcError,
  ERROR_CODES,
  AGENT_NAMES,
  type AgentName,
  type ClusterState,
} from '../../contract/index.js';
import { loadContext, type FleetContext } from '../context.js';
import { changeCluster } from './change-cluster.js';
import { fleetOptions, intArg, type GlobalOpts, type Print } from './options.js';
import { registerSnapshotClusterCommands } from './snapshot.js';

export async function upgradeCommand(ctx: FleetContext, name: string, version: string): Promise<string> {
  if (!/^v?\d+\.\d+\.\d+$/.test(version))
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `--kubernetes-version ${version}: expected e.g. 1.31.2`,
      {
        status: 400,
        target: '--kubernetes-version',
      },
    );
  const before = await ctx.cluster(name);
  const next = await changeCluster(ctx, name, (s) => ({
    ...s,
    kubernetesVersion: version.replace(/^v/, ''),
  }));
  return `${name}: Kubernetes ${before.kubernetesVersion} → ${next.kubernetesVersion} (generation ${next.generation})`;
}

export async function scaleCommand(
  ctx: FleetContext,
  name: string,
  pool: string,
  count: number,
): Promise<string> {
  if (!Number.isInteger(count) || count < 0 || count > 5000)
    throw new ArcError(ERROR_CODES.InvalidParameter, `--count ${count}: expected a whole number 0..5000`, {
      status: 400,
      target: '--count',
    });
  const before = await ctx.cluster(name);
  const old = before.nodePools.find((p) => p.name === pool);
  if (!old)
    throw new ArcError(
      ERROR_CODES.NotFound,
      `cluster ${name} has no node pool "${pool}" (pools: ${before.nodePools.map((p) => p.name).join(', ')})`,
      { status: 404, target: '--pool' },
    );
  const next = await changeCluster(ctx, name, (s) => ({
    ...s,
    nodePools: s.nodePools.map((p) => (p.name === pool ? { ...p, count } : p)),
  }));
  const nodes = next.nodePools.reduce((n, p) => n + p.count, 0);
  return `${name}: pool ${pool} ${old.count} → ${count} nodes (cluster total ${nodes}, generation ${next.generation})`;
}

export function parseAgents(agent: string | undefined): AgentName[] {
  if (agent === undefined) return [...AGENT_NAMES];
  if (!(AGENT_NAMES as readonly string[]).includes(agent))
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `--agent ${agent}: expected one of ${AGENT_NAMES.join(', ')}`,
      {
        status: 400,
        target: '--agent',
      },
    );
  return [agent as AgentName];
}

export async function setAgentsCommand(
  ctx: FleetContext,
  name: string,
  agents: readonly AgentName[],
  stop: boolean,
): Promise<string> {
  const next = await changeCluster(ctx, name, (s) => ({
    ...s,
    stoppedAgents: stop
      ? [...new Set([...s.stoppedAgents, ...agents])]
      : s.stoppedAgents.filter((a) => !agents.includes(a)),
  }));
  return `${name}: stopped agents: ${next.stoppedAgents.length > 0 ? next.stoppedAgents.join(', ') : 'none'}`;
}

type Faults = ClusterState['faults'];

export async function faultCommand(
  ctx: FleetContext,
  name: string,
  faults: Faults & { clear: boolean },
): Promise<string> {
  const { clear, ...asked } = faults;
  const given = Object.fromEntries(Object.entries(asked).filter(([, v]) => v !== undefined)) as Faults;
  if (!clear && Object.keys(given).length === 0)
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      'give --flux-apply, --extension-install, --agent-upgrade or --clear',
      { status: 400, target: '--flux-apply' },
    );
  const next = await changeCluster(ctx, name, (s) => ({
    ...s,
    faults: clear ? {} : { ...s.faults, ...given },
  }));
  const set = Object.entries(next.faults).map(([k, v]) => `${k}: ${v}`);
  return `${name}: faults: ${set.length > 0 ? set.join('; ') : 'none'}`;
}

/**
 * Adds the `cluster` group (upgrade, scale, stop-agents, start-agents, fault; add-pool, upgrade-pool and
 * create from snapshot.ts) to the program.
 */
export function registerClusterChangeCommands(program: Command, print: Print): void {
  const cluster = program.command('cluster').description('change an emulated cluster at run time');
  fleetOptions(cluster.command('upgrade').argument('<name>'))
    .option('--kubernetes-version <version>', 'new Kubernetes version, e.g. 1.31.2 (in the cluster)')
    .option(
      '--agent-version <version>',
      'Arc agent version to move to, e.g. 1.22.0 (az connectedk8s upgrade)',
    )
    .description('upgrade the cluster\u2019s Kubernetes version, or its Arc agents')
    .action(async (name: string, o: GlobalOpts & { kubernetesVersion?: string; agentVersion?: string }) => {
      if ((o.kubernetesVersion === undefined) === (o.agentVersion === undefined))
        throw new ArcError(ERROR_CODES.InvalidParameter, 'give --kubernetes-version or --agent-version', {
          status: 400,
          target: '--kubernetes-version',
        });
      if (o.agentVersion !== undefined)
        print(await upgradeAgentsCommand(await loadContext(o), name, o.agentVersion));
      else print(await upgradeCommand(await loadContext(o, false), name, o.kubernetesVersion as string));
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
    .option(
      '--agent-upgrade <message>',
      'the Helm upgrade of the Arc agents fails with this message and is rolled back',
    )
    .option('--clear', 'remove every injected fault')
    .description('inject (or clear) an in-cluster failure')
    .action(
      async (
        name: string,
        o: GlobalOpts & {
          fluxApply?: string;
          extensionInstall?: string;
          agentUpgrade?: string;
          clear?: boolean;
        },
      ) => {
        print(
          await faultCommand(await loadContext(o, false), name, {
            fluxApply: o.fluxApply,
            extensionInstall: o.extensionInstall,
            agentUpgrade: o.agentUpgrade,
            clear: o.clear === true,
          }),
        );
      },
    );
  registerSnapshotClusterCommands(cluster, print);
  registerAgentUpgradeCommands(program, cluster, print);
  registerFluxLogsCommand(cluster, print);
  registerFeatureCommands(cluster, print);
}
