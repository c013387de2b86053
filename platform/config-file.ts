/**
 * A data file a setting names (a catalogue in YAML or JSON), read and parsed at start: a file that
 * cannot be read or parsed is a ConfigError naming the setting, so the service stops with InvalidConfig.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../contract/index.js';

export function readConfigFile<T>(
  path: string,
  setting: string,
  parse: (text: string, source: string) => T,
): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(setting, `cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return parse(text, path);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(setting, `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** YAML (or JSON) text checked against `schema`; a failure names the file and the field. */
export function parseYamlAs<T>(schema: z.ZodType<T>, text: string, source: string, setting: string): T {
  const parsed = schema.safeParse(parseYaml(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      setting,
      `${source}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
