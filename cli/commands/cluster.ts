/** `az connectedk8s`-like commands and run-time cluster changes. Each returns the text to print. */
import { writeFile } from 'node:fs/promises';
import {
  ArcError,
  ERROR_CODES,
  AGENT_NAMES,
  type AgentName,
  type ClusterState,
} from '../../contract/index.js';
import type { FleetContext } from '../context.js';
import { clusterView, clustersTable } from '../format.js';
import { connectCluster, disconnectCluster } from '../../fleet/onboard.js';

export type OutputFormat = 'json' | 'table';

export function parseOutput(value: string): OutputFormat {
  if (value === 'json' || value === 'table') return value;
  throw new ArcError(ERROR_CODES.InvalidParameter, `-o ${value}: expected json or table`, {
    status: 400,
    target: '-o',
  });
}

export async function listCommand(
  ctx: FleetContext,
  output: OutputFormat,
  resourceGroup?: string,
): Promise<string> {
  const body = await ctx.client.listClusters(ctx.subscriptionId, resourceGroup);
  return output === 'json' ? JSON.stringify(body, null, 2) : clustersTable(body.value);
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

async function change(
  ctx: FleetContext,
  name: string,
  fn: (s: ClusterState) => ClusterState,
): Promise<ClusterState> {
  await ctx.cluster(name); // NotFound with a clear message
  const next = await ctx.store.updateState(name, new Date(ctx.clock.now()).toISOString(), fn);
  if (!next)
    throw new ArcError(ERROR_CODES.NotFound, `cluster ${name} disappeared from the store`, { status: 404 });
  return next;
}

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
  const next = await change(ctx, name, (s) => ({ ...s, kubernetesVersion: version.replace(/^v/, '') }));
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
  const next = await change(ctx, name, (s) => ({
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
  const next = await change(ctx, name, (s) => ({
    ...s,
    stoppedAgents: stop
      ? [...new Set([...s.stoppedAgents, ...agents])]
      : s.stoppedAgents.filter((a) => !agents.includes(a)),
  }));
  return `${name}: stopped agents: ${next.stoppedAgents.length > 0 ? next.stoppedAgents.join(', ') : 'none'}`;
}

export async function faultCommand(
  ctx: FleetContext,
  name: string,
  faults: { fluxApply?: string; extensionInstall?: string; clear: boolean },
): Promise<string> {
  if (!faults.clear && faults.fluxApply === undefined && faults.extensionInstall === undefined)
    throw new ArcError(ERROR_CODES.InvalidParameter, 'give --flux-apply, --extension-install or --clear', {
      status: 400,
      target: '--flux-apply',
    });
  const next = await change(ctx, name, (s) => ({
    ...s,
    faults: faults.clear
      ? {}
      : {
          ...s.faults,
          ...(faults.fluxApply === undefined ? {} : { fluxApply: faults.fluxApply }),
          ...(faults.extensionInstall === undefined ? {} : { extensionInstall: faults.extensionInstall }),
        },
  }));
  const set = Object.entries(next.faults).map(([k, v]) => `${k}: ${v}`);
  return `${name}: faults: ${set.length > 0 ? set.join('; ') : 'none'}`;
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
