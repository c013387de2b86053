/**
 * Chaos scenario files (YAML): an optional fleet to start, then steps run in order. Steps act on the
 * fleet (egress cut/restore/latency/bandwidth/flap, kill or restart a service, change a cluster,
 * delete/connect, publish an agent release, update the auto-upgrade setting) or expect something of
 * the hub's projections. Parsing and validation are pure; the
 * runner (scenario-runner.ts) does the I/O.
 *
 * Durations are simulated time. Besides `90s`, `15m`, a duration may be a sum of terms over the
 * fleet's own timings, `threshold` (offline threshold) and `heartbeat` (heartbeat interval), so one
 * scenario holds for a fleet with real 15-minute timings and for a compressed test fleet:
 *   within: threshold + 2 heartbeat
 */
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import {
  AGENT_NAMES,
  AGENT_VERSION_PATTERN,
  CONNECTIVITY_STATUSES,
  ENDPOINT_CLASSES,
  ArcError,
  ERROR_CODES,
} from '../../contract/index.js';
import { parseDuration } from '../../platform/duration.js';
import { NODE_SERVICES } from '../../fleet/index.js';

export const SERVICES = ['nats-server', ...NODE_SERVICES] as const;
export type ScenarioService = (typeof SERVICES)[number];

export interface FleetTimings {
  readonly offlineThresholdMs: number;
  readonly heartbeatIntervalMs: number;
}

const TERM = /^(?:(\d+(?:\.\d+)?)\s*\*?\s*)?(threshold|heartbeat)$/;

/** `90s`, `threshold`, `threshold + 2 heartbeat`, `0.5 threshold`: simulated ms. */
export function evalDuration(expr: string, timings: FleetTimings): number {
  let total = 0;
  for (const raw of expr.split('+')) {
    const term = raw.trim();
    const m = TERM.exec(term);
    if (m) {
      const factor = m[1] === undefined ? 1 : Number(m[1]);
      total += factor * (m[2] === 'threshold' ? timings.offlineThresholdMs : timings.heartbeatIntervalMs);
    } else total += parseDuration(term);
  }
  return Math.round(total);
}

const Duration = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .refine((s) => {
    try {
      evalDuration(s, { offlineThresholdMs: 1, heartbeatIntervalMs: 1 });
      return true;
    } catch {
      return false;
    }
  }, 'not a duration (examples: 90s, 15m, threshold + 2 heartbeat)');

const ClusterName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, 'not a cluster name');
const Selector = z
  .object({
    location: z.string().min(1).optional(),
    distribution: z.string().min(1).optional(),
    infrastructure: z.string().min(1).optional(),
  })
  .strict();

/** Which clusters a step is about: names, a label selector, or a seeded percentage. */
const Targets = {
  clusters: z.array(ClusterName).min(1).optional(),
  cluster: ClusterName.optional(),
  selector: Selector.optional(),
  percent: z.number().min(0).max(100).optional(),
  seed: z.number().int().optional(),
};

/** What of the targets' egress a chaos step touches: endpoint classes, agents; neither: everything. */
const Reach = {
  endpoints: z.array(z.enum(ENDPOINT_CLASSES)).min(1).optional(),
  agents: z.array(z.enum(AGENT_NAMES)).min(1).optional(),
};

function oneTarget(v: {
  clusters?: string[] | undefined;
  cluster?: string | undefined;
  selector?: object | undefined;
  percent?: number | undefined;
}): boolean {
  return [v.clusters, v.cluster, v.selector, v.percent].filter((x) => x !== undefined).length === 1;
}
const ONE_TARGET = 'give exactly one of cluster, clusters, selector, percent';

const CutStep = z
  .object({
    ...Targets,
    ...Reach,
    mode: z.enum(['drop', 'reject']).default('drop'),
    for: Duration.optional(),
  })
  .strict()
  .refine(oneTarget, ONE_TARGET);
const RestoreStep = z.union([
  z.literal('all'),
  z
    .object({ ...Targets, ...Reach })
    .strict()
    .refine(oneTarget, ONE_TARGET),
]);
const LatencyStep = z
  .object({
    ...Targets,
    ...Reach,
    latencyMs: z.number().int().min(0).max(60_000),
    jitterMs: z.number().int().min(0).max(60_000).default(0),
    for: Duration.optional(),
  })
  .strict()
  .refine(oneTarget, ONE_TARGET);
