/**
 * Arc agent releases: the versions the hub offers, the support window, the hourly upgrade check and
 * what a cluster moves to. Pure rules shared by the hub (which answers the check and judges support)
 * and config-agent (which runs the check and the Helm upgrade).
 *
 * Arc's agents are versioned MAJOR.MINOR.PATCH; a new minor ships about monthly with patches between.
 * With auto-upgrade Enabled the agents poll hourly and upgrade to the newest version; with it Disabled
 * they stay where they are until `az connectedk8s upgrade --agent-version` (`desiredAgentVersion`).
 * Agents more than two minors behind the newest (N-2) are out of support.
 */
import { z } from 'zod';

export const AGENT_VERSION_PATTERN = /^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,4})$/;

export const agentVersionSchema = z
  .string()
  .regex(AGENT_VERSION_PATTERN, 'an agent version is MAJOR.MINOR.PATCH, e.g. 1.21.10');

export interface AgentRelease {
  readonly version: string;
  /** Simulated epoch ms from which the release is offered. */
  readonly releasedAtMs: number;
}

/** The built-in catalogue's shape (platform/agent-releases.yaml): releases dated relative to the fleet's start. */
export const agentReleaseCatalogSchema = z.strictObject({
  /** Simulated days between releases once the catalogue's own have been offered. */
  cadence: z.strictObject({
    minorEveryDays: z.number().positive().max(3650),
    patchEveryDays: z.number().positive().max(3650),
  }),
  releases: z
    .array(z.strictObject({ version: agentVersionSchema, daysBeforeStart: z.number().min(0).max(3650) }))
    .min(1),
});
export type AgentReleaseCatalog = z.infer<typeof agentReleaseCatalogSchema>;

/** Minors supported: the newest and the two before it (N-2). */
export const SUPPORTED_MINORS = 3;

/** Simulated ms between a cluster's upgrade checks (Arc: hourly). */
export const DEFAULT_UPGRADE_CHECK_INTERVAL_MS = 60 * 60_000;

const DAY_MS = 24 * 60 * 60_000;

type Triple = readonly [number, number, number];

