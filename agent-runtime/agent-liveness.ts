/**
 * When an agent was last seen alive for a cluster: the later of its status file's own `lastSeenMs`
 * and the beat of the process that wrote it (same pid and start time; a killed process stops
 * beating). Shared by metrics-agent's health judgement and the emulated apiserver's pod status, so
 * `kubectl get pods -n azure-arc` and `arcAgentProfile` agree on which agent is down.
 */
import type { AgentStatus, ProcessBeat } from '../contract/index.js';

export function statusLastSeenMs(
  status: AgentStatus,
  beats: ReadonlyMap<string, ProcessBeat> | undefined,
): number {
  const beat = beats?.get(status.agent);
  return beat && beat.pid === status.pid && beat.startedAtMs === status.startedAtMs
    ? Math.max(status.lastSeenMs, beat.lastSeenMs)
    : status.lastSeenMs;
}
