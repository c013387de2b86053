/**
 * Node-pool snapshots (fleet/snapshots.ts): the `snapshot` group (create, list, show, delete) and the
 * `cluster` commands that use one (add-pool, upgrade-pool, create). Each returns the text to print. A
 * changed or created cluster is in the cluster store at once; its agents report the new metadata and the
 * hub's connectedClusters resource follows.
 */
import type { Command } from 'commander';
import { ArcError, CLUSTER_NAME_PATTERN, ERROR_CODES, type ClusterState } from '../../contract/index.js';
import { connectCluster } from '../../fleet/onboard.js';
import {
  SnapshotStore,
  addPoolFromSnapshot,
  clusterFromSnapshot,
  takeSnapshot,
  upgradePoolToSnapshot,
} from '../../fleet/snapshots.js';
import { loadContext, type FleetContext } from '../context.js';
import { changeCluster } from './change-cluster.js';
import { table } from '../format.js';
import { fleetOptions, intArg, outputOption, parseOutput, type GlobalOpts, type Print } from './options.js';

const POOL_NAME = /^[a-z0-9][-a-z0-9]{0,39}$/;

function nodesOf(s: ClusterState): number {
  return s.nodePools.reduce((n, p) => n + p.count, 0);
}

export async function snapshotCreateCommand(
  ctx: FleetContext,
  name: string,
  cluster: string,
  pool: string,
): Promise<string> {
  const snaps = new SnapshotStore(ctx.dataDir);
  const state = await ctx.cluster(cluster);
  const snap = takeSnapshot(state, pool, name, {
    nowIso: new Date(ctx.clock.now()).toISOString(),
    by: process.env['USER'] ?? 'arcfleet',
  });
  await snaps.save(snap);
  const p = snap.properties;
  return `snapshot ${snap.name}: ${cluster}/${pool} — Kubernetes ${p.kubernetesVersion}, ${p.nodeImageVersion}, ${p.osType}/${p.osSku}, ${p.vmSize}, ${snap.location}`;
}

export async function snapshotListCommand(ctx: FleetContext, output: 'json' | 'table'): Promise<string> {
  const all = await new SnapshotStore(ctx.dataDir).list();
  if (output === 'json') return JSON.stringify({ value: all }, null, 2);
  return table(
    ['NAME', 'LOCATION', 'KUBERNETES', 'NODE IMAGE', 'OS', 'VM SIZE', 'SOURCE'],
    all.map((s) => [
      s.name,
      s.location,
      s.properties.kubernetesVersion,
      s.properties.nodeImageVersion,
      `${s.properties.osType}/${s.properties.osSku}`,
      s.properties.vmSize,
      s.properties.creationData.sourceResourceId.replace(/^.*\/connectedClusters\//, ''),
    ]),
  );
}

export async function addPoolCommand(
  ctx: FleetContext,
  name: string,
  opts: { pool: string; snapshot: string; count: number; vmSize?: string },
): Promise<string> {
  if (!POOL_NAME.test(opts.pool))
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `--pool ${opts.pool}: lower-case alphanumerics and -, up to 40 characters`,
      {
        status: 400,
        target: '--pool',
      },
    );
  const snap = await new SnapshotStore(ctx.dataDir).get(opts.snapshot);
  // A refusal is thrown inside the change, before anything is written (ClusterStore.updateState).
  const next = await changeCluster(ctx, name, (s) =>
    addPoolFromSnapshot(s, snap, {
      name: opts.pool,
      count: opts.count,
      ...(opts.vmSize ? { vmSize: opts.vmSize } : {}),
    }),
  );
  return `${name}: pool ${opts.pool} (${opts.count} nodes) from snapshot ${snap.name} — cluster total ${nodesOf(next)} nodes, generation ${next.generation}`;
}

export async function upgradePoolCommand(
  ctx: FleetContext,
  name: string,
  pool: string,
  snapshot: string,
): Promise<string> {
  const snap = await new SnapshotStore(ctx.dataDir).get(snapshot);
  const before = await ctx.cluster(name);
  const next = await changeCluster(ctx, name, (s) => upgradePoolToSnapshot(s, pool, snap));
  const was = before.nodePools.find((p) => p.name === pool)?.nodeImageVersion ?? '?';
  return `${name}: pool ${pool} ${was} → ${snap.properties.nodeImageVersion} (snapshot ${snap.name}, generation ${next.generation})`;
}

