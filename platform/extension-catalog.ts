/**
 * Loading the extension catalog (data) that the hub and extension-manager share: a file or the
 * built-in one. The schema is the contract's (contract/configuration.ts); reading files is not.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ENV } from './settings.js';
import {
  ConfigError,
  BUILTIN_EXTENSION_CATALOG,
  extensionCatalogSchema,
  type CatalogEntry,
} from '../contract/index.js';

/**
 * The catalog in force: the file `ARCFLEET_EXTENSION_CATALOG` names (YAML or JSON, validated), else
 * the built-in one. A bad file stops the service at start with InvalidConfig naming the field.
 */
export function loadExtensionCatalog(path: string | undefined): readonly CatalogEntry[] {
  if (path === undefined || path === '') return BUILTIN_EXTENSION_CATALOG;
  let raw: unknown;
  try {
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
  // Types are compared case-insensitively; the catalog keeps them lower-case.
  return parsed.data.map((e) => ({ ...e, extensionType: e.extensionType.toLowerCase() }));
}
