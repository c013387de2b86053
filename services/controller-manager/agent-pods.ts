/**
 * How each Arc agent fares for one cluster, as a kubelet would report its pod (pure): Running, Error
 * (up but reporting errors: not Ready), Stopped (`arcfleet cluster stop-agents`), Missing (never
 * reported) or Dead (its process stopped beating: killed or crashed), and the container's restart
 * history carried over from the Pod as last stored.
 *
 * Liveness follows metrics-agent's rule (agent-runtime/agent-liveness.ts), so `kubectl get pods -n
 * azure-arc` and `arcAgentProfile` agree on which agent is down.
 */
import { statusLastSeenMs } from '../../agent-runtime/agent-liveness.js';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { kubeTime } from '../../agent-runtime/timestamps.js';
import {
  AGENT_NAMES,
  agentDeployed,
  type AgentName,
  type AgentStatus,
  type ClusterState,
  type ProcessBeat,
} from '../../contract/index.js';

export type AgentPodState = 'Running' | 'Error' | 'Stopped' | 'Missing' | 'Dead';

export interface PodInput {
  readonly state: ClusterState;
  readonly statuses: readonly AgentStatus[];
  readonly beats: ReadonlyMap<string, ProcessBeat>;
  /** Real ms now. */
  readonly nowMs: number;
  /** Real ms: an agent whose status (and its process's beat) is older is down. */
  readonly staleAfterMs: number;
}

/** The agents that have a Deployment in this cluster (clusterconnect-agent only with cluster connect). */
export function expectedAgents(state: ClusterState): AgentName[] {
  return AGENT_NAMES.filter((a) => agentDeployed(state, a));
}

export function agentPodState(
  agent: AgentName,
  input: PodInput,
): { state: AgentPodState; status?: AgentStatus } {
  if (input.state.stoppedAgents.includes(agent)) return { state: 'Stopped' };
  let status: AgentStatus | undefined;
  for (const s of input.statuses)
    if (s.agent === agent && (!status || s.lastSeenMs > status.lastSeenMs)) status = s;
  if (!status) return { state: 'Missing' };
  const age = input.nowMs - statusLastSeenMs(status, input.beats);
  if (age > input.staleAfterMs) return { state: 'Dead', status };
  return { state: status.state === 'Error' ? 'Error' : 'Running', status };
}

/** What changes a Pod: compared tick by tick, so a steady cluster costs no object building. */
export function podFingerprint(input: PodInput): string {
  return expectedAgents(input.state)
    .map((agent) => {
      const { state, status } = agentPodState(agent, input);
      const errors = state === 'Error' ? (status?.errors.map((e) => e.message).join(';') ?? '') : '';
      return `${agent}:${state}:${status?.version ?? ''}:${status?.startedAtMs ?? ''}:${errors}`;
    })
    .join('|');
}

/** The agent container's restart history, as the kubelet keeps it across the container's restarts. */
export interface ContainerHistory {
  readonly restartCount: number;
  /** When the running container started (whole seconds), or the dead one's start while it is down. */
  readonly startedAt?: string;
  readonly lastState?: Record<string, unknown>;
  /** Whether the stored Pod shows the container down (its restart already counted). */
  readonly down: boolean;
}

/** The history the stored Pod records for the agent's container. */
export function historyOf(pod: KubeObject | undefined, agent: AgentName): ContainerHistory {
  const statuses = (pod?.['status'] as { containerStatuses?: unknown } | undefined)?.containerStatuses;
  const mine = Array.isArray(statuses)
    ? (statuses as Record<string, unknown>[]).find((c) => c['name'] === agent)
    : undefined;
  const count = typeof mine?.['restartCount'] === 'number' ? mine['restartCount'] : 0;
  const state = (mine?.['state'] ?? {}) as Record<string, { startedAt?: string; reason?: string }>;
  const lastState = mine?.['lastState'] as Record<string, { startedAt?: string }> | undefined;
  const down = state['waiting']?.reason === 'CrashLoopBackOff';
  const startedAt = down ? lastState?.['terminated']?.startedAt : state['running']?.startedAt;
  return {
    restartCount: count,
    ...(startedAt ? { startedAt } : {}),
    ...(lastState ? { lastState } : {}),
    down,
  };
}

/**
 * The next history. A process that stops beating counts one restart (its container waits in
 * CrashLoopBackOff, the dead one in lastState); a process that came back, or was replaced between two
 * looks, counts one too, unless its death was already counted.
 */
export function nextHistory(
  prev: ContainerHistory,
  podState: AgentPodState,
  status: AgentStatus | undefined,
  lastSeenMs: number | undefined,
): ContainerHistory {
  const started = status ? kubeTime(status.startedAtMs) : undefined;
  const terminated = (startedAt: string) => ({
    terminated: {
      exitCode: 137,
      reason: 'Error',
      startedAt,
      ...(lastSeenMs === undefined ? {} : { finishedAt: kubeTime(lastSeenMs) }),
    },
  });
  const keep = prev.lastState ? { lastState: prev.lastState } : {};
  if (podState === 'Dead') {
    if (prev.down || !prev.startedAt) return { ...prev, down: true };
    return {
      restartCount: prev.restartCount + 1,
      startedAt: prev.startedAt,
      lastState: terminated(prev.startedAt),
      down: true,
    };
  }
  if (podState === 'Running' || podState === 'Error') {
    if (prev.down || !prev.startedAt || prev.startedAt === started)
      return {
        restartCount: prev.restartCount,
        ...(started ? { startedAt: started } : {}),
        ...keep,
        down: false,
      };
    return {
      restartCount: prev.restartCount + 1,
      ...(started ? { startedAt: started } : {}),
      lastState: terminated(prev.startedAt),
      down: false,
    };
  }
  // Stopped or never started: nothing runs; the count stays with the Pod.
  return { restartCount: prev.restartCount, ...keep, down: false };
}
