/**
 * Why this file exists: clusteridentityoperator's parts (register.ts, renew.ts, identity-secret.ts and
 * the operator in identity-operator.ts) share one onboarding session; this is that session, the
 * operator's options, and the small host each part is handed instead of the operator class itself.
 */
import type { AgentContext, ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { AgentLink } from '../../agent-runtime/agent-link.js';
import type { Clock } from '../../platform/clock.js';
import type { ClusterRef, IdentitySecret, OnboardingSecret } from '../../contract/index.js';
import type { ArcTimings } from '../../platform/settings.js';
import { delay } from '../../platform/wait.js';
import type { RenewalScheduler } from './renewal.js';

export const AGENT = 'clusteridentityoperator' as const;

export interface IdentityOperatorOptions {
  readonly clock: Clock;
  readonly timings: Pick<ArcTimings, 'certRenewAfterMs' | 'certRenewJitterMs'>;
  /** Real ms: first retry delay ceiling of register/renew (default 500). */
  readonly retryBaseMs?: number;
  /** Real ms: largest retry delay (default 30 000). */
  readonly retryCapMs?: number;
  readonly random?: () => number;
}

export interface Session {
  readonly onboarding: OnboardingSecret;
  readonly ref: ClusterRef;
  readonly abort: AbortController;
  link: AgentLink | undefined;
  renewal: RenewalScheduler | undefined;
  /** The identity secret as last written or adopted by this session. */
  identity: IdentitySecret | undefined;
  cancelled: boolean;
}

/** What the session's parts use of the operator. */
export interface OperatorHost {
  readonly ctx: AgentContext;
  readonly opts: IdentityOperatorOptions;
  readonly log: AgentContext['logger'];
  /** The cluster as the operator last saw it (it changes while a session runs). */
  snapshot(): ClusterSnapshot;
  /** (Re)starts the session's renewal schedule (renew.ts). */
  startRenewal(s: Session, notBeforeMs: number, notAfterMs: number): void;
}

export function backoffOf(opts: IdentityOperatorOptions): {
  baseMs: number;
  maxMs: number;
  random?: () => number;
} {
  return {
    baseMs: opts.retryBaseMs ?? 500,
    maxMs: opts.retryCapMs ?? 30_000,
    ...(opts.random ? { random: opts.random } : {}),
  };
}

/** Real-time wait, cut short when the session ends (its abort signal). */
export async function sleep(s: Session, ms: number): Promise<void> {
  await delay(ms, undefined, { signal: s.abort.signal }).catch(() => undefined);
}
