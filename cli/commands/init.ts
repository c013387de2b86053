/**
 * `arcfleet init`: what `arcfleet up` does to a fleet without starting any process, for fleets whose
 * processes something else runs (docker compose): writes generated clusters to the cluster store and
 * onboards each one to the hub (PUT + onboarding secret). Idempotent, so a container that runs it again
 * (`docker compose up` after `stop`) changes nothing: clusters already in the store are kept, clusters
 * that already have an onboarding or identity secret are not onboarded again.
 */
import { resolve } from 'node:path';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { type ClusterState, ArcError, ERROR_CODES } from '../../contract/index.js';
import { clockFromConfig, compileCommonConfig, type Env } from '../../platform/settings.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID, generateFleet } from '../../fleet/generator.js';
import { HubClient, type TokenSource } from '../../fleet/clients/hub-client.js';
import { connectCluster, createResourceGroups } from '../../fleet/onboard.js';
import { mapLimit } from '../../platform/limit.js';
import { waitFor } from '../../platform/wait.js';

export interface InitOptions {
  readonly clusters: number;
  readonly seed: number | string;
  readonly dataDir: string;
  readonly hubUrl: string;
  /** Real ms to wait for the hub's /readyz. */
  readonly timeoutMs: number;
  readonly concurrency?: number;
  /** Where the fleet's clock settings are read (default process.env). */
  readonly env?: Env;
  /** Bearer tokens for a hub that checks them; none for one that does not. */
  readonly token?: TokenSource;
}

export interface InitResult {
  readonly written: number;
  readonly onboarded: number;
  readonly kept: number;
}

export async function initFleet(opts: InitOptions, log: (line: string) => void): Promise<InitResult> {
  // The fleet's clock (ARCFLEET_TIME_SCALE, ARCFLEET_CLOCK_EPOCH_MS) stamps the clusters' changedAt.
  const clock = clockFromConfig(compileCommonConfig(opts.env));
  const store = new ClusterStore(resolve(opts.dataDir));
  const client = new HubClient(opts.hubUrl, opts.token ? { token: opts.token } : {});
  const clusters = generateFleet({
    count: opts.clusters,
    seed: opts.seed,
    subscriptionId: DEFAULT_SUBSCRIPTION_ID,
    resourceGroup: DEFAULT_RESOURCE_GROUP,
    nowIso: new Date(clock.now()).toISOString(),
  });
  const existing = new Set((await store.list()).map((n) => n.toLowerCase()));
  const fresh = clusters.filter((c) => !existing.has(c.name.toLowerCase()));
  await mapLimit(fresh, 32, (c) => store.writeState(c));
  log(`${fresh.length} clusters written to ${store.root} (${clusters.length - fresh.length} already there)`);

  await waitFor(() => client.ready(), {
    timeoutMs: opts.timeoutMs,
    onTimeout: () =>
      new ArcError(
        ERROR_CODES.InternalServerError,
        `the hub did not answer GET ${opts.hubUrl}/readyz with 200 within ${opts.timeoutMs / 1000} s`,
      ),
  });
  const needsOnboarding = async (c: ClusterState): Promise<boolean> =>
    (await store.readOnboarding(c.name)) === undefined && (await store.readIdentity(c.name)) === undefined;
  await createResourceGroups(client, clusters);
  const pending: ClusterState[] = [];
  for (const c of clusters) if (await needsOnboarding(c)) pending.push(c);
  await mapLimit(pending, opts.concurrency ?? 16, (c) => connectCluster(client, store, c));
  log(
    `${pending.length} clusters onboarded at ${opts.hubUrl} (${clusters.length - pending.length} already were)`,
  );
  return { written: fresh.length, onboarded: pending.length, kept: clusters.length - pending.length };
}
