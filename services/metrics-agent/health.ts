/**
 * Pure judging of a cluster's agent health from its agents' status files (the emulated pod status).
 *
 * An agent is down when its status file is missing (stopped for the cluster, or never started) or stale:
 * neither its `lastSeenMs` nor the beat of the process that wrote it is newer than `staleAfterMs` (a
 * killed process stops beating). An agent whose
 * status says `Error` is up but failing. `agentState` is `Succeeded` when every expected agent runs
 * without error and `Failed` otherwise (the names ARM uses for provisioning-like states).
 */
import type { AgentStatus, ProcessBeat, AgentName, ClusterState } from '../../contract/index.js';
import { statusLastSeenMs as lastSeen } from '../../agent-runtime/agent-liveness.js';

export type ComponentState = 'Running' | 'Error' | 'NotRunning';

export interface ComponentHealth {
  readonly type: AgentName;
  /** Empty when the agent never reported one. */
  readonly version: string;
  readonly state: ComponentState;
  readonly errors: readonly HealthError[];
}

export interface HealthError {
  readonly message: string;
  readonly severity: 'Error' | 'Warning';
  readonly time: string;
}

export interface ClusterHealth {
  readonly agentState: 'Succeeded' | 'Failed';
  readonly components: readonly ComponentHealth[];
}

export interface JudgeOptions {
  /** Agents that should run in every cluster (metrics-agent itself excluded). */
  readonly expected: readonly AgentName[];
  /** Real ms: a status older than this is judged down. */
  readonly staleAfterMs: number;
  /** Real ms now (Date.now, or a FakeClock in tests). */
  readonly nowMs: number;
  /** ISO time stamped on generated errors (simulated time). */
  readonly nowIso: string;
  /** Each agent process's last beat: a status written by a process that still beats is fresh. */
  readonly beats?: ReadonlyMap<string, ProcessBeat>;
}

/** One component per expected agent (in `expected` order), plus any other agent that reported. */
export function judgeHealth(statuses: readonly AgentStatus[], opts: JudgeOptions): ClusterHealth {
  const byAgent = new Map<AgentName, AgentStatus>();
  for (const s of statuses) {
    const prev = byAgent.get(s.agent);
    if (!prev || s.lastSeenMs > prev.lastSeenMs) byAgent.set(s.agent, s);
  }
  const names = [...opts.expected];
  for (const agent of [...byAgent.keys()].sort()) if (!names.includes(agent)) names.push(agent);
  const components = names.map((type) => judgeOne(type, byAgent.get(type), opts));
  const healthy = components.every((c) => c.state === 'Running');
  return { agentState: healthy ? 'Succeeded' : 'Failed', components };
}

function judgeOne(type: AgentName, status: AgentStatus | undefined, opts: JudgeOptions): ComponentHealth {
  if (!status)
    return {
      type,
      version: '',
      state: 'NotRunning',
      errors: [{ message: `${type} is not running`, severity: 'Error', time: opts.nowIso }],
    };
  const ageMs = opts.nowMs - lastSeen(status, opts.beats);
  if (ageMs > opts.staleAfterMs)
    return {
      type,
      version: status.version,
      state: 'NotRunning',
      errors: [
        {
          message: `${type} is not running (no status for ${Math.round(ageMs / 1000)}s)`,
          severity: 'Error',
          time: opts.nowIso,
        },
      ],
    };
  return { type, version: status.version, state: status.state, errors: status.errors };
}

/**
 * A failed agent upgrade, rolled back (the cluster still runs the version it came from), shows as an
 * error of config-agent, which ran it; a later success or another version clears it.
 */
export function withUpgradeFailure(
  health: ClusterHealth,
  state: Pick<ClusterState, 'agentUpgrade' | 'agentVersion'>,
): ClusterHealth {
  const up = state.agentUpgrade;
  if (up?.outcome !== 'Failed' || up.from !== state.agentVersion) return health;
  const error: HealthError = {
    message: up.message ?? `agent upgrade to ${up.to} failed`,
    severity: 'Error',
    time: up.at,
  };
  const has = health.components.some((c) => c.type === 'config-agent');
  const components = has
    ? health.components.map((c) => (c.type === 'config-agent' ? { ...c, errors: [...c.errors, error] } : c))
    : [
        ...health.components,
        {
          type: 'config-agent' as const,
          version: state.agentVersion,
          state: 'Running' as const,
          errors: [error],
        },
      ];
  return { ...health, components };
}

/** `1.2.3` → `1`; empty when the version has no leading number. */
export function majorVersion(version: string): string {
  const m = /^v?(\d+)/.exec(version);
  return m ? (m[1] as string) : '';
}