const BandwidthStep = z
  .object({ ...Targets, ...Reach, bytesPerSecond: z.number().int().min(1), for: Duration.optional() })
  .strict()
  .refine(oneTarget, ONE_TARGET);
const FlapStep = z
  .object({
    ...Targets,
    ...Reach,
    cut: Duration,
    open: Duration,
    mode: z.enum(['drop', 'reject']).default('drop'),
    for: Duration.optional(),
  })
  .strict()
  .refine(oneTarget, ONE_TARGET);
const ChangeStep = z
  .object({
    cluster: ClusterName,
    kubernetesVersion: z
      .string()
      .regex(/^v?\d+\.\d+\.\d+$/, 'expected e.g. 1.31.2')
      .optional(),
    nodePool: z.string().min(1).optional(),
    count: z.number().int().min(0).max(5000).optional(),
    stopAgents: z.boolean().optional(),
  })
  .strict()
  .refine((c) => (c.nodePool === undefined) === (c.count === undefined), 'nodePool and count go together')
  .refine(
    (c) => c.kubernetesVersion !== undefined || c.nodePool !== undefined || c.stopAgents !== undefined,
    'change what? give kubernetesVersion, nodePool + count, or stopAgents',
  );
const Service = z.enum(SERVICES);

/**
 * Publish a release (`arcfleet release publish`): of the agents, or with `extensionType` of an extension
 * type on a release train (default Stable); a version, or the latest's next minor or patch.
 */
const PublishStep = z
  .object({
    version: z.string().regex(AGENT_VERSION_PATTERN, 'expected e.g. 1.22.0').optional(),
    bump: z.enum(['minor', 'patch']).optional(),
    extensionType: z.string().min(1).max(128).optional(),
    releaseTrain: z.string().min(1).max(64).optional(),
  })
  .strict()
  .refine((p) => p.version === undefined || p.bump === undefined, 'give version or bump, not both')
  .refine(
    (p) => p.releaseTrain === undefined || p.extensionType !== undefined,
    'releaseTrain goes with extensionType',
  );
/** `az connectedk8s update --auto-upgrade` for the targets (`arcfleet cluster update`). */
const UpdateStep = z
  .object({ ...Targets, autoUpgrade: z.boolean() })
  .strict()
  .refine(oneTarget, ONE_TARGET);
/** A version, `latest` (the newest release now), or either after `<` (older than it). */
const AgentVersion = z
  .string()
  .regex(/^<?(latest|\d+\.\d+\.\d+)$/, 'expected a version, latest, or either after < (older than)');

const StatusExpectation = z
  .object({
    ...Targets,
    connectivityStatus: z.enum(CONNECTIVITY_STATUSES),
    within: Duration.optional(),
    /** The expectation must hold for this long (checked throughout), e.g. "never Offline". */
    holdsFor: Duration.optional(),
  })
  .strict()
  .refine(oneTarget, ONE_TARGET)
  .refine((e) => e.within === undefined || e.holdsFor === undefined, 'give within or holdsFor, not both');
const CountsExpectation = z
  .object({
    counts: z
      .partialRecord(z.enum(CONNECTIVITY_STATUSES), z.union([z.number().int().min(0), z.literal('all')]))
      .refine((r) => Object.keys(r).length > 0, 'name at least one status'),
    within: Duration.optional(),
    holdsFor: Duration.optional(),
  })
  .strict()
  .refine((e) => e.within === undefined || e.holdsFor === undefined, 'give within or holdsFor, not both');
/** Every target reports this agent version (or, with `<`, an older one). */
const AgentVersionExpectation = z
  .object({
    ...Targets,
    agentVersion: AgentVersion,
    within: Duration.optional(),
    holdsFor: Duration.optional(),
  })
  .strict()
  .refine(oneTarget, ONE_TARGET)
  .refine((e) => e.within === undefined || e.holdsFor === undefined, 'give within or holdsFor, not both');
