/**
 * The Arc agent releases the hub offers (what mcr.microsoft.com and the Arc data plane offer the real
 * agents): the catalogue's, those its cadence has shipped since the fleet's clock began (derived from
 * time, so every replica agrees unstored), and those published by hand (`arcfleet release publish`,
 * kept in their own KV bucket). It answers config-agent's hourly `upgrade-check` and judges support
 * (N-2 minors) for the resource's `agentErrors`, the metrics, the page and `arcfleet list`.
 */
import {
  ArcError,
  ERROR_CODES,
  PROTOCOL_VERSION,
  agentVersionSchema,
  catalogueReleases,
  compareAgentVersions,
  nextVersion,
  outOfSupport,
  releasesAt,
  supportWindow,
  upgradeTarget,
  type AgentRelease,
  type AgentReleaseCatalog,
  type AgentSupport,
  type UpgradeCheck,
  type UpgradePlanReply,
} from '../../../contract/index.js';
import type { Clock } from '../../../platform/clock.js';
import type { Logger } from '../../../platform/log.js';
import type { ProjectionStore } from '../persistence/projection-store.js';
import { agentProfileOf, type ClusterRecord } from '../connected-clusters/projection.js';
import { agentReleaseKey, type ReleaseRecord } from './release-records.js';

export type ReleaseSource = 'catalogue' | 'cadence' | 'published';

export interface ReleaseView {
  version: string;
  releasedAt: string;
  source: ReleaseSource;
  supported: boolean;
}

export interface AgentReleasesDeps {
  store: ProjectionStore<ReleaseRecord>;
  clock: Clock;
  catalogue: AgentReleaseCatalog;
  /** Ship a minor about monthly and patches between, on the fleet's clock (ARCFLEET_AGENT_RELEASE_CADENCE). */
  cadence: boolean;
  /** Simulated epoch ms the fleet's clock began: the catalogue's dates count back from it. */
  startMs: number;
  logger: Logger;
}

/** Simulated ms a computed release list is reused (a cadence release is never due sooner than a day). */
const CACHE_SIM_MS = 60_000;

export class AgentReleases {
  private readonly catalogued: readonly AgentRelease[];
  private cache: { atMs: number; size: number; list: AgentRelease[] } | undefined;

  constructor(private readonly deps: AgentReleasesDeps) {
    this.catalogued = catalogueReleases(deps.catalogue, deps.startMs);
    deps.store.onRemoteChange(() => (this.cache = undefined));
  }

  /** Every release offered now, newest first. */
  offered(): AgentRelease[] {
    const now = this.deps.clock.now();
    const c = this.cache;
    if (c && c.size === this.deps.store.size && now >= c.atMs && now - c.atMs < CACHE_SIM_MS) return c.list;
    const published = [...this.deps.store.values()]
      .filter((r) => (r.kind ?? 'agent') === 'agent')
      .map((r) => ({ version: r.version, releasedAtMs: r.releasedAtMs }));
    const list = releasesAt(
      [...this.catalogued, ...published],
      this.deps.cadence ? this.deps.catalogue.cadence : undefined,
      now,
    );
    this.cache = { atMs: now, size: this.deps.store.size, list };
    return list;
  }

  support(): AgentSupport | undefined {
    return supportWindow(this.offered());
  }

  isOffered(version: string): boolean {
    return this.offered().some((r) => r.version === version);
  }

  /** The list `GET /arcfleet/v1/agentReleases` shows. */
  views(): ReleaseView[] {
    const support = this.support();
    return this.offered().map((r) => ({
      version: r.version,
      releasedAt: new Date(r.releasedAtMs).toISOString(),
      source: this.sourceOf(r.version),
      supported: support !== undefined && !outOfSupport(r.version, support),
    }));
  }

  private sourceOf(version: string): ReleaseSource {
    if (this.deps.store.get(agentReleaseKey(version))) return 'published';
    return this.catalogued.some((r) => r.version === version) ? 'catalogue' : 'cadence';
  }

  /**
   * Publishes a release now: `version`, or the next `bump` (minor or patch) of the newest. 409 when it
   * is offered already. The agents find it on their next hourly check.
   */
  publish(
    input: { version?: string | undefined; bump?: 'minor' | 'patch' | undefined },
    caller: string,
  ): ReleaseView {
    const latest = this.offered()[0]?.version ?? '1.0.0';
    const version = input.version ?? nextVersion(latest, input.bump ?? 'minor');
    const parsed = agentVersionSchema.safeParse(version);
    if (!parsed.success)
      throw new ArcError(
        ERROR_CODES.InvalidParameter,
        `Invalid value for 'version': '${version}' is not an agent version (MAJOR.MINOR.PATCH, e.g. 1.22.0).`,
        { status: 400, target: 'version' },
      );
    if (this.isOffered(version))
      throw new ArcError(ERROR_CODES.Conflict, `Agent version ${version} is already released.`, {
        status: 409,
        target: 'version',
      });
    const record: ReleaseRecord = {
      v: 1,
      kind: 'agent',
      key: agentReleaseKey(version),
      version,
      releasedAtMs: this.deps.clock.now(),
      publishedBy: caller,
    };
    this.deps.store.set(record);
    this.cache = undefined;
    this.deps.logger.info(
      { event: 'release.published', version, newest: compareAgentVersions(version, latest) > 0 },
      `agent version ${version} released`,
    );
    return this.views().find((v) => v.version === version)!;
  }

  /** The answer to a cluster's `upgrade-check`: its profile's setting and where it should be now. */
  plan(record: ClusterRecord, check: UpgradeCheck): UpgradePlanReply {
    const profile = agentProfileOf(record);
    const releases = this.offered();
    const target = upgradeTarget({
      current: check.agentVersion,
      autoUpgrade: profile.autoUpgrade,
      desiredVersion: profile.desiredVersion,
      releases,
    });
    return {
      v: PROTOCOL_VERSION,
      type: 'upgrade-plan',
      autoUpgrade: profile.autoUpgrade,
      targetVersion: target ?? null,
      latestVersion: releases[0]?.version ?? null,
    };
  }

  /** The connected clusters by the agent version they report, and how many are out of support. */
  rollout(records: Iterable<ClusterRecord>): { byVersion: Map<string, number>; outOfSupport: number } {
    const support = this.support();
    const byVersion = new Map<string, number>();
    let behind = 0;
    for (const r of records) {
      const version = r.metadata?.agentVersion;
      if (version === undefined || r.provisioningState === 'Deleting') continue;
      byVersion.set(version, (byVersion.get(version) ?? 0) + 1);
      if (support && outOfSupport(version, support)) behind++;
    }
    return { byVersion, outOfSupport: behind };
  }
}

/** Versions newest first, for listing counts in a stable order. */
export function byVersionDescending(a: string, b: string): number {
  return compareAgentVersions(b, a) || a.localeCompare(b);
}
