/**
 * Where the hub keeps the Flux logs its clusters ship: a JetStream stream, one subject per cluster and
 * configuration (`arcfleet.fluxlogs.<sub>.<rg>.<cluster>.<configuration>`), bounded per subject
 * (the oldest entries go first) and replicated like the hub's KV buckets. JetStream rather than a
 * store of our own: it already gives durable acknowledgement (an entry is acknowledged to the agent
 * only after its PubAck), de-duplication of a resent batch (`Nats-Msg-Id` = cluster and entry number,
 * within the duplicate window), per-subject limits and purging by subject.
 */
import {
  AckPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import {
  FLUX_LOGS_KEPT_PER_CONFIGURATION,
  encodeToken,
  fluxLogEntrySchema,
  type FluxLogEntry,
} from '../../../contract/index.js';

export const FLUX_LOG_STREAM = 'ARCFLEET_FLUX_LOGS';
const PREFIX = 'arcfleet.fluxlogs';
/** A resent batch within this window is recognised and stored once. */
const DUPLICATE_WINDOW_MS = 10 * 60_000;
/**
 * The whole stream's bound, in entries (~0.5 KiB each): a count, not `max_bytes`, because JetStream
 * reserves a stream's `max_bytes` on the disk when the stream is made, and a hub on a small disk would
 * not start. The per-configuration bound is what users see.
 */
const MAX_STREAM_ENTRIES = 2_000_000;
/** Most entries one read returns. */
export const MAX_READ_ENTRIES = 5000;

export interface FluxLogQuery {
  /** One configuration's entries; none: every configuration of the cluster. */
  readonly configuration?: string | undefined;
  /** The newest this many. */
  readonly tail: number;
  /** Only errors. */
  readonly errorsOnly?: boolean;
}

export interface FluxLogStreamOptions {
  readonly replicas: number;
  readonly keptPerConfiguration?: number;
}

const subjectOf = (key: string, configuration: string): string =>
  `${PREFIX}.${key}.${encodeToken(configuration)}`;

export class FluxLogStream {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  /** Makes or updates the stream; one attempt (the caller retries). */
  static async open(nc: NatsConnection, opts: FluxLogStreamOptions): Promise<FluxLogStream> {
    const jsm = await nc.jetstreamManager();
    const config = {
      name: FLUX_LOG_STREAM,
      subjects: [`${PREFIX}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: opts.keptPerConfiguration ?? FLUX_LOGS_KEPT_PER_CONFIGURATION,
      max_msgs: MAX_STREAM_ENTRIES,
      max_msg_size: 16 * 1024,
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      num_replicas: opts.replicas,
    };
    const exists = await jsm.streams.info(FLUX_LOG_STREAM).then(
      () => true,
      () => false,
    );
    if (exists) await jsm.streams.update(FLUX_LOG_STREAM, config);
    else await jsm.streams.add(config);
    return new FluxLogStream(nc.jetstream(), jsm);
  }

  /**
   * Stores a cluster's entries in order and resolves with the highest entry number stored once every
   * one is durable (a resent entry JetStream recognises counts as stored).
   */
  async append(key: string, entries: readonly FluxLogEntry[]): Promise<number> {
    // Published back to back (one connection keeps their order), acknowledged together.
    const acks = entries.map((e) =>
      this.js.publish(subjectOf(key, e.configuration), JSON.stringify(e), {
        msgID: `${key}#${e.seq}`,
        expect: { streamName: FLUX_LOG_STREAM },
      }),
    );
    await Promise.all(acks);
    return entries.reduce((max, e) => Math.max(max, e.seq), 0);
  }

  /** The newest entries of a cluster (or one of its configurations), oldest first. */
  async read(key: string, q: FluxLogQuery): Promise<FluxLogEntry[]> {
    const filter = q.configuration === undefined ? `${PREFIX}.${key}.*` : subjectOf(key, q.configuration);
    const info = await this.jsm.consumers.add(FLUX_LOG_STREAM, {
      filter_subject: filter,
      ack_policy: AckPolicy.None,
      inactive_threshold: nanos(30_000),
      mem_storage: true,
      num_replicas: 1,
    });
    const out: FluxLogEntry[] = [];
    try {
      const total = Math.min(info.num_pending, MAX_READ_ENTRIES * 4);
      if (total === 0) return out;
      const consumer = await this.js.consumers.get(FLUX_LOG_STREAM, info.name);
      let seen = 0;
      while (seen < total) {
        const batch = await consumer.fetch({ max_messages: Math.min(1000, total - seen), expires: 5000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          const parsed = fluxLogEntrySchema.safeParse(m.json());
          if (!parsed.success) continue;
          if (!q.errorsOnly || parsed.data.level === 'error') out.push(parsed.data);
        }
        if (got === 0) break;
        seen += got;
      }
    } finally {
      await this.jsm.consumers.delete(FLUX_LOG_STREAM, info.name).catch(() => undefined);
    }
    return out.slice(-q.tail);
  }

  /** Forgets a cluster's logs (its resource was deleted). */
  async purge(key: string): Promise<void> {
    await this.jsm.streams.purge(FLUX_LOG_STREAM, { filter: `${PREFIX}.${key}.>` });
  }
}
