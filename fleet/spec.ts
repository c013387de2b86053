/**
 * Fleet spec (YAML) → validated cluster states. Every error names the YAML line and the field:
 * `line 12: clusters[1].nodePools[0].count: Too big: expected number to be <=5000`.
 *
 *   subscriptionId: ...          optional
 *   resourceGroup: ...           optional
 *   defaults: {location, agentVersion, autoUpgrade, tags}   optional, applied to every cluster
 *   clusters: [ {name, location, distribution, ..., nodePools: [...]}, ... ]
 *   generate: {count, seed}      optional: adds generated clusters after the listed ones
 *
 * See deploy/fleets/example.yaml and docs/configuration.md.
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isNode, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import {
  FleetSpecError,
  clusterStateSchema,
  nodePoolSchema,
  type ClusterState,
  AGENT_NAMES,
} from '../contract/index.js';
import {
  DEFAULT_AGENT_VERSION,
  DEFAULT_RESOURCE_GROUP,
  DEFAULT_SUBSCRIPTION_ID,
  generateFleet,
} from './generator.js';

export { generateFleet, type GenerateFleetOptions } from './generator.js';

const specClusterSchema = z.strictObject({
  name: clusterStateSchema.shape.name,
  location: z.string().min(1).optional(),
  distribution: z.string().min(1),
  distributionVersion: z.string().default(''),
  infrastructure: z.string().min(1),
  kubernetesVersion: clusterStateSchema.shape.kubernetesVersion,
  agentVersion: z.string().min(1).optional(),
  /** false: onboarded like `az connectedk8s connect --disable-auto-upgrade` (the agents stay put). */
  autoUpgrade: z.boolean().optional(),
  nodePools: z.array(nodePoolSchema).min(1),
  tags: z.record(z.string(), z.string()).optional(),
  stoppedAgents: z.array(z.enum(AGENT_NAMES)).default([]),
});

