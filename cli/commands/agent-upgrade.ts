/**
 * Agent upgrades from the command line, as az does them, through the hub's ARM API (a PUT of the
 * resource's `arcAgentProfile`; the spec lets PATCH change neither field):
 *   arcfleet cluster update NAME --auto-upgrade true|false     (az connectedk8s update --auto-upgrade)
 *   arcfleet cluster upgrade NAME --agent-version 1.22.0       (az connectedk8s upgrade --agent-version)
 * and the releases themselves (in Azure, Microsoft ships them):
 *   arcfleet release list | arcfleet release publish [--version V | --minor | --patch]
 */
import type { Command } from 'commander';
import { AGENT_VERSION_PATTERN, ArcError, ERROR_CODES, type ConnectedCluster } from '../../contract/index.js';
import type { AgentReleaseList, HubClient } from '../../fleet/clients/hub-client.js';
import { loadContext, type FleetContext } from '../context.js';
import { fleetOptions, outputOption, parseOutput, type GlobalOpts, type Print } from './options.js';

/** The fields of a GET the PUT sends back (read-only ones would be ignored anyway). */
function putBodyOf(resource: ConnectedCluster, profile: Record<string, unknown>) {
  const p = resource.properties as unknown as Record<string, unknown>;
  const keep = [
    'agentPublicKeyCertificate',
    'distribution',
    'distributionVersion',
    'infrastructure',
    'privateLinkState',
    'azureHybridBenefit',
    'aadProfile',
    'securityProfile',
    'oidcIssuerProfile',
    'gateway',
  ];
  const properties: Record<string, unknown> = {};
  for (const k of keep) if (p[k] !== undefined && p[k] !== null) properties[k] = p[k];
  const current = (p['arcAgentProfile'] ?? {}) as Record<string, unknown>;
  properties['arcAgentProfile'] = {
    agentAutoUpgrade: current['agentAutoUpgrade'] ?? 'Enabled',
    ...(typeof current['desiredAgentVersion'] === 'string'
      ? { desiredAgentVersion: current['desiredAgentVersion'] }
      : {}),
    ...profile,
  };
  return {
    location: resource.location,
    tags: resource.tags ?? {},
    identity: { type: resource.identity?.type ?? 'SystemAssigned' },
    properties: properties as { agentPublicKeyCertificate: string },
  };
}

async function putProfile(ctx: FleetContext, name: string, profile: Record<string, unknown>) {
  const state = await ctx.cluster(name);
  const resource = await ctx.client.getCluster(state);
  const result = await ctx.client.putCluster(state, putBodyOf(resource, profile));
  return { before: resource, after: result.resource };
}

export async function autoUpgradeCommand(ctx: FleetContext, name: string, enabled: boolean): Promise<string> {
  const { after } = await putProfile(ctx, name, { agentAutoUpgrade: enabled ? 'Enabled' : 'Disabled' });
  const version = after.properties.agentVersion ?? 'not reported yet';
  return `${name}: agentAutoUpgrade ${enabled ? 'Enabled' : 'Disabled'} (agents at ${version})`;
}

export async function upgradeAgentsCommand(
  ctx: FleetContext,
  name: string,
  version: string,
): Promise<string> {
  if (!AGENT_VERSION_PATTERN.test(version))
    throw new ArcError(ERROR_CODES.InvalidParameter, `--agent-version ${version}: expected e.g. 1.22.0`, {
      status: 400,
      target: '--agent-version',
    });
  const state = await ctx.cluster(name);
  const resource = await ctx.client.getCluster(state);
  const profile = (resource.properties.arcAgentProfile ?? {}) as Record<string, unknown>;
  if (profile['agentAutoUpgrade'] !== 'Disabled')
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `${name} has auto-upgrade enabled: its agents follow the latest release. Turn it off first ` +
        `(arcfleet cluster update ${name} --auto-upgrade false), then upgrade to a chosen version.`,
      { status: 400, target: '--agent-version' },
    );
  await ctx.client.putCluster(state, putBodyOf(resource, { desiredAgentVersion: version }));
  return `${name}: desiredAgentVersion ${version}; the agents upgrade from ${resource.properties.agentVersion ?? '?'} now`;
}

export interface PublishRequest {
  readonly version?: string | undefined;
  readonly bump?: 'minor' | 'patch' | undefined;
  /** A version of this extension type instead of the agents, on `releaseTrain` (default Stable). */
  readonly extensionType?: string | undefined;
  readonly releaseTrain?: string | undefined;
}

