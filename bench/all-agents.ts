/**
 * `npm run bench -- --all-agents`: the fleet with every one of the eleven agents at work on every
 * cluster, so that the two that idle in a default fleet are measured too. Every cluster has Azure
 * RBAC on (guard deployed, its link open) and, once Connected, a Flux configuration (config-agent
 * reconciles it and writes the Flux controllers' log, flux-logs-agent opens its link and ships it).
 */
import { generateFleet } from '../fleet/generator.js';
import type { FleetHandle } from '../fleet/index.js';
import type { ClusterState } from '../contract/index.js';
import { mapLimit } from '../platform/limit.js';

const CONFIG_API = '2024-11-01';

/** A generated fleet with the azure-rbac feature on every cluster. */
export function allAgentsFleet(count: number, nowIso: string): ClusterState[] {
  return generateFleet({ count, seed: 1, nowIso }).map((c) => ({
    ...c,
    features: { ...c.features, azureRbac: true },
  }));
}

async function storedFluxEntries(fleet: FleetHandle): Promise<number> {
  const text = await (
    await fetch(`${fleet.pageUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text();
  const m = /^arcfleet_hub_flux_log_entries_total\{outcome="stored"\}\s+(\S+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * A Flux configuration on every cluster (PUT, 16 at a time); resolves once every one is Compliant and
 * the hub holds at least one Flux log entry per cluster. Seconds it took.
 */
export async function configureFlux(
  fleet: FleetHandle,
  opts: { timeoutMs: number; log: (line: string) => void },
): Promise<number> {
  const t0 = Date.now();
  const path = (c: ClusterState) =>
    `${fleet.client.clusterPath(c)}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations/cluster-config`;
  opts.log(`a Flux configuration on each of ${fleet.clusters.length} clusters`);
  await mapLimit(fleet.clusters, 16, (c) =>
    fleet.client.arm('PUT', path(c), CONFIG_API, {
      properties: {
        scope: 'cluster',
        namespace: 'cluster-config',
        sourceKind: 'GitRepository',
        gitRepository: {
          url: 'https://github.com/contoso/cluster-config',
          repositoryRef: { branch: 'main' },
        },
        kustomizations: { infra: { path: './infrastructure', prune: true } },
      },
    }),
  );
  const deadline = t0 + opts.timeoutMs;
  for (;;) {
    const states = await mapLimit(fleet.clusters, 16, async (c) => {
      const r = await fleet.client.arm<{ properties?: { complianceState?: string } }>(
        'GET',
        path(c),
        CONFIG_API,
      );
      return r.body?.properties?.complianceState;
    });
    const compliant = states.filter((s) => s === 'Compliant').length;
    const shipped = await storedFluxEntries(fleet);
    if (compliant === fleet.clusters.length && shipped >= fleet.clusters.length) break;
    if (Date.now() > deadline)
      throw new Error(`Flux: ${compliant}/${fleet.clusters.length} Compliant, ${shipped} log entries stored`);
    opts.log(`Flux: ${compliant}/${fleet.clusters.length} Compliant, ${shipped} log entries stored`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  return (Date.now() - t0) / 1000;
}
