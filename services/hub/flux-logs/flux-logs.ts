/**
 * The Flux logs on the hub: flux-logs-agent's `flux-logs` reports in (kept in the log stream,
 * acknowledged once durable), and `GET /arcfleet/v1/subscriptions/{sub}/resourceGroups/{rg}/
 * connectedClusters/{name}/fluxLogs?configuration=&tail=&level=error` out, for the CLI and tests
 * (real Arc sends these logs to Azure Monitor; there is no ARM API for them).
 *
 * Only entries of the cluster's own Flux configurations are kept: a cluster's log cannot fill the
 * stream with names of its choosing. Others are dropped, counted and acknowledged all the same (an
 * entry of a configuration deleted while the cluster was cut off must not block the ones after it).
 */
import type { FastifyInstance } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import {
  ArcError,
  ERROR_CODES,
  IdentityError,
  MessageRejectedError,
  PROTOCOL_VERSION,
  type AckReply,
  type FluxLogEntry,
  type FluxLogsReport,
} from '../../../contract/index.js';
import type { Logger } from '../../../platform/log.js';
import { checkResourceGroupName, checkSubscriptionId } from '../arm/scope.js';
import type { ClusterRecord } from '../connected-clusters/projection.js';
import type { ConnectedClusters } from '../connected-clusters/connected-clusters.js';
import type { Started } from '../startup.js';
import { MAX_READ_ENTRIES, type FluxLogQuery, type FluxLogStream } from './log-stream.js';

export interface FluxLogsDeps {
  /** Opens the stream; retried in the background until it succeeds (the hub is ready without it). */
  readonly openStream: () => Promise<FluxLogStream>;
  readonly configurations: { hasFluxConfiguration(cluster: ClusterRecord, name: string): boolean };
  readonly registry: Registry;
  readonly logger: Logger;
}

/** Real ms between attempts to open the stream (JetStream electing leaders after a node died). */
const OPEN_RETRY_MS = 2000;

export class FluxLogs {
  private readonly entries: Counter<'outcome'>;
  private stream: FluxLogStream | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly deps: FluxLogsDeps) {
    this.entries = new Counter({
      name: 'arcfleet_hub_flux_log_entries_total',
      help: 'Flux log entries received from flux-logs-agent, by outcome (stored; dropped: not a Flux configuration of the cluster)',
      labelNames: ['outcome'],
      registers: [deps.registry],
    });
    for (const outcome of ['stored', 'dropped']) this.entries.inc({ outcome }, 0);
    this.open();
  }

  /**
   * Flux logs are not what the hub must have to serve: it opens their stream in the background, and
   * until then refuses `flux-logs` (the agent sends them again) and log reads (503).
   */
  private open(): void {
    if (this.closed) return;
    this.deps.openStream().then(
      (stream) => {
        this.stream = stream;
      },
      (err: unknown) => {
        this.deps.logger.warn(
          { event: 'hub.flux_log_stream_unavailable', err },
          'Flux log stream not open yet',
        );
        this.retry = setTimeout(() => this.open(), OPEN_RETRY_MS);
        this.retry.unref();
      },
    );
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
  }

  private opened(): FluxLogStream {
    if (!this.stream)
      throw new ArcError(ERROR_CODES.ServiceUnavailable, 'the Flux log stream is not available yet; retry', {
        status: 503,
      });
    return this.stream;
  }

  /** Stores the report's entries; the ack (highest entry now held) comes once they are durable. */
  async ingest(cluster: ClusterRecord, report: FluxLogsReport, subject: string): Promise<AckReply> {
    if (report.agent !== 'flux-logs-agent')
      throw new MessageRejectedError(
        ERROR_CODES.InvalidMessage,
        'only flux-logs-agent ships Flux logs',
        subject,
      );
    if (cluster.connectivity.status === 'Expired')
      throw new IdentityError(ERROR_CODES.ClusterExpired, 'the cluster certificate has expired');
    const kept = report.entries.filter((e) =>
      this.deps.configurations.hasFluxConfiguration(cluster, e.configuration),
    );
    const dropped = report.entries.length - kept.length;
    if (dropped > 0) this.entries.inc({ outcome: 'dropped' }, dropped);
    if (kept.length > 0) {
      await this.opened().append(cluster.key, kept);
      this.entries.inc({ outcome: 'stored' }, kept.length);
    }
    const seq = report.entries.reduce((max, e) => Math.max(max, e.seq), 0);
    return { v: PROTOCOL_VERSION, type: 'ack', seq };
  }

  read(key: string, q: FluxLogQuery): Promise<FluxLogEntry[]> {
    return this.opened().read(key, q);
  }

  /** The cluster's resource was deleted: its logs go too (connecting again starts afresh). */
  async removeCluster(key: string): Promise<void> {
    if (!this.stream) return;
    await this.stream.purge(key).catch((err: unknown) => {
      this.deps.logger.warn({ event: 'hub.flux_logs_purge_failed', key, err }, 'could not purge Flux logs');
    });
  }
}

interface Params {
  subscriptionId: string;
  resourceGroupName: string;
  clusterName: string;
}

function tailOf(raw: string | undefined): number {
  const tail = Number(raw ?? '100');
  if (!Number.isInteger(tail) || tail < 1 || tail > MAX_READ_ENTRIES)
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `'tail' must be a whole number from 1 to ${MAX_READ_ENTRIES}`,
      {
        status: 400,
        target: 'tail',
      },
    );
  return tail;
}

export function registerFluxLogRoutes(
  app: FastifyInstance,
  started: Started<{ clusters: ConnectedClusters; fluxLogs: FluxLogs }>,
): void {
  app.get<{ Params: Params }>(
    '/arcfleet/v1/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName/connectedClusters/:clusterName/fluxLogs',
    async (request) => {
      const { subscriptionId, resourceGroupName, clusterName } = request.params;
      checkSubscriptionId(subscriptionId);
      checkResourceGroupName(resourceGroupName);
      const q = request.query as Record<string, string | undefined>;
      const tail = tailOf(q.tail);
      if (q.level !== undefined && q.level !== 'error')
        throw new ArcError(ERROR_CODES.InvalidParameter, "'level' may only be 'error'", {
          status: 400,
          target: 'level',
        });
      const hub = started.get();
      const record = hub.clusters.require({
        subscriptionId,
        resourceGroup: resourceGroupName,
        name: clusterName,
      });
      const value = await hub.fluxLogs.read(record.key, {
        configuration: q.configuration,
        tail,
        errorsOnly: q.level === 'error',
      });
      return { value };
    },
  );
}
