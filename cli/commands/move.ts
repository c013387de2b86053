/**
 * `arcfleet move NAME --to LOCATION`: the documented procedure for moving a connected cluster to
 * another region (ARC-FACTS, "Moving a connected cluster to another region"), step by step:
 *   1. LIST the cluster's configuration resources (extensions, Flux configurations, Service Connector
 *      linkers) and keep the bodies; protected settings are not in them, so they come from a file the
 *      user kept (`--protected-settings`);
 *   2. remove the Arc deployment (DELETE + the agents' install);
 *   3. connect again in the new location;
 *   4. check Connected and every agent Running in azure-arc;
 *   5. re-create each resource on the new cluster resource and compare the new LIST with the old one.
 * Each step is timed; a mismatch in step 5 is an error listing what differs.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ArcError, ERROR_CODES } from '../../contract/index.js';
import type { FleetContext } from '../context.js';
import { connectCluster, disconnectCluster } from '../../fleet/onboard.js';
import { waitFor } from '../../platform/wait.js';

export const CONFIG_API_VERSION = '2024-11-01';
export const LINKER_API_VERSION = '2024-04-01';

/** Per resource kind: its path below the cluster and the properties a user can write. */
export const MOVABLE_KINDS = [
  {
    kind: 'extensions',
    path: 'providers/Microsoft.KubernetesConfiguration/extensions',
    apiVersion: CONFIG_API_VERSION,
    writable: [
      'extensionType',
      'autoUpgradeMinorVersion',
      'releaseTrain',
      'version',
      'scope',
      'configurationSettings',
    ],
    ready: (p: Record<string, unknown>) => p['provisioningState'] === 'Succeeded',
  },
  {
    kind: 'fluxConfigurations',
    path: 'providers/Microsoft.KubernetesConfiguration/fluxConfigurations',
    apiVersion: CONFIG_API_VERSION,
    writable: [
      'scope',
      'namespace',
      'sourceKind',
      'suspend',
      'gitRepository',
      'bucket',
      'azureBlob',
      'kustomizations',
    ],
    ready: (p: Record<string, unknown>) => p['provisioningState'] === 'Succeeded',
  },
  {
    kind: 'linkers',
    path: 'providers/Microsoft.ServiceLinker/linkers',
    apiVersion: LINKER_API_VERSION,
    writable: ['targetService', 'authInfo', 'scope', 'clientType'],
    ready: (p: Record<string, unknown>) => p['provisioningState'] === 'Succeeded',
  },
] as const;
type MovableKind = (typeof MOVABLE_KINDS)[number]['kind'];

interface ArmChild {
  name: string;
  properties: Record<string, unknown>;
}

/** `--protected-settings FILE`: the protected settings the user kept, per kind and resource name. */
export const protectedSettingsFileSchema = z.strictObject({
  extensions: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  fluxConfigurations: z.record(z.string(), z.record(z.string(), z.string())).default({}),
});

export interface MoveOptions {
  readonly to: string;
  readonly protectedSettingsFile?: string | undefined;
  /** Real ms each wait may take (default 120 s). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface MoveReport {
  readonly cluster: string;
  readonly from: string;
  readonly to: string;
  readonly steps: { step: string; seconds: number }[];
  readonly before: Record<MovableKind, ArmChild[]>;
  readonly after: Record<MovableKind, ArmChild[]>;
  readonly savedTo: string;
  readonly equal: boolean;
  readonly differences: string[];
}

function writableOf(kind: (typeof MOVABLE_KINDS)[number], r: ArmChild): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of kind.writable)
    if (r.properties[k] !== undefined && r.properties[k] !== null) out[k] = r.properties[k];
  // A pinned version is only writable with auto-upgrade off.
  if (kind.kind === 'extensions' && out['autoUpgradeMinorVersion'] !== false) delete out['version'];
  return out;
}

/** Polls `check` (a failed check counts as not yet) until true; a timeout names what was awaited. */
async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  await waitFor(() => check().catch(() => false), {
    timeoutMs: timeoutMs,
    onTimeout: () =>
      new ArcError(
        ERROR_CODES.InternalServerError,
        `move: timed out after ${timeoutMs / 1000} s waiting for ${what}`,
      ),
    intervalMs: 250,
  });
}

