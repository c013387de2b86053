/**
 * What a scenario's `clusterConnect` expectation observes: one request through cluster connect, as a
 * user's kubectl makes it (the cluster-user credential from listClusterUserCredential, then
 * `GET /version`). Split from runner.ts.
 */
import { ArcError, ERROR_CODES } from '../../contract/index.js';
import type { FleetContext } from '../context.js';

/** The user a scenario's probes act as. */
const PROBE_USER = 'scenario@arcfleet.local';

export interface ProbeCheck {
  readonly ok: boolean;
  readonly observed: string;
}

/** `GET /version` through cluster connect to `cluster`: does it answer `want`? */
export async function clusterConnectCheck(
  ctx: FleetContext,
  cluster: string,
  want: { status: number; reason?: string },
): Promise<ProbeCheck> {
  const state = await ctx.store.readState(cluster);
  if (!state)
    throw new ArcError(ERROR_CODES.InvalidParameter, `no cluster named ${cluster} in the cluster store`);
  const { server, token } = await ctx.client.clusterUserCredential(state, PROBE_USER);
  const res = await fetch(`${server}/version`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let reason: string | undefined;
  try {
    reason = (JSON.parse(text) as { reason?: string }).reason;
  } catch {
    reason = undefined;
  }
  const ok = res.status === want.status && (want.reason === undefined || reason === want.reason);
  return { ok, observed: `${res.status}${reason === undefined ? '' : ` ${reason}`}` };
}
