/**
 * The extension catalog the hub and extension-manager share: loading it (the built-in file beside
 * this module, or the one `ARCFLEET_EXTENSION_CATALOG` names) and the version rules a release train
 * follows (semver, so pre-releases order correctly). The schema is the contract's.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { ENV } from './settings.js';
import { parseYamlAs, readConfigFile } from './config-file.js';
import { extensionCatalogSchema, type CatalogEntry } from '../contract/index.js';

const BUILTIN_FILE = new URL('./extension-catalog.yaml', import.meta.url);

function parseCatalog(text: string, source: string): readonly CatalogEntry[] {
  const entries = parseYamlAs(extensionCatalogSchema, text, source, ENV.extensionCatalog);
  // Types are compared case-insensitively; the catalog keeps them lower-case.
  return entries.map((e) => ({ ...e, extensionType: e.extensionType.toLowerCase() }));
}

/** The built-in catalog (platform/extension-catalog.yaml). */
export const BUILTIN_EXTENSION_CATALOG: readonly CatalogEntry[] = parseCatalog(
  readFileSync(BUILTIN_FILE, 'utf8'),
  'the built-in extension catalog',
);

/**
 * The catalog in force: the file `ARCFLEET_EXTENSION_CATALOG` names (YAML or JSON, validated), else
 * the built-in one. A bad file stops the service at start with InvalidConfig naming the field.
 */
export function loadExtensionCatalog(path: string | undefined): readonly CatalogEntry[] {
  if (path === undefined || path === '') return BUILTIN_EXTENSION_CATALOG;
  return readConfigFile(path, ENV.extensionCatalog, parseCatalog);
}

export function findCatalogEntry(
  catalog: readonly CatalogEntry[],
  extensionType: string,
): CatalogEntry | undefined {
  const t = extensionType.toLowerCase();
  return catalog.find((e) => e.extensionType === t);
}

/** Semver precedence: negative, zero or positive (a pre-release sorts before its release). */
export function compareVersions(a: string, b: string): number {
  return semver.compare(a, b);
}

/**
 * The version an install should have: the pinned one when auto-upgrade is off, else the newest of the
 * release train with the same major as what is installed (minor upgrades only), or the newest of the
 * train for a first install. Undefined when the train or the pinned version does not exist.
 */
export function targetVersion(
  entry: CatalogEntry,
  want: { releaseTrain: string; autoUpgradeMinorVersion: boolean; version: string | null },
  installed: string | null,
): string | undefined {
  const trainKey = Object.keys(entry.releaseTrains).find(
    (k) => k.toLowerCase() === want.releaseTrain.toLowerCase(),
  );
  const train = trainKey === undefined ? undefined : entry.releaseTrains[trainKey];
  if (!train) return undefined;
  if (!want.autoUpgradeMinorVersion) {
    if (want.version === null) return undefined;
    return Object.values(entry.releaseTrains).some((vs) => vs.includes(want.version as string))
      ? want.version
      : undefined;
  }
  const sorted = [...train].sort(semver.compare);
  if (installed === null) return sorted[sorted.length - 1];
  const sameMajor = sorted.filter((v) => semver.major(v) === semver.major(installed));
  const newest = sameMajor[sameMajor.length - 1];
  return newest !== undefined && semver.gt(newest, installed) ? newest : installed;
}
