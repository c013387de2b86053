/** A run-time change of an emulated cluster's state (cluster-changes.ts, snapshot.ts): NotFound named. */
import { ArcError, ERROR_CODES, type ClusterState } from '../../contract/index.js';
import type { FleetContext } from '../context.js';

export async function changeCluster(
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
