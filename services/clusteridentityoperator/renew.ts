/**
 * Why this file exists: certificate renewal over the link, split out of identity-operator.ts. It
 * wires renewal.ts's pure schedule to `renew` requests and sorts the hub's refusals into retry,
 * expired or fatal.
 */
import { PROTOCOL_VERSION, ERROR_CODES, type RenewRequest } from '../../contract/index.js';
import { backoffDelay } from '../../platform/backoff.js';
import { acceptIdentity, markExpired } from './identity-secret.js';
import { RenewalScheduler, type RenewOutcome } from './renewal.js';
import { AGENT, backoffOf, type OperatorHost, type Session } from './session.js';

/** Refusals of `renew` that mean the certificate is past saving. */
const EXPIRED_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.IdentityExpired,
  ERROR_CODES.ClusterExpired,
]);
/** Refusals of `renew` worth retrying. */
const TRANSIENT_ERRORS: ReadonlySet<string> = new Set([
  ERROR_CODES.ServiceUnavailable,
  ERROR_CODES.InternalServerError,
]);

export function startRenewal(host: OperatorHost, s: Session, notBeforeMs: number, notAfterMs: number): void {
  const { clock, timings } = host.opts;
  s.renewal ??= new RenewalScheduler({
    clock,
    renewAfterMs: timings.certRenewAfterMs,
    jitterMs: timings.certRenewJitterMs,
    retryDelayMs: (attempt) => backoffDelay(attempt, backoffOf(host.opts)) * clock.timeScale,
    attempt: () => renewOnce(host, s),
    onExpired: (reason) => void markExpired(host, s, reason),
    onFatal: (reason) =>
      host.log.error({ event: 'identity.renew_refused', reason }, 'the hub refused renewal; giving up'),
    onRetry: (reason, attempt, delayMs) =>
      host.log.warn(
        { event: 'identity.renew_retry', reason, attempt, delaySimMs: delayMs },
        'renewal failed',
      ),
    ...(host.opts.random ? { random: host.opts.random } : {}),
  });
  s.renewal.start(notBeforeMs, notAfterMs);
  host.log.debug(
    {
      event: 'identity.renewal_scheduled',
      at: new Date(s.renewal.nextAttemptAtMs ?? notAfterMs).toISOString(),
    },
    'renewal scheduled',
  );
}

async function renewOnce(host: OperatorHost, s: Session): Promise<RenewOutcome> {
  const link = s.link;
  if (!link || s.cancelled) return { kind: 'retry', reason: 'not connected' };
  const request: RenewRequest = {
    v: PROTOCOL_VERSION,
    type: 'renew',
    agent: AGENT,
    sentAt: new Date(host.opts.clock.now()).toISOString(),
  };
  const result = await link.request('renew', request);
  if (!result.ok) return { kind: 'retry', reason: result.reason };
  const reply = result.reply;
  if (reply.type === 'identity') {
    await acceptIdentity(host, s, reply, 'identity.renewed');
    return {
      kind: 'renewed',
      notBeforeMs: Date.parse(reply.notBefore),
      notAfterMs: Date.parse(reply.notAfter),
    };
  }
  if (reply.type === 'error') {
    if (EXPIRED_ERRORS.has(reply.code)) return { kind: 'expired', reason: reply.code };
    if (TRANSIENT_ERRORS.has(reply.code)) return { kind: 'retry', reason: reply.code };
    return { kind: 'fatal', reason: `${reply.code}: ${reply.message}` };
  }
  return { kind: 'retry', reason: `unexpected reply ${reply.type}` };
}
