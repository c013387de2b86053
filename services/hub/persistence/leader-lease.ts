/**
 * One leader among the hub replicas for the time-driven work that must run once (the connectivity
 * evaluation that makes clusters Offline or Expired, configuration deadlines, heartbeat persistence):
 * a lease in its own KV bucket. The key is created with `create` (only one replica can) and carries the
 * holder and an expiry (real ms); the holder renews it with `update` on the revision it wrote, every
 * third of the lease. Another replica takes it, with `update` on the revision it read, only once the
 * expiry has passed, so a SIGKILLed leader is replaced within a lease and a renewal period. A holder
 * whose renewals fail stops leading before the expiry it last wrote, so two never lead at once.
 */
import { randomUUID } from 'node:crypto';
import type { KV } from 'nats';
import type { Logger } from '../../../platform/log.js';

export interface Leadership {
  isLeader(): boolean;
}

/** A lone hub (no replicas) always leads. */
export const SOLE_LEADER: Leadership = { isLeader: () => true };

interface LeaseValue {
  holder: string;
  /** Real ms (wall clock: the replicas share one machine or NTP). */
  expiresAtMs: number;
}

const KEY = 'leader';

export interface LeaderLeaseOptions {
  kv: KV;
  leaseMs: number;
  logger: Logger;
  /** Told of every change of role (metrics, logs). */
  onChange?: (leader: boolean) => void;
  /** Who this replica is, in logs and the lease; a random one by default. */
  holder?: string;
}

export class LeaderLease implements Leadership {
  readonly holder: string;
  private leading = false;
  private revision = 0;
  /** Real ms until which this replica may act as leader without a successful renewal. */
  private validUntilMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly opts: LeaderLeaseOptions) {
    this.holder = opts.holder ?? `hub-${process.pid}-${randomUUID().slice(0, 8)}`;
  }

  isLeader(): boolean {
    if (this.leading && Date.now() >= this.validUntilMs) this.setRole(false, 'lease not renewed in time');
    return this.leading;
  }

  start(): void {
    void this.round();
    this.timer = setInterval(() => void this.round(), Math.max(50, Math.floor(this.opts.leaseMs / 3)));
    this.timer.unref();
  }

  /** One renewal or attempt to take the lease; never two at once. */
  async round(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const sentAt = Date.now();
    const value = (): string =>
      JSON.stringify({ holder: this.holder, expiresAtMs: sentAt + this.opts.leaseMs } satisfies LeaseValue);
    try {
      if (this.isLeader()) {
        this.revision = await this.opts.kv.update(KEY, value(), this.revision);
        this.renewed(sentAt);
        return;
      }
      const e = await this.opts.kv.get(KEY);
      if (!e || e.operation !== 'PUT' || e.value.length === 0)
        this.revision = await this.opts.kv.create(KEY, value());
      else {
        const current = e.json<LeaseValue>();
        if (current.expiresAtMs > sentAt) return;
        this.revision = await this.opts.kv.update(KEY, value(), e.revision);
      }
      this.renewed(sentAt);
      this.setRole(true, 'lease taken');
    } catch (err) {
      // A conflict: another replica wrote the lease first. Anything else: the broker is failing over;
      // a leader keeps leading until the expiry it last wrote (isLeader checks it).
      const conflict = (err as { api_error?: { err_code?: number } }).api_error?.err_code === 10071;
      if (conflict && this.leading) this.setRole(false, 'lease taken by another replica');
      if (!conflict) this.opts.logger.debug({ event: 'hub.lease_failed', err }, 'leader lease round failed');
    } finally {
      this.busy = false;
    }
  }

  /** Gives the lease up (SIGTERM), so another replica takes over at its next round, not at expiry. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (!this.leading) return;
    this.setRole(false, 'stopping');
    const value: LeaseValue = { holder: this.holder, expiresAtMs: 0 };
    await this.opts.kv.update(KEY, JSON.stringify(value), this.revision).catch(() => undefined);
  }

  private renewed(sentAt: number): void {
    // Counted from before the write: the others count the expiry from a value written after it. A
    // sixth of the lease is the margin for a renewal that got through but whose answer came late.
    this.validUntilMs = sentAt + this.opts.leaseMs - Math.floor(this.opts.leaseMs / 6);
  }

  private setRole(leader: boolean, reason: string): void {
    if (this.leading === leader) return;
    this.leading = leader;
    this.opts.logger.info(
      { event: leader ? 'hub.leader_elected' : 'hub.leader_lost', holder: this.holder, reason },
      leader ? `this hub replica leads (${reason})` : `this hub replica no longer leads (${reason})`,
    );
    this.opts.onChange?.(leader);
  }
}
