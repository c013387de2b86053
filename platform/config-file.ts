/**
 * A data file a setting names (a catalogue in YAML or JSON), read and parsed at start: a file that
 * cannot be read or parsed is a ConfigError naming the setting, so the service stops with InvalidConfig.
 */
import { readFileSync } from 'node:fs';
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
