/**
 * `az connectedk8s`-like commands (list, show, connect, delete, kubeconfig), each returning the text
 * to print, and their commander wiring; the run-time cluster changes are in cluster-changes.ts.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadContext, type FleetContext } from '../context.js';
import { clusterView, clustersTable } from '../format.js';
import { connectCluster, disconnectCluster } from '../../fleet/onboard.js';
import { registerClusterChangeCommands } from './cluster-changes.js';
import {
  fleetOptions,
  outputOption,
  parseOutput,
  type GlobalOpts,
  type OutputFormat,
  type Print,
} from './options.js';

export async function listCommand(
  ctx: FleetContext,
  output: OutputFormat,
  resourceGroup?: string,
): Promise<string> {
  const body = await ctx.client.listClusters(ctx.subscriptionId, resourceGroup);
  if (output === 'json') return JSON.stringify(body, null, 2);
  // The support window marks agents more than N-2 minors behind.
  const releases = await ctx.client.agentReleases().catch(() => undefined);
  const support =
    releases?.latest && releases.oldestSupportedMinor
      ? { latest: releases.latest, oldestSupportedMinor: releases.oldestSupportedMinor }
      : undefined;
  return clustersTable(body.value, support);
}

export async function showCommand(ctx: FleetContext, name: string, output: OutputFormat): Promise<string> {
  const cluster = await ctx.client.getCluster(await ctx.ref(name));
  return output === 'json' ? JSON.stringify(cluster, null, 2) : clusterView(cluster);
}

export async function connectCommand(ctx: FleetContext, name: string): Promise<string> {
  const state = await ctx.cluster(name);
  const result = await connectCluster(ctx.client, ctx.store, state);
  return `${state.name}: PUT ${result.status}, provisioningState ${result.resource.properties.provisioningState}, connectivityStatus ${result.resource.properties.connectivityStatus}; the agents onboard from the new onboarding secret`;
}

export async function deleteCommand(ctx: FleetContext, name: string): Promise<string> {
  const state = await ctx.cluster(name);
  const status = await disconnectCluster(ctx.client, ctx.store, state);
  return `${state.name}: DELETE ${status}; agents told to stop. \`arcfleet connect ${state.name}\` connects it again`;
}

/** `az connectedk8s proxy`'s first half: the kubeconfig from listClusterUserCredential. */
export async function kubeconfigCommand(
  ctx: FleetContext,
  name: string,
  user: string,
  file: string | undefined,
): Promise<string> {
  const ref = await ctx.ref(name);
  const kubeconfig = await ctx.client.clusterUserKubeconfig(ref, user);
  if (file === undefined) return kubeconfig.trimEnd();
  await writeFile(file, kubeconfig, { mode: 0o600 });
  return `${name}: kubeconfig written to ${file} (kubectl --kubeconfig ${file} get pods -n azure-arc)`;
}

/**
 * Adds `list`, `show`, `connect`, `delete`, the `cluster` group (cluster-changes.ts) and `kubeconfig`
 * to the program, in that order (the order of `arcfleet --help`).
 */
export function registerClusterCommands(program: Command, print: Print): void {
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

  registerClusterChangeCommands(program, print);

  fleetOptions(program.command('kubeconfig').argument('<name>'))
    .option('--file <path>', 'write the kubeconfig here instead of printing it')
    .option('--user <user>', 'the user the token is for', 'clusterUser')
    .description('listClusterUserCredential: a kubeconfig that reaches the cluster through cluster connect')
    .action(async (name: string, o: GlobalOpts & { file?: string; user: string }) => {
      print(await kubeconfigCommand(await loadContext(o), name, o.user, o.file));
    });
}