function parts(version: string): Triple {
  const m = AGENT_VERSION_PATTERN.exec(version);
  if (!m) return [-1, -1, -1];
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`. */
export function compareAgentVersions(a: string, b: string): number {
  const x = parts(a);
  const y = parts(b);
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** `1.21.10` → `1.21`. */
export function minorOf(version: string): string {
  const [major, minor] = parts(version);
  return `${major}.${minor}`;
}

/** The catalogue's releases on the fleet's clock (`startMs`: the simulated instant the fleet's clock began). */
export function catalogueReleases(catalogue: AgentReleaseCatalog, startMs: number): AgentRelease[] {
  return catalogue.releases.map((r) => ({
    version: r.version,
    releasedAtMs: Math.round(startMs - r.daysBeforeStart * DAY_MS),
  }));
}

/** Newest first by version; one entry per version (the earliest release of it). */
export function sortReleases(releases: readonly AgentRelease[]): AgentRelease[] {
  const byVersion = new Map<string, AgentRelease>();
  for (const r of releases) {
    const seen = byVersion.get(r.version);
    if (!seen || r.releasedAtMs < seen.releasedAtMs) byVersion.set(r.version, r);
  }
  return [...byVersion.values()].sort((a, b) => compareAgentVersions(b.version, a.version));
}

/**
 * Every release offered at `nowMs`: the given ones released by then, plus those the cadence has
 * shipped since (a patch `patchEveryDays` after the newest release, a new minor `minorEveryDays`
 * after the newest minor's first release, whichever is due first). Derived from time alone, so every
 * hub replica and every restart agrees without storing them. Newest first.
 */
export function releasesAt(
  given: readonly AgentRelease[],
  cadence: AgentReleaseCatalog['cadence'] | undefined,
  nowMs: number,
): AgentRelease[] {
  const out = sortReleases(given.filter((r) => r.releasedAtMs <= nowMs));
  if (!cadence || out.length === 0) return out;
  for (let i = 0; i < 10_000; i++) {
    const latest = out[0] as AgentRelease;
    const minor = minorOf(latest.version);
    const minorStart = Math.min(
      ...out.filter((r) => minorOf(r.version) === minor).map((r) => r.releasedAtMs),
    );
    const lastAt = Math.max(latest.releasedAtMs, ...out.map((r) => r.releasedAtMs));
    const patchAt = lastAt + cadence.patchEveryDays * DAY_MS;
    const minorAt = minorStart + cadence.minorEveryDays * DAY_MS;
    const [major, mi, patch] = parts(latest.version);
    const next =
      minorAt <= patchAt
        ? { version: `${major}.${mi + 1}.0`, releasedAtMs: minorAt }
        : { version: `${major}.${mi}.${patch + 1}`, releasedAtMs: patchAt };
    if (next.releasedAtMs > nowMs) break;
    out.unshift(next);
  }
  return out;
}

/** The next version to publish by hand: the newest's next patch, or its next minor. */
export function nextVersion(latest: string, bump: 'minor' | 'patch'): string {
  const [major, minor, patch] = parts(latest);
  return bump === 'minor' ? `${major}.${minor + 1}.0` : `${major}.${minor}.${patch + 1}`;
}

export interface AgentSupport {
  /** The newest version offered. */
  readonly latest: string;
  /** The oldest minor still supported (`1.19`). */
  readonly oldestSupportedMinor: string;
}

/** The support window of a set of releases (newest first, as `releasesAt` gives them). */
export function supportWindow(releases: readonly AgentRelease[]): AgentSupport | undefined {
  const latest = releases[0];
  if (!latest) return undefined;
  const minors: string[] = [];
  for (const r of releases) {
    const m = minorOf(r.version);
    if (!minors.includes(m)) minors.push(m);
  }
  minors.sort((a, b) => compareAgentVersions(`${b}.0`, `${a}.0`));
  const oldest = minors[Math.min(SUPPORTED_MINORS, minors.length) - 1] as string;
  return { latest: latest.version, oldestSupportedMinor: oldest };
}

/** Whether an installed version is older than the support window's oldest minor. */
export function outOfSupport(version: string, support: AgentSupport): boolean {
  return compareAgentVersions(version, `${support.oldestSupportedMinor}.0`) < 0;
}

/** The `agentErrors` entry of a cluster whose agents are out of support. */
export function outOfSupportMessage(version: string, support: AgentSupport): string {
  return (
    `Agent version ${version} is out of support: Azure Arc-enabled Kubernetes supports the latest ` +
    `${SUPPORTED_MINORS} minor versions (${support.oldestSupportedMinor} and newer; latest ${support.latest}). ` +
    `Upgrade the agents with 'az connectedk8s upgrade' or enable auto-upgrade.`
  );
}

export interface UpgradeInput {
  /** The version the cluster runs. */
  readonly current: string;
  readonly autoUpgrade: boolean;
  /** `arcAgentProfile.desiredAgentVersion`, honoured when auto-upgrade is off. */
  readonly desiredVersion?: string | undefined;
  /** Offered releases, newest first. */
  readonly releases: readonly AgentRelease[];
}

/**
 * The version a cluster should move to now, or undefined to stay: with auto-upgrade the newest
 * offered (never a downgrade); without it, the desired version once it is offered (either way).
 */
export function upgradeTarget(input: UpgradeInput): string | undefined {
  if (input.autoUpgrade) {
    const latest = input.releases[0]?.version;
    return latest !== undefined && compareAgentVersions(latest, input.current) > 0 ? latest : undefined;
  }
  const want = input.desiredVersion;
  if (want === undefined || want === input.current) return undefined;
  return input.releases.some((r) => r.version === want) ? want : undefined;
}

/**
 * Simulated ms from `nowMs` to the cluster's next upgrade check: every `intervalMs` at a phase drawn
 * from the cluster's name, so a fleet's checks spread evenly over the interval and never come at once.
 */
export function upgradeCheckDelayMs(clusterName: string, nowMs: number, intervalMs: number): number {
  let h = 2166136261;
  for (let i = 0; i < clusterName.length; i++) h = Math.imul(h ^ clusterName.charCodeAt(i), 16777619);
  const phase = (h >>> 0) % intervalMs;
  const delay = (((phase - nowMs) % intervalMs) + intervalMs) % intervalMs;
  return delay === 0 ? intervalMs : delay;
}