/** So many clusters report each version (`latest`: the newest release now): the rollout's counts. */
const AgentVersionsExpectation = z
  .object({
    agentVersions: z
      .record(
        z.string().regex(/^(latest|\d+\.\d+\.\d+)$/, 'expected a version or latest'),
        z.union([z.number().int().min(0), z.literal('all')]),
      )
      .refine((r) => Object.keys(r).length > 0, 'name at least one version'),
    within: Duration.optional(),
    holdsFor: Duration.optional(),
  })
  .strict()
  .refine((e) => e.within === undefined || e.holdsFor === undefined, 'give within or holdsFor, not both');
const MetadataExpectation = z
  .object({
    metadata: z.union([z.literal('all'), ClusterName]),
    within: Duration.optional(),
    holdsFor: Duration.optional(),
  })
  .strict()
  .refine((e) => e.within === undefined || e.holdsFor === undefined, 'give within or holdsFor, not both');

/**
 * A request through cluster connect (`GET /version` with the cluster-user credential, as kubectl's
 * first call), answered with `status` and, for a failure, the Status `reason`.
 */
const ClusterConnectExpectation = z
  .object({
    clusterConnect: ClusterName,
    status: z.number().int().min(100).max(599),
    reason: z.string().min(1).optional(),
    within: Duration.optional(),
    holdsFor: Duration.optional(),
  })
  .strict()
  .refine((e) => e.within === undefined || e.holdsFor === undefined, 'give within or holdsFor, not both');

const Expectation = z.union([
  CountsExpectation,
  MetadataExpectation,
  ClusterConnectExpectation,
  AgentVersionsExpectation,
  AgentVersionExpectation,
  StatusExpectation,
]);

/** Each step has exactly one action key (plus an optional `name`); its schema validates the body. */
const STEP_BODIES = {
  cut: CutStep,
  restore: RestoreStep,
  latency: LatencyStep,
  bandwidth: BandwidthStep,
  flap: FlapStep,
  wait: Duration,
  kill: Service,
  restart: Service,
  change: ChangeStep,
  delete: ClusterName,
  connect: ClusterName,
  publish: PublishStep,
  update: UpdateStep,
  expect: Expectation,
} as const;
type StepKind = keyof typeof STEP_BODIES;
const STEP_KINDS = Object.keys(STEP_BODIES) as StepKind[];

export type ScenarioStep = {
  [K in StepKind]: { [P in K]: z.output<(typeof STEP_BODIES)[K]> } & { name?: string | undefined };
}[StepKind];

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    /** The fleet the runner starts when none is running (ignored against a running fleet). */
    fleet: z
      .object({
        clusters: z.number().int().min(1).max(100_000).default(10),
        seed: z.number().int().default(1),
        timeScale: z.number().positive().default(60),
        /**
         * Every cluster starts at this agent version with auto-upgrade on (a rollout's clean slate); by
         * default a generated fleet's mix, where the clusters behind the latest release are pinned.
         */
        agentVersion: z.string().regex(AGENT_VERSION_PATTERN, 'expected e.g. 1.21.10').optional(),
        /** Extra environment for every service (ARCFLEET_OFFLINE_THRESHOLD etc.). */
        env: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.union([z.string(), z.number()])).default({}),
      })
      .strict()
      .default({ clusters: 10, seed: 1, timeScale: 60, env: {} }),
    /** Validated one by one (validateStep), so an error names the step's own field. */
    steps: z.array(z.unknown()).min(1),
  })
  .strict();

export type Scenario = Omit<z.infer<typeof scenarioSchema>, 'steps'> & { steps: ScenarioStep[] };
export type StepTargets = {
  clusters?: string[] | undefined;
  cluster?: string | undefined;
  selector?: Record<string, string | undefined> | undefined;
  percent?: number | undefined;
  seed?: number | undefined;
};

/** The gateway's body fields for what of the egress a step touches (none: all of it). */
export function gatewayReach(r: {
  endpoints?: readonly string[] | undefined;
  agents?: readonly string[] | undefined;
}): {
  endpoints?: string[];
  agents?: string[];
} {
  return {
    ...(r.endpoints === undefined ? {} : { endpoints: [...r.endpoints] }),
    ...(r.agents === undefined ? {} : { agents: [...r.agents] }),
  };
}

