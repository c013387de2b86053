/**
 * What a hostile client learns from the broker: whether a request or a subscription is refused, and
 * with which code (nats.js reports a forbidden request as PERMISSIONS_VIOLATION at once, a forbidden
 * subscription by ending it with that error).
 */
import type { NatsConnection, NatsError } from 'nats';
import { waitFor } from './wait.js';

/** The error code a request fails with (undefined when it is answered). */
export async function requestError(nc: NatsConnection, subject: string): Promise<string | undefined> {
  try {
    await nc.request(subject, new Uint8Array(), { timeout: 2000 });
    return undefined;
  } catch (err) {
    return (err as NatsError).code;
  }
}

/** Whether the server refuses a subscription (its callback gets the permissions error). */
export async function subscribeRefused(nc: NatsConnection, subject: string): Promise<boolean> {
  let refused = false;
  nc.subscribe(subject, { callback: (err) => (refused ||= err !== null) });
  await nc.flush();
  return waitFor(() => refused, {
    timeoutMs: 3000,
    message: `refusal of a subscription to ${subject}`,
  }).catch(() => false);
}
