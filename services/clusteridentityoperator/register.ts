/**
 * Why this file exists: onboarding, split out of identity-operator.ts. `register` with the one-time
 * bootstrap token, retried with backoff until the hub issues a certificate or refuses for good; one
 * onboarding is one trace, which starts here.
 */
import { ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import {
  ERROR_CODES,
  IdentityError,
  PROTOCOL_VERSION,
  clusterKey,
  type RegisterRequest,
} from '../../contract/index.js';
import { backoffDelay } from '../../platform/backoff.js';
import { tracingEnabled } from '../../platform/tracing.js';
import { ATTR, failSpan, startInternalSpan } from '../../platform/tracing-spans.js';
import { acceptIdentity } from './identity-secret.js';
import { AGENT, backoffOf, sleep, type OperatorHost, type Session } from './session.js';

/** Refusals of `register` that retrying with the same onboarding secret cannot fix. */
export const DEFINITIVE_REGISTER_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.InvalidBootstrapToken,
  ERROR_CODES.IdentityInvalid,
  ERROR_CODES.IdentityRevoked,
  ERROR_CODES.ClusterExpired,
  ERROR_CODES.InvalidMessage,
  ERROR_CODES.UnsupportedProtocolVersion,
  ERROR_CODES.MessageTooLarge,
]);

/**
 * One onboarding is one trace, and it starts here: an `onboard` root span over every register
 * attempt; its context goes into the identity secret so the other agents' first sync continues it.
 */
export async function register(host: OperatorHost, s: Session): Promise<void> {
  if (!tracingEnabled()) return registerUntilDone(host, s, undefined);
  const span = startInternalSpan('onboard', ROOT_CONTEXT, {
    [ATTR.clusterName]: host.ctx.clusterName,
    [ATTR.clusterKey]: clusterKey(s.ref),
  });
  try {
    await registerUntilDone(host, s, trace.setSpan(ROOT_CONTEXT, span));
  } finally {
    span.end();
  }
}

async function registerUntilDone(
  host: OperatorHost,
  s: Session,
  onboardingTrace: Context | undefined,
): Promise<void> {
  const { clock } = host.opts;
  for (let attempt = 0; !s.cancelled; attempt++) {
    const link = s.link;
    if (!link) return;
    const request: RegisterRequest = {
      v: PROTOCOL_VERSION,
      type: 'register',
      agent: AGENT,
      bootstrapToken: s.onboarding.bootstrapToken,
      agentPublicKey: s.onboarding.publicKey,
      agentVersion: host.snapshot().state.agentVersion,
      sentAt: new Date(clock.now()).toISOString(),
    };
    const result = await link.request('register', request, undefined, onboardingTrace);
    if (s.cancelled) return;
    let reason: string;
    if (result.ok && result.reply.type === 'identity') {
      try {
        await acceptIdentity(host, s, result.reply, 'identity.obtained', onboardingTrace);
        return;
      } catch (err) {
        // The hub lets the same key register again with its used token: retry.
        host.log.error({ event: 'identity.write_failed', err }, 'could not store the identity secret');
        reason = 'identity secret not written';
      }
    } else if (result.ok && result.reply.type === 'error') {
      const { code, message } = result.reply;
      if (DEFINITIVE_REGISTER_ERRORS.has(code)) {
        failSpan(onboardingTrace && trace.getSpan(onboardingTrace), code, message);
        const err = new IdentityError(code as IdentityError['code'], message);
        host.log.error(
          { event: 'identity.register_refused', code, err },
          'the hub refused registration; waiting for a new onboarding secret',
        );
        return;
      }
      reason = code;
    } else if (result.ok) reason = `unexpected reply ${result.reply.type}`;
    else reason = result.reason;
    const delayMs = backoffDelay(attempt, backoffOf(host.opts));
    host.log.warn(
      { event: 'identity.register_retry', reason, attempt: attempt + 1, delayMs },
      'register failed',
    );
    await sleep(s, delayMs);
  }
}