/** Publishes an agent or extension release (`release publish`, the scenario step); what to print. */
export async function publishRelease(client: HubClient, p: PublishRequest): Promise<string> {
  const which = p.version !== undefined ? { version: p.version } : { bump: p.bump ?? ('minor' as const) };
  if (p.extensionType !== undefined) {
    const view = await client.publishExtensionRelease({
      extensionType: p.extensionType,
      ...(p.releaseTrain === undefined ? {} : { releaseTrain: p.releaseTrain }),
      ...which,
    });
    return `${view.extensionType} ${view.version} released on ${view.releaseTrain} at ${view.releasedAt}`;
  }
  const view = await client.publishAgentRelease(which);
  return `agent version ${view.version} released at ${view.releasedAt}`;
}

export function formatReleases(list: AgentReleaseList): string {
  const lines = [
    `latest ${list.latest ?? '-'}; supported: ${list.oldestSupportedMinor ?? '-'} and newer (N-2); ` +
      `${list.outOfSupport} cluster(s) out of support`,
    'VERSION   RELEASED                  SOURCE     SUPPORTED  CLUSTERS',
  ];
  for (const r of list.value)
    lines.push(
      `${r.version.padEnd(10)}${r.releasedAt.padEnd(26)}${r.source.padEnd(11)}${(r.supported ? 'yes' : 'no').padEnd(11)}${list.clustersByVersion[r.version] ?? 0}`,
    );
  const unknown = Object.keys(list.clustersByVersion).filter((v) => !list.value.some((r) => r.version === v));
  for (const v of unknown)
    lines.push(
      `${v.padEnd(10)}${'-'.padEnd(26)}${'unknown'.padEnd(11)}${'no'.padEnd(11)}${list.clustersByVersion[v]}`,
    );
  return lines.join('\n');
}

export function registerAgentUpgradeCommands(program: Command, cluster: Command, print: Print): void {
  fleetOptions(cluster.command('update').argument('<name>'))
    .requiredOption('--auto-upgrade <true|false>', 'let the agents upgrade themselves to the latest release')
    .description('change the cluster\u2019s agent auto-upgrade setting (az connectedk8s update)')
    .action(async (name: string, o: GlobalOpts & { autoUpgrade: string }) => {
      if (o.autoUpgrade !== 'true' && o.autoUpgrade !== 'false')
        throw new ArcError(
          ERROR_CODES.InvalidParameter,
          `--auto-upgrade ${o.autoUpgrade}: expected true or false`,
          {
            status: 400,
            target: '--auto-upgrade',
          },
        );
      print(await autoUpgradeCommand(await loadContext(o), name, o.autoUpgrade === 'true'));
    });

  const release = program
    .command('release')
    .description('the Arc agent and extension releases the hub offers');
  outputOption(fleetOptions(release.command('list')), 'table')
    .option('--extension-type <type>', "an extension type's release trains instead of the agent releases")
    .description('releases, the support window and the fleet\u2019s clusters by agent version')
    .action(async (o: GlobalOpts & { output: string; extensionType?: string }) => {
      const client = (await loadContext(o)).client;
      const json = parseOutput(o.output) === 'json';
      if (o.extensionType !== undefined) {
        const type = o.extensionType.toLowerCase();
        const entry = (await client.extensionReleases()).find((e) => e.extensionType === type);
        if (!entry)
          throw new ArcError(ERROR_CODES.NotFound, `extension type '${o.extensionType}' does not exist`, {
            status: 404,
            target: '--extension-type',
          });
        print(
          json
            ? JSON.stringify(entry, null, 2)
            : Object.entries(entry.releaseTrains)
                .map(([train, versions]) => `${train}: ${versions.join(', ')}`)
                .join('\n'),
        );
        return;
      }
      const list = await client.agentReleases();
      print(json ? JSON.stringify(list, null, 2) : formatReleases(list));
    });
  fleetOptions(release.command('publish'))
    .option('--version <version>', 'the version to release, e.g. 1.22.0')
    .option('--minor', 'release the next minor of the latest (the default)')
    .option('--patch', 'release the next patch of the latest')
    .option('--extension-type <type>', 'release a version of this extension type instead of the agents')
    .option('--release-train <train>', 'the extension release train (default Stable)')
    .description('release a new version now; clusters find it on their next hourly check')
    .action(
      async (
        o: GlobalOpts & {
          version?: string;
          minor?: boolean;
          patch?: boolean;
          extensionType?: string;
          releaseTrain?: string;
        },
      ) => {
        const given = [o.version !== undefined, o.minor === true, o.patch === true].filter(Boolean).length;
        if (given > 1)
          throw new ArcError(ERROR_CODES.InvalidParameter, 'give one of --version, --minor, --patch', {
            status: 400,
            target: '--version',
          });
        const client = (await loadContext(o)).client;
        print(
          await publishRelease(client, {
            version: o.version,
            bump: o.patch ? 'patch' : 'minor',
            extensionType: o.extensionType,
            releaseTrain: o.releaseTrain,
          }),
        );
      },
    );
}
