/**
 * The agent release catalogue the hub offers from: the built-in file beside this module, or the one
 * `ARCFLEET_AGENT_RELEASES` names. The schema and the release rules are the contract's
 * (contract/agent-releases.ts); a bad file stops the hub at start with InvalidConfig naming the field.
 */
import { readFileSync } from 'node:fs';
import { ENV } from './settings.js';
import { parseYamlAs, readConfigFile } from './config-file.js';
import { agentReleaseCatalogSchema, type AgentReleaseCatalog } from '../contract/index.js';

const BUILTIN_FILE = new URL('./agent-releases.yaml', import.meta.url);

function parseCatalogue(text: string, source: string): AgentReleaseCatalog {
  return parseYamlAs(agentReleaseCatalogSchema, text, source, ENV.agentReleases);
}

/** The built-in catalogue (platform/agent-releases.yaml). */
export const BUILTIN_AGENT_RELEASES: AgentReleaseCatalog = parseCatalogue(
  readFileSync(BUILTIN_FILE, 'utf8'),
  'the built-in agent release catalogue',
);

/** The newest version of the built-in catalogue: what a generated fleet mostly runs. */
export function builtinLatestAgentVersion(): string {
  return BUILTIN_AGENT_RELEASES.releases.at(-1)!.version;
}

export function loadAgentReleaseCatalogue(path: string | undefined): AgentReleaseCatalog {
  if (path === undefined || path === '') return BUILTIN_AGENT_RELEASES;
  return readConfigFile(path, ENV.agentReleases, parseCatalogue);
}
