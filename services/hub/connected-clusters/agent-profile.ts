/**
 * `properties.arcAgentProfile` as a PUT sets it (the spec lets PATCH change neither field): checked at
 * the boundary, and a change told to the cluster's agents so that config-agent checks for an upgrade
 * now, as `az connectedk8s update --auto-upgrade` and `az connectedk8s upgrade --agent-version` act at once.
 */
import { AGENT_VERSION_PATTERN, ArcError, ERROR_CODES, type AgentSupport } from '../../../contract/index.js';
import type { DesiredResource } from './projection.js';

/** What the profile check needs of the agent releases (releases/agent-releases.ts). */
export interface AgentReleaseLookup {
  support(): AgentSupport | undefined;
  isOffered(version: string): boolean;
}

function invalid(field: string, message: string): ArcError {
  return new ArcError(
    ERROR_CODES.InvalidParameter,
    `Invalid value for 'properties.arcAgentProfile.${field}': ${message}`,
    { status: 400, target: `properties.arcAgentProfile.${field}` },
  );
}

/** Refuses an `agentAutoUpgrade` other than Enabled|Disabled and a `desiredAgentVersion` not released. */
export function checkAgentProfile(desired: DesiredResource, releases: AgentReleaseLookup | undefined): void {
  const raw = desired.extra['arcAgentProfile'];
  if (raw === undefined) return;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw invalid('(object)', 'must be an object.');
  const p = raw as Record<string, unknown>;
  const auto = p['agentAutoUpgrade'];
  if (auto !== undefined && auto !== null && auto !== 'Enabled' && auto !== 'Disabled')
    throw invalid('agentAutoUpgrade', `'${String(auto)}' is not one of Enabled, Disabled.`);
  const version = p['desiredAgentVersion'];
  if (version === undefined || version === null) return;
  if (typeof version !== 'string' || !AGENT_VERSION_PATTERN.test(version))
    throw invalid('desiredAgentVersion', `'${String(version)}' is not an agent version (MAJOR.MINOR.PATCH).`);
  if (releases && !releases.isOffered(version))
    throw invalid(
      'desiredAgentVersion',
      `agent version ${version} is not released (latest: ${releases.support()?.latest ?? 'none'}).`,
    );
}

/** Whether a PUT changed what the agents act on (the auto-upgrade setting or the desired version). */
export function agentProfileChanged(before: DesiredResource, after: DesiredResource): boolean {
  const pick = (d: DesiredResource) => {
    const p = (d.extra['arcAgentProfile'] ?? {}) as Record<string, unknown>;
    return JSON.stringify([p['agentAutoUpgrade'] ?? 'Enabled', p['desiredAgentVersion'] ?? null]);
  };
  return pick(before) !== pick(after);
}

/**
 * The writable part of a PUT's `arcAgentProfile`: ARM ignores the read-only `agentState`,
 * `agentErrors` and `systemComponents[].majorVersion|currentVersion` (clients send a GET body back).
 */
export function writableAgentProfile(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'agentState' || k === 'agentErrors') continue;
    if (k === 'systemComponents' && Array.isArray(v))
      out[k] = v.map((c: unknown) => {
        if (c === null || typeof c !== 'object') return c;
        const { type, userSpecifiedVersion } = c as Record<string, unknown>;
        return { type, ...(userSpecifiedVersion === undefined ? {} : { userSpecifiedVersion }) };
      });
    else out[k] = v;
  }
  return out;
}