export async function createFromSnapshotCommand(
  ctx: FleetContext,
  name: string,
  opts: { snapshot: string; count: number; connect: boolean },
): Promise<string> {
  if (!CLUSTER_NAME_PATTERN.test(name))
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `${name}: 1-63 letters, digits, - and _, starting with a letter or digit`,
      {
        status: 400,
        target: 'name',
      },
    );
  if ((await ctx.store.readState(name)) !== undefined)
    throw new ArcError(ERROR_CODES.Conflict, `cluster ${name} already exists in the cluster store`, {
      status: 409,
      target: 'name',
    });
  const snap = await new SnapshotStore(ctx.dataDir).get(opts.snapshot);
  const source = /\/connectedClusters\/([^/]+)\/agentPools\//.exec(
    snap.properties.creationData.sourceResourceId,
  )?.[1];
  const like = source === undefined ? undefined : await ctx.store.readState(source);
  const state = clusterFromSnapshot(
    snap,
    {
      name,
      subscriptionId: ctx.subscriptionId,
      resourceGroup: ctx.resourceGroup,
      count: opts.count,
      nowIso: new Date(ctx.clock.now()).toISOString(),
    },
    like,
  );
  await ctx.store.writeState(state);
  const created = `${name}: created from snapshot ${snap.name} in ${state.location} (Kubernetes ${state.kubernetesVersion}, ${opts.count} nodes)`;
  if (!opts.connect) return `${created}; \`arcfleet connect ${name}\` onboards it`;
  const result = await connectCluster(ctx.client, ctx.store, state);
  return `${created}; PUT ${result.status}, the agents onboard from the new onboarding secret`;
}

/** Adds the `snapshot` group to the program. */
export function registerSnapshotCommands(program: Command, print: Print): void {
  const snapshot = program
    .command('snapshot')
    .description('node-pool snapshots: take one, make pools and clusters from it');
  fleetOptions(snapshot.command('create').argument('<name>'))
    .requiredOption('--cluster <cluster>', 'the cluster whose pool to snapshot')
    .requiredOption('--pool <pool>', 'the node pool')
    .description("capture a node pool's image, Kubernetes version, OS and VM size")
    .action(async (name: string, o: GlobalOpts & { cluster: string; pool: string }) => {
      print(await snapshotCreateCommand(await loadContext(o, false), name, o.cluster, o.pool));
    });
  outputOption(fleetOptions(snapshot.command('list')), 'table')
    .description('list the snapshots (json: the Microsoft.ContainerService/snapshots shape)')
    .action(async (o: GlobalOpts) => {
      print(await snapshotListCommand(await loadContext(o, false), parseOutput(o.output ?? 'table')));
    });
  fleetOptions(snapshot.command('show').argument('<name>'))
    .description('show one snapshot')
    .action(async (name: string, o: GlobalOpts) => {
      const ctx = await loadContext(o, false);
      print(JSON.stringify(await new SnapshotStore(ctx.dataDir).get(name), null, 2));
    });
  fleetOptions(snapshot.command('delete').argument('<name>'))
    .description('delete a snapshot (pools made from it keep their image)')
    .action(async (name: string, o: GlobalOpts) => {
      const ctx = await loadContext(o, false);
      const gone = await new SnapshotStore(ctx.dataDir).delete(name);
      print(gone ? `snapshot ${name} deleted` : `no snapshot ${name}`);
    });
}

/** Adds add-pool, upgrade-pool and create to the `cluster` group. */
export function registerSnapshotClusterCommands(cluster: Command, print: Print): void {
  fleetOptions(cluster.command('add-pool').argument('<name>'))
    .requiredOption('--pool <pool>', 'the new pool’s name')
    .requiredOption('--snapshot <snapshot>', 'the snapshot it is made from')
    .option('--count <n>', 'node count', intArg(0, 5000), 3)
    .option('--vm-size <size>', 'VM size (default: the snapshot’s; same VM family)')
    .description('add a node pool created from a snapshot')
    .action(
      async (
        name: string,
        o: GlobalOpts & { pool: string; snapshot: string; count: number; vmSize?: string },
      ) => {
        print(await addPoolCommand(await loadContext(o, false), name, o));
      },
    );
  fleetOptions(cluster.command('upgrade-pool').argument('<name>'))
    .requiredOption('--pool <pool>', 'node pool')
    .requiredOption('--snapshot <snapshot>', 'the snapshot whose image the pool gets')
    .description('upgrade a node pool to exactly a snapshot’s node image')
    .action(async (name: string, o: GlobalOpts & { pool: string; snapshot: string }) => {
      print(await upgradePoolCommand(await loadContext(o, false), name, o.pool, o.snapshot));
    });
  fleetOptions(cluster.command('create').argument('<name>'))
    .requiredOption('--snapshot <snapshot>', 'the snapshot its node pool is made from')
    .option('--count <n>', 'node count', intArg(1, 5000), 3)
    .option('--no-connect', 'only create it in the cluster store (connect later with `arcfleet connect`)')
    .description('create an emulated cluster from a snapshot (and connect it)')
    .action(async (name: string, o: GlobalOpts & { snapshot: string; count: number; connect: boolean }) => {
      print(await createFromSnapshotCommand(await loadContext(o, o.connect), name, o));
    });
}