export const fleetSpecSchema = z.strictObject({
  subscriptionId: z.string().min(1).optional(),
  resourceGroup: z.string().min(1).max(90).optional(),
  defaults: z
    .strictObject({
      location: z.string().min(1).optional(),
      agentVersion: z.string().min(1).optional(),
      autoUpgrade: z.boolean().optional(),
      tags: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  clusters: z.array(specClusterSchema).default([]),
  generate: z
    .strictObject({
      count: z.int().min(0).max(100_000),
      seed: z.union([z.int(), z.string()]).optional(),
    })
    .optional(),
});

export interface FleetSpec {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly clusters: ClusterState[];
}

export interface ParseFleetSpecOptions {
  /** `changedAt` of the clusters (simulated now). */
  readonly nowIso?: string;
  /** Overrides of the spec's own values (CLI flags win). */
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
}

type PathKey = string | number;

function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? key : `.${key}`;
  return out === '' ? '(root)' : out;
}

/** Line (1-based) of the deepest YAML node on `path`; the key's line when `key` names a map entry. */
function lineOf(
  doc: Document,
  counter: LineCounter,
  path: readonly PathKey[],
  key?: string,
): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (!isNode(node)) continue;
    if (key !== undefined && n === path.length && isMap(node)) {
      const pair = node.items.find(
        (p) => isNode(p.key) && String((p.key as { value?: unknown }).value) === key,
      );
      if (pair && isNode(pair.key) && pair.key.range) return counter.linePos(pair.key.range[0]).line;
    }
    if (node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

export function parseFleetSpec(text: string, opts: ParseFleetSpecOptions = {}): FleetSpec {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0].line ?? counter.linePos(yamlError.pos[0]).line;
    throw new FleetSpecError(yamlError.message.split('\n')[0] ?? 'invalid YAML', line, undefined);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = fleetSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (!issue) throw new FleetSpecError('invalid fleet spec', undefined, undefined);
    const path = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const key = issue.keys[0] ?? '';
      throw new FleetSpecError(
        `unknown field "${key}"`,
        lineOf(doc, counter, path, key),
        formatPath([...path, key]),
      );
    }
    // A missing field: point at the object that lacks it.
    const missing = issue.code === 'invalid_type' && doc.getIn(path, true) === undefined;
    const line = missing ? lineOf(doc, counter, path.slice(0, -1)) : lineOf(doc, counter, path);
    throw new FleetSpecError(missing ? 'required field is missing' : issue.message, line, formatPath(path));
  }
  const spec = parsed.data;
  const subscriptionId = opts.subscriptionId ?? spec.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID;
  const resourceGroup = opts.resourceGroup ?? spec.resourceGroup ?? DEFAULT_RESOURCE_GROUP;
  const nowIso = opts.nowIso ?? new Date().toISOString();
  const seen = new Map<string, number>();
  const clusters: ClusterState[] = [];
  spec.clusters.forEach((c, i) => {
    const lower = c.name.toLowerCase();
    if (seen.has(lower))
      throw new FleetSpecError(
        `duplicate cluster name "${c.name}" (also clusters[${seen.get(lower)}]; names are case-insensitive)`,
        lineOf(doc, counter, ['clusters', i, 'name']),
        `clusters[${i}].name`,
      );
    seen.set(lower, i);
    const location = c.location ?? spec.defaults?.location;
    if (location === undefined)
      throw new FleetSpecError(
        'required field is missing (set it here or in defaults.location)',
        lineOf(doc, counter, ['clusters', i]),
        `clusters[${i}].location`,
      );
    c.nodePools.forEach((pool, p) => {
      if (c.nodePools.findIndex((q) => q.name === pool.name) !== p)
        throw new FleetSpecError(
          `duplicate node pool name "${pool.name}"`,
          lineOf(doc, counter, ['clusters', i, 'nodePools', p, 'name']),
          `clusters[${i}].nodePools[${p}].name`,
        );
    });
    clusters.push(
      clusterStateSchema.parse({
        name: c.name,
        subscriptionId,
        resourceGroup,
        location,
        distribution: c.distribution,
        distributionVersion: c.distributionVersion,
        infrastructure: c.infrastructure,
        kubernetesVersion: c.kubernetesVersion,
        agentVersion: c.agentVersion ?? spec.defaults?.agentVersion ?? DEFAULT_AGENT_VERSION,
        autoUpdate: c.autoUpgrade ?? spec.defaults?.autoUpgrade ?? true,
        nodePools: c.nodePools,
        tags: { ...spec.defaults?.tags, ...c.tags },
        generation: 0,
        changedAt: nowIso,
        stoppedAgents: c.stoppedAgents,
      }),
    );
  });
  if (spec.generate && spec.generate.count > 0) {
    const generated = generateFleet({
      count: spec.generate.count,
      seed: spec.generate.seed ?? 1,
      subscriptionId,
      resourceGroup,
      nowIso,
    });
    for (const g of generated) {
      if (seen.has(g.name.toLowerCase()))
        throw new FleetSpecError(
          `generated cluster name "${g.name}" collides with a listed cluster`,
          lineOf(doc, counter, ['generate']),
          'generate',
        );
      seen.set(g.name.toLowerCase(), -1);
      clusters.push({
        ...g,
        tags: { ...spec.defaults?.tags, ...g.tags },
        agentVersion: spec.defaults?.agentVersion ?? g.agentVersion,
        autoUpdate: spec.defaults?.autoUpgrade ?? g.autoUpdate,
      });
    }
  }
  return { subscriptionId, resourceGroup, clusters };
}

export async function readFleetSpec(file: string, opts: ParseFleetSpecOptions = {}): Promise<FleetSpec> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FleetSpecError(`cannot read ${file}: ${(err as Error).message}`, undefined, undefined);
  }
  try {
    return parseFleetSpec(text, opts);
  } catch (err) {
    if (err instanceof FleetSpecError) err.message = `${file}: ${err.message}`;
    throw err;
  }
}
