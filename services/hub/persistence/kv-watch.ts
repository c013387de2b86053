/**
 * Hub replicas: a projection store kept current with the other replicas' writes by watching its KV
 * bucket, and the read-your-writes barrier on top of it. A write is acknowledged once it is in KV
 * (ProjectionStore.settle); a read on any replica first asks the bucket for its last revision and
 * waits until its watch has delivered it, so it sees every write acknowledged before the read began.
 */
import type { KV } from 'nats';
import { ArcError, ERROR_CODES } from '../../../contract/index.js';
import type { Logger } from '../../../platform/log.js';
import type { KeyedRecord, ProjectionStore } from './projection-store.js';

/** Real ms a read waits for the watch to catch up before answering 503 (the broker is failing over). */
const CATCH_UP_MS = 5_000;
/** Real ms before a watch that ended (a broker node died under it) is opened again. */
const REWATCH_MS = 500;

export class BucketWatch<R extends KeyedRecord> {
  private closed = false;
  private stopCurrent: (() => void) | undefined;

  constructor(
    private readonly kv: KV,
    private readonly store: ProjectionStore<R>,
    private readonly bucket: string,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.run();
  }

  /** Resolves once this replica's memory holds every write made to the bucket before the call. */
  async sync(): Promise<void> {
    let last: number;
    try {
      last = (await this.kv.status()).streamInfo.state.last_seq;
    } catch (err) {
      // JetStream does not answer (a broker node died and the survivors elect a leader, 4-9 s): this
      // replica cannot tell whether it has every write, so it says so instead of guessing.
      throw new ArcError(
        ERROR_CODES.ServiceUnavailable,
        'The hub cannot reach its store right now (the broker is failing over); retry shortly.',
        { status: 503, cause: err },
      );
    }
    if (await this.store.caughtUp(last, CATCH_UP_MS)) return;
    throw new ArcError(ERROR_CODES.ServiceUnavailable, 'The hub replica is catching up; retry shortly.', {
      status: 503,
    });
  }

  close(): void {
    this.closed = true;
    this.stopCurrent?.();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        // From the start: the last value of every key; after a break, from where the watch stopped.
        const from = this.store.watchedRevision;
        const watch = await this.kv.watch(from > 0 ? { resumeFromRevision: from + 1 } : {});
        this.stopCurrent = () => watch.stop();
        for await (const e of watch) {
          const deleted = e.operation !== 'PUT' || e.value.length === 0;
          this.store.applyRemote({
            key: e.key,
            revision: e.revision,
            record: deleted ? undefined : e.json<R>(),
            json: deleted ? undefined : e.string(),
          });
        }
      } catch (err) {
        this.logger.warn({ event: 'hub.watch_failed', bucket: this.bucket, err }, 'KV watch failed');
      }
      if (!this.closed) await new Promise((r) => setTimeout(r, REWATCH_MS).unref());
    }
  }
}
