/** How a CLI command finds the running fleet: `<dataDir>/fleet.json`, with --hub-url etc. overrides. */
import { join, resolve } from 'node:path';
import { ArcError, ERROR_CODES, type ClusterState, type ClusterRef } from '../contract/index.js';
import { ClusterStore } from '../agent-runtime/cluster-store.js';
import type { SimClock } from '../platform/clock.js';
import { clockOf, fleetFilePath, readFleetFile, type FleetFile } from '../fleet/fleet-file.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from '../fleet/generator.js';
import { HubClient, type TokenSource } from '../fleet/clients/hub-client.js';
import { fleetTokenSource, issuerDir } from '../fleet/tokens.js';
import { ISSUER_FILES } from '../platform/fleet-issuer.js';
import { fileExists } from '../platform/atomic-file.js';
import { DEFAULT_DATA_DIR } from '../fleet/index.js';
import { trustCaFile } from '../fleet/trust.js';

export interface ContextOptions {
  readonly dataDir?: string;
  readonly hubUrl?: string;
  readonly subscription?: string;
  readonly resourceGroup?: string;
}

export interface FleetContext {
  readonly dataDir: string;
  readonly fleet: FleetFile | undefined;
  readonly client: HubClient;
  readonly store: ClusterStore;
  readonly clock: SimClock;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** The cluster as the cluster store knows it; NotFound otherwise. */
  cluster(name: string): Promise<ClusterState>;
  /** sub/rg/name of a cluster: flags, else the cluster store (large fleets span resource groups), else the fleet's. */
  ref(name: string): Promise<ClusterRef>;
}

/** The fleet's tokens when this data dir holds its issuer key (a fleet `arcfleet up` started). */
/**
 * The bearer token of the CLI's ARM calls: `ARCFLEET_TOKEN` when set (a hub whose issuer key is not
 * here: compose's, `arcfleet token` run where the key is), else the owner's, signed with the data
 * dir's issuer key; none without either (a hub without token checks).
 */
async function tokensFor(dataDir: string): Promise<{ token?: TokenSource }> {
  const given = process.env['ARCFLEET_TOKEN']?.trim();
  if (given) return { token: async () => given };
  const key = join(issuerDir(dataDir), ISSUER_FILES.key);
  return (await fileExists(key)) ? { token: fleetTokenSource(dataDir) } : {};
}

export async function loadContext(opts: ContextOptions, needHub = true): Promise<FleetContext> {
  const dataDir = resolve(opts.dataDir ?? DEFAULT_DATA_DIR);
  const fleet = await readFleetFile(dataDir);
  const hubUrl = opts.hubUrl ?? fleet?.hubUrl;
  if (needHub && hubUrl === undefined)
    throw new ArcError(
      ERROR_CODES.NotFound,
      `no fleet found (${fleetFilePath(dataDir)} is missing); start one with \`arcfleet up\`, or pass --data-dir or --hub-url`,
      { status: 404 },
    );
  if (needHub && opts.hubUrl === undefined && fleet && Object.keys(fleet.pids).length === 0)
    throw new ArcError(
      ERROR_CODES.NotFound,
      `no fleet is running from ${dataDir} (it was stopped); start one with \`arcfleet up\``,
      { status: 404 },
    );
  // The hub speaks HTTPS with the fleet's own CA (fleet.json names it).
  await trustCaFile(fleet?.caFile);
  const store = new ClusterStore(dataDir);
  return {
    dataDir,
    fleet,
    client: new HubClient(hubUrl ?? 'http://127.0.0.1:0', await tokensFor(dataDir)),
    store,
    clock: clockOf(fleet),
    subscriptionId: opts.subscription ?? fleet?.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID,
    resourceGroup: opts.resourceGroup ?? fleet?.resourceGroup ?? DEFAULT_RESOURCE_GROUP,
    async cluster(name) {
      const state = await store.readState(name);
      if (!state)
        throw new ArcError(
          ERROR_CODES.NotFound,
          `cluster ${name} is not in the cluster store (${store.root})`,
          {
            status: 404,
            target: 'NAME',
          },
        );
      return state;
    },
    async ref(name) {
      const state =
        opts.subscription && opts.resourceGroup
          ? undefined
          : await store.readState(name).catch(() => undefined);
      return {
        subscriptionId:
          opts.subscription ?? state?.subscriptionId ?? fleet?.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID,
        resourceGroup:
          opts.resourceGroup ?? state?.resourceGroup ?? fleet?.resourceGroup ?? DEFAULT_RESOURCE_GROUP,
        name,
      };
    },
  };
}
