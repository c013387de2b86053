/**
 * An ARM write is acknowledged only once it is durable: a 2xx answer to PUT, PATCH, DELETE or POST under
 * `/subscriptions/` leaves only after the changes it made are in JetStream KV (the stores' settle of the
 * keys the request touched; every key if that record is missing).
 * A store that cannot take it within the write-ack timeout (the broker down or full) turns the answer
 * into ARM's `503 ServiceUnavailable` with Retry-After: the client retries, and a write that lands later
 * was not promised. With several replicas, reads and writes also first wait until this replica has seen
 * every revision the buckets held when the request arrived (read-your-writes through any replica).
 */
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../../contract/index.js';
import { touchedKeys, withWriteScope, type TouchedKeys } from '../persistence/write-scope.js';

/** The stores' barrier and acknowledgement, over all of the hub's buckets. */
export interface Consistency {
  /** Resolves once memory holds every write made to the buckets before the call (replicas only). */
  sync(): Promise<void>;
  /** Resolves once the given changes (default: every change made so far) are in KV. */
  settle(touched?: TouchedKeys): Promise<void>;
}

const WRITES = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

/** Only the ARM resources: health, metrics, the page and its feed do not wait. */
function isArm(url: string): boolean {
  return url.startsWith('/subscriptions/');
}

export interface DurableWritesOptions {
  readonly consistency: () => Consistency | undefined;
  /** Real ms a write's answer waits for its change to reach KV. */
  readonly ackTimeoutMs: number;
  readonly retryAfterSeconds: number;
  /** Counts writes answered 503 because the store did not take them in time. */
  readonly onTimeout?: () => void;
}

export function registerDurableWrites(app: FastifyInstance, opts: DurableWritesOptions): void {
  // A write request runs in a scope that records the keys it changes (persistence/write-scope.ts).
  app.addHook('onRequest', (request, _reply, done) => {
    if (WRITES.has(request.method) && isArm(request.url)) withWriteScope(done);
    else done();
  });
  app.addHook('preHandler', async (request) => {
    const c = opts.consistency();
    if (c && isArm(request.url)) await c.sync();
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const c = opts.consistency();
    // A refused write acknowledged nothing; a successful one waits for its change to be stored.
    if (!c || !WRITES.has(request.method) || !isArm(request.url) || reply.statusCode >= 400) return payload;
    let timer: NodeJS.Timeout | undefined;
    const stored = await Promise.race([
      c.settle(touchedKeys()).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), opts.ackTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (stored) return payload;
    opts.onTimeout?.();
    reply.code(503).header('retry-after', String(opts.retryAfterSeconds)).type('application/json');
    for (const h of ['location', 'azure-asyncoperation']) reply.removeHeader(h);
    return JSON.stringify({
      error: {
        code: ERROR_CODES.ServiceUnavailable,
        message: `The change could not be stored within ${opts.ackTimeoutMs / 1000} s (the hub's store is unavailable); it was not acknowledged. Retry the request.`,
      },
    });
  });
}
