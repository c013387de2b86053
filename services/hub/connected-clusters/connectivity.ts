/**
 * The connectivityStatus state machine of a connected cluster. Pure: no I/O, time passed in.
 *
 *   Connecting --heartbeat--> Connected --(no heartbeat for offlineThreshold)--> Offline --heartbeat--> Connected
 *   any --(managedIdentityCertificateExpirationTime <= now)--> Expired   (sticky: only DELETE + PUT leaves it)
 *   Connecting --(no agent heard by agentsMissingAt)--> AgentNotInstalled --heartbeat--> Connected
 */
import type { ConnectivityStatus } from '../../../contract/index.js';

export interface ConnectivityState {
  readonly status: ConnectivityStatus;
  /** Simulated ms of the last heartbeat received (`lastConnectivityTime`). */
  readonly lastHeartbeatMs: number | undefined;
  /** Simulated ms at which the identity certificate expires. */
  readonly certExpiresMs: number | undefined;
}

export interface Transition {
  readonly from: ConnectivityStatus;
  readonly to: ConnectivityStatus;
  readonly atMs: number;
  readonly reason: 'heartbeat' | 'heartbeat-timeout' | 'certificate-expired' | 'agents-not-installed';
}

export interface Step {
  readonly state: ConnectivityState;
  readonly transition: Transition | undefined;
}

export function initialConnectivity(): ConnectivityState {
  return { status: 'Connecting', lastHeartbeatMs: undefined, certExpiresMs: undefined };
}

function step(
  state: ConnectivityState,
  next: Partial<ConnectivityState>,
  atMs: number,
  reason: Transition['reason'],
): Step {
  const updated = { ...state, ...next };
  const transition =
    updated.status === state.status ? undefined : { from: state.status, to: updated.status, atMs, reason };
  return { state: updated, transition };
}

export function onHeartbeat(state: ConnectivityState, nowMs: number): Step {
  if (state.status === 'Expired') return { state, transition: undefined };
  if (state.certExpiresMs !== undefined && nowMs >= state.certExpiresMs)
    return step(state, { status: 'Expired' }, nowMs, 'certificate-expired');
  return step(state, { status: 'Connected', lastHeartbeatMs: nowMs }, nowMs, 'heartbeat');
}

export function onCertificate(state: ConnectivityState, certExpiresMs: number): ConnectivityState {
  if (state.status === 'Expired') return state;
  return { ...state, certExpiresMs };
}

/**
 * Applies the passage of time. `blindSinceMs` is when the hub (re)started: a hub that was down
 * cannot tell a silent cluster from its own absence, so the Offline deadline is counted from
 * max(lastHeartbeat, blindSince). `agentsMissingAtMs` is when a cluster whose agents were never heard
 * (no registration, no heartbeat) reads AgentNotInstalled.
 */
export function evaluate(
  state: ConnectivityState,
  nowMs: number,
  offlineThresholdMs: number,
  blindSinceMs = -Infinity,
  agentsMissingAtMs = Infinity,
): Step {
  if (state.status === 'Expired') return { state, transition: undefined };
  if (neverHeard(state) && agentsMissingAtMs <= nowMs)
    return step(state, { status: 'AgentNotInstalled' }, agentsMissingAtMs, 'agents-not-installed');
  // When several deadlines passed since the last look, take the earliest first (a caller loops),
  // so the recorded history is the one that really happened: Offline, then Expired.
  const offlineAt =
    state.status === 'Connected' && state.lastHeartbeatMs !== undefined
      ? Math.max(state.lastHeartbeatMs, blindSinceMs) + offlineThresholdMs
      : Infinity;
  const expiresAt = state.certExpiresMs ?? Infinity;
  if (offlineAt <= nowMs && offlineAt < expiresAt)
    return step(state, { status: 'Offline' }, offlineAt, 'heartbeat-timeout');
  if (expiresAt <= nowMs) return step(state, { status: 'Expired' }, expiresAt, 'certificate-expired');
  return { state, transition: undefined };
}

/** Connecting and no agent ever registered or heartbeated. */
function neverHeard(state: ConnectivityState): boolean {
  return (
    state.status === 'Connecting' && state.lastHeartbeatMs === undefined && state.certExpiresMs === undefined
  );
}

/** The next simulated instant at which `evaluate` could change the state, for scheduling. */
export function nextDeadline(
  state: ConnectivityState,
  offlineThresholdMs: number,
  blindSinceMs = -Infinity,
  agentsMissingAtMs = Infinity,
): number | undefined {
  if (state.status === 'Expired') return undefined;
  const candidates: number[] = [];
  if (neverHeard(state) && agentsMissingAtMs < Infinity) candidates.push(agentsMissingAtMs);
  if (state.certExpiresMs !== undefined) candidates.push(state.certExpiresMs);
  if (state.status === 'Connected' && state.lastHeartbeatMs !== undefined)
    candidates.push(Math.max(state.lastHeartbeatMs, blindSinceMs) + offlineThresholdMs);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}
