/**
 * Revoking cluster users at the broker: the hub adds the user's key to the CLUSTERS account JWT's
 * `revocations`, re-signs it with the operator signing key and pushes it to nats-server from its SYS
 * user (`$SYS.REQ.CLAIMS.UPDATE`); the server drops the user's connections and refuses it from then on.
 *
 * Every push replaces the whole account JWT, so there is one writer: pushes are serialised, revocations
 * waiting meanwhile go out together, and each push's `iat` is later than the last one's (the resolver
 * keeps only a newer JWT; `iat` is whole seconds). The list is kept in KV before it is pushed, so a hub
 * that restarts pushes the same list again; entries older than the longest user JWT are pruned.
 */
import type { KV, NatsConnection } from 'nats';
import { z } from 'zod';
import type { HubKeys } from '../../../platform/broker-files.js';
import { decodeJwt, encodeClustersAccount } from '../../../platform/broker-trust.js';
import type { Logger } from '../../../platform/log.js';
import { delay } from '../../../platform/wait.js';

const KV_KEY = 'broker-revocations';
const PUSH_SUBJECT = '$SYS.REQ.CLAIMS.UPDATE';
const revocationsSchema = z.record(z.string(), z.number());
const answerSchema = z.object({
  data: z.object({ code: z.number(), message: z.string().optional() }).optional(),
  error: z.object({ code: z.number().optional(), description: z.string().optional() }).optional(),
});

export interface RevocationsOptions {
  readonly keys: HubKeys;
  /** The SYS-account connection that pushes account JWTs. */
  readonly system: NatsConnection;
  /** Where the list is kept across hub restarts (the authority's bucket). */
  readonly kv: KV;
  /** Real seconds a user JWT can live (a revocation older than this is dropped). */
  readonly maxUserLifetimeSec: number;
  readonly logger: Logger;
  readonly nowSec?: () => number;
}

export class Revocations {
  private list: Record<string, number> = {};
  private pending = new Map<string, Array<{ resolve: () => void; reject: (e: Error) => void }>>();
  private pushing: Promise<void> | undefined;
  private lastIat = 0;

  private constructor(private readonly opts: RevocationsOptions) {}

  /** Loads the kept list and pushes it (a crash between KV and push is finished here). */
  static async open(opts: RevocationsOptions): Promise<Revocations> {
    const r = new Revocations(opts);
    const entry = await opts.kv.get(KV_KEY);
    if (entry?.operation === 'PUT' && entry.value.length > 0)
      r.list = revocationsSchema.parse(JSON.parse(entry.string()));
    if (Object.keys(r.list).length > 0) await r.push();
    return r;
  }

  private now(): number {
    return this.opts.nowSec?.() ?? Math.floor(Date.now() / 1000);
  }

  /** Resolves once the broker has the revocation of `userPublicKey` (its JWTs issued until now). */
  revoke(userPublicKey: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(userPublicKey) ?? [];
      waiters.push({ resolve, reject });
      this.pending.set(userPublicKey, waiters);
      this.pushing ??= this.drain().finally(() => (this.pushing = undefined));
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0) {
      const batch = this.pending;
      this.pending = new Map();
      try {
        // The revocation covers JWTs issued up to this second; the push's iat is later than any before.
        const at = this.now();
        for (const key of batch.keys()) this.list[key] = at;
        await this.push();
        for (const w of batch.values()) for (const x of w) x.resolve();
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        this.opts.logger.error({ event: 'broker.revocation_failed', err: e }, 'revocation not pushed');
        for (const w of batch.values()) for (const x of w) x.reject(e);
      }
    }
  }

  private async push(): Promise<void> {
    const oldest = this.now() - this.opts.maxUserLifetimeSec;
    for (const [key, at] of Object.entries(this.list)) if (at < oldest) delete this.list[key];
    await this.opts.kv.put(KV_KEY, JSON.stringify(this.list));
    // The resolver keeps an account JWT only if it is newer than the one it has (whole seconds).
    while (this.now() <= this.lastIat) await delay(1000 - (Date.now() % 1000) + 5);
    const { keys } = this.opts;
    const account = await encodeClustersAccount(
      { operatorSigningKey: keys.operatorSigningKey, hub: keys.hub, clusters: keys.clusters },
      this.list,
    );
    this.lastIat = decodeJwt(account).iat;
    const msg = await this.opts.system.request(PUSH_SUBJECT, new TextEncoder().encode(account), {
      timeout: 5000,
    });
    const answer = answerSchema.parse(JSON.parse(msg.string()));
    if (answer.data?.code !== 200)
      throw new Error(`the broker refused the account update: ${msg.string().slice(0, 300)}`);
    this.opts.logger.info(
      { event: 'broker.revocations_pushed', revoked: Object.keys(this.list).length },
      'revocations pushed to the broker',
    );
  }
}
