/**
 * `arcfleet cluster enable-features|disable-features NAME --features azure-rbac|cluster-connect`, as
 * `az connectedk8s enable-features` does it: on the cluster side (the Helm release's values), deploying
 * or removing the feature's agent (guard for azure-rbac, clusterconnect-agent for cluster-connect).
 */
import type { Command } from 'commander';
import { ArcError, ERROR_CODES, type ClusterState } from '../../contract/index.js';
import { loadContext, type FleetContext } from '../context.js';
import { changeCluster } from './change-cluster.js';
import { fleetOptions, type GlobalOpts, type Print } from './options.js';

const FEATURES: Readonly<Record<string, keyof ClusterState['features']>> = {
  'azure-rbac': 'azureRbac',
  'cluster-connect': 'clusterConnect',
};

export function parseFeatures(list: string): Array<keyof ClusterState['features']> {
  return list
    .split(/[\s,]+/)
    .filter((f) => f !== '')
    .map((f) => {
      const feature = FEATURES[f.toLowerCase()];
      if (!feature)
        throw new ArcError(
          ERROR_CODES.InvalidParameter,
          `--features ${f}: expected ${Object.keys(FEATURES).join(' or ')}`,
          { status: 400, target: '--features' },
        );
      return feature;
    });
}

export async function setFeaturesCommand(
  ctx: FleetContext,
  name: string,
  features: ReadonlyArray<keyof ClusterState['features']>,
  on: boolean,
): Promise<string> {
  const next = await changeCluster(ctx, name, (s) => ({
    ...s,
    features: { ...s.features, ...Object.fromEntries(features.map((f) => [f, on])) },
  }));
  const shown = Object.entries(FEATURES).map(
    ([flag, key]) => `${flag}: ${next.features[key] ? 'on' : 'off'}`,
  );
  return `${name}: ${shown.join(', ')} (generation ${next.generation})`;
}

export function registerFeatureCommands(cluster: Command, print: Print): void {
  for (const [verb, on] of [
    ['enable-features', true],
    ['disable-features', false],
  ] as const)
    fleetOptions(cluster.command(verb).argument('<name>'))
      .requiredOption('--features <list>', 'azure-rbac and/or cluster-connect')
      .description(`${on ? 'deploy' : 'remove'} an optional Arc feature’s agent on the cluster`)
      .action(async (name: string, o: GlobalOpts & { features: string }) => {
        print(await setFeaturesCommand(await loadContext(o, false), name, parseFeatures(o.features), on));
      });
}
