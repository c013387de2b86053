/**
 * The extension catalog the hub validates writes against: the built-in one, or the YAML/JSON file
 * named by `ARCFLEET_EXTENSION_CATALOG` (the same file extension-manager reads).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  BUILTIN_EXTENSION_CATALOG,
  extensionCatalogSchema,
  type CatalogEntry,
} from '../../../shared/configuration.js';
import { ENV } from '../../../shared/config.js';
import { ConfigError } from '../../../shared/errors.js';

export function loadCatalog(path: string | undefined): readonly CatalogEntry[] {
  if (path === undefined) return BUILTIN_EXTENSION_CATALOG;
  let raw: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both.
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(ENV.extensionCatalog, `cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = extensionCatalogSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      ENV.extensionCatalog,
      `${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data.map((e) => ({ ...e, extensionType: e.extensionType.toLowerCase() }));
}