export async function moveCluster(ctx: FleetContext, name: string, opts: MoveOptions): Promise<MoveReport> {
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const state = await ctx.cluster(name);
  if (state.location.toLowerCase() === opts.to.toLowerCase())
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `--to ${opts.to}: the cluster is already in ${state.location}`,
      {
        status: 400,
        target: '--to',
      },
    );
  const kept = opts.protectedSettingsFile
    ? protectedSettingsFileSchema.parse(JSON.parse(await readFile(opts.protectedSettingsFile, 'utf8')))
    : { extensions: {}, fluxConfigurations: {} };
  const clusterPath = ctx.client.clusterPath(state);
  const steps: { step: string; seconds: number }[] = [];
  const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await fn();
    const seconds = Math.round((performance.now() - t0) / 10) / 100;
    steps.push({ step, seconds });
    log(`${step}: ${seconds} s`);
    return out;
  };
  const listAll = async (): Promise<Record<MovableKind, ArmChild[]>> => {
    const out = {} as Record<MovableKind, ArmChild[]>;
    for (const k of MOVABLE_KINDS) {
      const items = await ctx.client.armList<ArmChild>(`${clusterPath}/${k.path}`, k.apiVersion);
      out[k.kind] = items.sort((a, b) => a.name.localeCompare(b.name));
    }
    return out;
  };

  // 1. LIST and keep the bodies.
  const before = await timed('1. list configuration resources', listAll);
  const dir = join(ctx.dataDir, 'moves');
  await mkdir(dir, { recursive: true });
  const savedTo = join(dir, `${state.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    savedTo,
    JSON.stringify({ cluster: state.name, location: state.location, before }, null, 2),
  );

  // 2. Remove the Arc deployment.
  await timed('2. remove the Arc deployment', async () => {
    await disconnectCluster(ctx.client, ctx.store, state);
    await waitUntil(`${state.name} to be deleted`, timeoutMs, async () => {
      try {
        await ctx.client.getCluster(state);
        return false;
      } catch (err) {
        return err instanceof ArcError && err.status === 404;
      }
    });
  });

  // 3. Connect again in the new location.
  const moved = await timed('3. connect in the new location', async () => {
    const next = await ctx.store.updateState(state.name, new Date(ctx.clock.now()).toISOString(), (s) => ({
      ...s,
      location: opts.to,
    }));
    if (!next)
      throw new ArcError(ERROR_CODES.NotFound, `cluster ${state.name} disappeared from the store`, {
        status: 404,
      });
    await connectCluster(ctx.client, ctx.store, next);
    return next;
  });

  // 4. Connected, and every agent Running in azure-arc.
  await timed('4. wait for Connected and the agents Running', async () => {
    await waitUntil(`${state.name} to be Connected`, timeoutMs, async () => {
      const c = await ctx.client.getCluster(moved);
      return c.properties.connectivityStatus === 'Connected';
    });
    const apiserver = ctx.fleet?.kubeApiserverUrl;
    if (apiserver === undefined) return;
    await waitUntil(`every deployment in azure-arc of ${state.name} to be ready`, timeoutMs, async () => {
      const res = await fetch(
        `${apiserver}/clusters/${encodeURIComponent(state.name)}/apis/apps/v1/namespaces/azure-arc/deployments`,
      );
      const body = (await res.json()) as { items?: { status?: { readyReplicas?: number } }[] };
      const items = body.items ?? [];
      return items.length > 0 && items.every((d) => (d.status?.readyReplicas ?? 0) >= 1);
    });
  });

  // 5. Re-create, then compare.
  await timed('5. re-create the configuration resources', async () => {
    for (const k of MOVABLE_KINDS) {
      for (const r of before[k.kind]) {
        const properties = writableOf(k, r);
        const secret =
          k.kind === 'extensions'
            ? kept.extensions[r.name]
            : k.kind === 'fluxConfigurations'
              ? kept.fluxConfigurations[r.name]
              : undefined;
        if (secret !== undefined) properties['configurationProtectedSettings'] = secret;
        const path = `${clusterPath}/${k.path}/${encodeURIComponent(r.name)}`;
        await ctx.client.arm('PUT', path, k.apiVersion, { properties });
        await waitUntil(`${k.kind}/${r.name} to succeed`, timeoutMs, async () => {
          const got = await ctx.client.arm<ArmChild>('GET', path, k.apiVersion);
          return got.body !== undefined && k.ready(got.body.properties);
        });
      }
    }
  });
  const after = await timed('6. list again and compare', listAll);
  const differences: string[] = [];
  for (const k of MOVABLE_KINDS) {
    const names = (xs: ArmChild[]): string[] => xs.map((x) => x.name);
    if (!isDeepStrictEqual(names(before[k.kind]), names(after[k.kind])))
      differences.push(
        `${k.kind}: names ${names(before[k.kind]).join(',')} → ${names(after[k.kind]).join(',')}`,
      );
    for (const r of before[k.kind]) {
      const again = after[k.kind].find((x) => x.name === r.name);
      if (again && !isDeepStrictEqual(writableOf(k, r), writableOf(k, again)))
        differences.push(
          `${k.kind}/${r.name}: ${JSON.stringify(writableOf(k, r))} → ${JSON.stringify(writableOf(k, again))}`,
        );
    }
  }
  return {
    cluster: state.name,
    from: state.location,
    to: opts.to,
    steps,
    before,
    after,
    savedTo,
    equal: differences.length === 0,
    differences,
  };
}
