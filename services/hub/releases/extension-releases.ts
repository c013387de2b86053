/**
 * Extension versions the hub offers: the built-in extension catalog's release trains, plus versions
 * published while the fleet runs (`arcfleet release publish --extension-type T`). The merged catalog
 * is what the hub validates extension writes against and hands extension-manager with each desired
 * extension (its type's release trains), so an extension with `autoUpgradeMinorVersion` moves to a newly
 * published minor on its next upgrade check and a pinned one stays.
 */
import semver from 'semver';
import { ArcError, ERROR_CODES, type CatalogEntry } from '../../../contract/index.js';
import type { Clock } from '../../../platform/clock.js';
import { findCatalogEntry } from '../../../platform/extension-catalog.js';
import type { Logger } from '../../../platform/log.js';
import type { ProjectionStore } from '../persistence/projection-store.js';
import { extensionReleaseKey, type ReleaseRecord } from './release-records.js';

export interface ExtensionReleasesDeps {
  store: ProjectionStore<ReleaseRecord>;
  clock: Clock;
  /** The catalog the hub started with (built in, or ARCFLEET_EXTENSION_CATALOG). */
  builtin: readonly CatalogEntry[];
  logger: Logger;
}

export interface ExtensionPublish {
  extensionType: string;
  /** Default Stable. */
  releaseTrain?: string | undefined;
  version?: string | undefined;
  bump?: 'minor' | 'patch' | undefined;
}

export interface ExtensionReleaseView {
  extensionType: string;
  releaseTrain: string;
  version: string;
  releasedAt: string;
}

function trainKey(trains: Record<string, string[]>, train: string): string | undefined {
  return Object.keys(trains).find((k) => k.toLowerCase() === train.toLowerCase());
}

export class ExtensionReleases {
  private cache: { revision: number; catalog: readonly CatalogEntry[] } | undefined;
  private revision = 0;

  constructor(private readonly deps: ExtensionReleasesDeps) {
    deps.store.onRemoteChange(() => this.revision++);
  }

  /** The catalog in force: the built-in entries with every published version on its train. */
  catalog(): readonly CatalogEntry[] {
    if (this.cache?.revision === this.revision) return this.cache.catalog;
    const published = [...this.deps.store.values()].filter((r) => r.kind === 'extension');
    const catalog = this.deps.builtin.map((entry) => {
      const mine = published.filter((r) => r.extensionType === entry.extensionType);
      if (mine.length === 0) return entry;
      const trains: Record<string, string[]> = Object.fromEntries(
        Object.entries(entry.releaseTrains).map(([k, vs]) => [k, [...vs]]),
      );
      for (const r of mine) {
        const train = r.releaseTrain ?? 'Stable';
        const key = trainKey(trains, train) ?? train;
        const versions = (trains[key] ??= []);
        if (!versions.includes(r.version)) versions.push(r.version);
      }
      for (const vs of Object.values(trains)) vs.sort(semver.compare);
      return { ...entry, releaseTrains: trains };
    });
    this.cache = { revision: this.revision, catalog };
    return catalog;
  }

  /** Publishes a version of an extension type now: `version`, or the train's newest's next minor or patch. */
  publish(input: ExtensionPublish, caller: string): ExtensionReleaseView {
    const entry = findCatalogEntry(this.catalog(), input.extensionType);
    if (!entry)
      throw new ArcError(
        ERROR_CODES.InvalidParameter,
        `Invalid value for 'extensionType': extension type '${input.extensionType}' does not exist. Known types: ${this.deps.builtin.map((e) => e.extensionType).join(', ')}.`,
        { status: 400, target: 'extensionType' },
      );
    const train = input.releaseTrain ?? 'Stable';
    const key = trainKey(entry.releaseTrains, train);
    const versions = key === undefined ? [] : (entry.releaseTrains[key] ?? []);
    const newest = versions.at(-1);
    const version =
      input.version ??
      (newest === undefined ? undefined : (semver.inc(newest, input.bump ?? 'minor') ?? undefined));
    if (version === undefined || semver.valid(version) === null)
      throw new ArcError(
        ERROR_CODES.InvalidParameter,
        version === undefined
          ? `Invalid value for 'version': release train '${train}' of '${entry.extensionType}' has no version to bump; give one.`
          : `Invalid value for 'version': '${version}' is not a semantic version (e.g. 1.15.0).`,
        { status: 400, target: 'version' },
      );
    if (versions.includes(version))
      throw new ArcError(
        ERROR_CODES.Conflict,
        `Version ${version} of '${entry.extensionType}' is already released on ${key ?? train}.`,
        { status: 409, target: 'version' },
      );
    const releasedAtMs = this.deps.clock.now();
    this.deps.store.set({
      v: 1,
      key: extensionReleaseKey(entry.extensionType, key ?? train, version),
      kind: 'extension',
      version,
      releasedAtMs,
      publishedBy: caller,
      extensionType: entry.extensionType,
      releaseTrain: key ?? train,
    });
    this.revision++;
    this.deps.logger.info(
      {
        event: 'release.extension_published',
        extensionType: entry.extensionType,
        releaseTrain: key ?? train,
        version,
      },
      `${entry.extensionType} ${version} released on ${key ?? train}`,
    );
    return {
      extensionType: entry.extensionType,
      releaseTrain: key ?? train,
      version,
      releasedAt: new Date(releasedAtMs).toISOString(),
    };
  }
}