/** The gateway's target body for a step's targets. */
export function gatewayTargets(t: StepTargets): Record<string, unknown> {
  if (t.cluster !== undefined) return { clusters: [t.cluster] };
  if (t.clusters !== undefined) return { clusters: t.clusters };
  if (t.selector !== undefined) return { selector: t.selector };
  return { percent: t.percent ?? 0, seed: t.seed ?? 1 };
}

/** Parses and validates a scenario; errors name the step and field, e.g. `steps[3].expect.within`. */
export function parseScenario(text: string, source = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `${source}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`,
      { status: 400 },
    );
  }
  const r = scenarioSchema.safeParse(raw);
  if (!r.success) throw invalidAt(source, r.error.issues[0], []);
  return { ...r.data, steps: r.data.steps.map((step, i) => validateStep(step, i, source)) };
}

function invalidAt(
  source: string,
  issue: { path: readonly PropertyKey[]; message: string } | undefined,
  prefix: readonly PropertyKey[],
): ArcError {
  const path = [...prefix, ...(issue?.path ?? [])]
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  return new ArcError(
    ERROR_CODES.InvalidParameter,
    `${source}: ${path || '(top level)'}: ${issue?.message ?? 'invalid'}`,
    { status: 400, target: path },
  );
}

function validateStep(raw: unknown, index: number, source: string): ScenarioStep {
  const at = ['steps', index];
  const fail = (message: string): ArcError => invalidAt(source, { path: [], message }, at);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw fail(`a step is a mapping with one action: ${STEP_KINDS.join(', ')}`);
  const keys = Object.keys(raw).filter((k) => k !== 'name');
  if (keys.length !== 1)
    throw fail(
      `a step has exactly one action (${STEP_KINDS.join(', ')}); found ${keys.join(', ') || 'none'}`,
    );
  const kind = keys[0] as string;
  if (!(STEP_KINDS as string[]).includes(kind))
    throw fail(`unknown step "${kind}"; one of ${STEP_KINDS.join(', ')}`);
  const body = (raw as Record<string, unknown>)[kind];
  // An expectation's kind is told by its keys, so that its errors come from the right shape.
  const schema =
    kind !== 'expect' || typeof body !== 'object' || body === null
      ? STEP_BODIES[kind as StepKind]
      : 'counts' in body
        ? CountsExpectation
        : 'metadata' in body
          ? MetadataExpectation
          : 'clusterConnect' in body
            ? ClusterConnectExpectation
            : 'agentVersions' in body
              ? AgentVersionsExpectation
              : 'agentVersion' in body
                ? AgentVersionExpectation
                : StatusExpectation;
  const r = z
    .object({ [kind]: schema, name: z.string().optional() })
    .strict()
    .safeParse(raw);
  if (!r.success) throw invalidAt(source, r.error.issues[0], at);
  return r.data as ScenarioStep;
}

/** One line describing a step, for the report. */
export function describeStep(step: ScenarioStep): string {
  const [kind, body] = Object.entries(step).find(([k]) => k !== 'name') as [string, unknown];
  const text = `${kind} ${inline(body)}`;
  return step.name === undefined ? text : `${step.name}: ${text}`;
}

/** `cluster=x within=threshold + 2 heartbeat`, `counts={Connected: all}`: the YAML as written, on one line. */
function inline(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  if (Array.isArray(value)) return value.map(inline).join(',');
  return Object.entries(value)
    .map(([k, v]) =>
      typeof v === 'object' && v !== null && !Array.isArray(v)
        ? `${k}={${Object.entries(v)
            .map(([k2, v2]) => `${k2}: ${inline(v2)}`)
            .join(', ')}}`
        : `${k}=${inline(v)}`,
    )
    .join(' ');
}

/** Simulated time for people: `450ms`, `42s`, `3m 12s`, `2h 5m`. */
export function formatSim(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60}m` : `${Math.floor(s / 60)}m ${s % 60}s`;
  const m = Math.round(s / 60);
  return m % 60 === 0 ? `${m / 60}h` : `${Math.floor(m / 60)}h ${m % 60}m`;
}
