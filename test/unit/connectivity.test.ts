import { describe, expect, it } from 'vitest';
import {
  evaluate,
  initialConnectivity,
  nextDeadline,
  onCertificate,
  onHeartbeat,
  type ConnectivityState,
} from '../../services/hub/connected-clusters/connectivity.js';

const MIN = 60_000;
const THRESHOLD = 15 * MIN;
const T0 = Date.UTC(2026, 0, 1);

function connected(at = T0): ConnectivityState {
  return onHeartbeat(onCertificate(initialConnectivity(), T0 + 90 * 86_400_000), at).state;
}

describe('connectivity state machine', () => {
  it('starts Connecting and stays there without a heartbeat, however long', () => {
    const s = initialConnectivity();
    expect(s.status).toBe('Connecting');
    expect(evaluate(s, T0 + 365 * 86_400_000, THRESHOLD).state.status).toBe('Connecting');
  });

  it('Connecting -> Connected on the first heartbeat, recording lastConnectivityTime', () => {
    const step = onHeartbeat(initialConnectivity(), T0);
    expect(step.state.status).toBe('Connected');
    expect(step.state.lastHeartbeatMs).toBe(T0);
    expect(step.transition).toEqual({ from: 'Connecting', to: 'Connected', atMs: T0, reason: 'heartbeat' });
  });

  it('stays Connected just before the threshold and goes Offline exactly at it', () => {
    const s = connected();
    expect(evaluate(s, T0 + THRESHOLD - 1, THRESHOLD).transition).toBeUndefined();
    const step = evaluate(s, T0 + THRESHOLD, THRESHOLD);
    expect(step.state.status).toBe('Offline');
    expect(step.transition).toMatchObject({ from: 'Connected', to: 'Offline', atMs: T0 + THRESHOLD });
  });

  it('a heartbeat inside the threshold postpones Offline (no flapping on short blips)', () => {
    let s = connected();
    s = onHeartbeat(s, T0 + 14 * MIN).state;
    expect(evaluate(s, T0 + 28 * MIN, THRESHOLD).state.status).toBe('Connected');
    expect(evaluate(s, T0 + 29 * MIN, THRESHOLD).state.status).toBe('Offline');
  });

  it('Offline -> Connected on a heartbeat', () => {
    const offline = evaluate(connected(), T0 + THRESHOLD, THRESHOLD).state;
    const step = onHeartbeat(offline, T0 + 20 * MIN);
    expect(step.transition).toMatchObject({ from: 'Offline', to: 'Connected' });
    expect(step.state.lastHeartbeatMs).toBe(T0 + 20 * MIN);
  });

  it('goes Expired when the certificate expires, from Connected and from Offline', () => {
    const s = onCertificate(connected(), T0 + 10 * MIN);
    const step = evaluate(s, T0 + 10 * MIN, THRESHOLD);
    expect(step.transition).toMatchObject({ from: 'Connected', to: 'Expired', atMs: T0 + 10 * MIN });
    const offline = evaluate(onCertificate(connected(), T0 + 60 * MIN), T0 + THRESHOLD, THRESHOLD).state;
    expect(offline.status).toBe('Offline');
    expect(evaluate(offline, T0 + 60 * MIN, THRESHOLD).state.status).toBe('Expired');
  });

  it('Expired is sticky: heartbeats, a new certificate and time do not leave it', () => {
    const expired = evaluate(onCertificate(connected(), T0 + MIN), T0 + MIN, THRESHOLD).state;
    expect(expired.status).toBe('Expired');
    expect(onHeartbeat(expired, T0 + 2 * MIN).state.status).toBe('Expired');
    expect(onCertificate(expired, T0 + 999 * MIN).status).toBe('Expired');
    expect(evaluate(expired, T0 + 999 * MIN, THRESHOLD).transition).toBeUndefined();
    expect(nextDeadline(expired, THRESHOLD)).toBeUndefined();
  });

  it('a heartbeat arriving after the certificate expired moves to Expired, not Connected', () => {
    const s = onCertificate(initialConnectivity(), T0);
    expect(onHeartbeat(s, T0 + 1).state.status).toBe('Expired');
  });

  it('after a hub restart counts the Offline deadline from the restart, not the last heartbeat', () => {
    const s = connected();
    const restart = T0 + 60 * MIN;
    expect(evaluate(s, restart + 1, THRESHOLD, restart).state.status).toBe('Connected');
    expect(evaluate(s, restart + THRESHOLD, THRESHOLD, restart).state.status).toBe('Offline');
  });

  it('nextDeadline names the earliest of Offline and expiry', () => {
    const s = onCertificate(connected(), T0 + 5 * MIN);
    expect(nextDeadline(s, THRESHOLD)).toBe(T0 + 5 * MIN);
    expect(nextDeadline(connected(), THRESHOLD)).toBe(T0 + THRESHOLD);
  });
});
