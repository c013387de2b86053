/**
 * arcfleet's own API over the connected clusters (not ARM): the transitions feed
 * `GET /arcfleet/v1/events` and the fleet's counts `GET /arcfleet/v1/summary`, for chaos tests and the CLI.
 */
import type { FastifyInstance } from 'fastify';
import { ArcError, ERROR_CODES } from '../../../contract/index.js';
import type { ArcTimings } from '../../../platform/settings.js';
import type { Started } from '../startup.js';
import type { ConnectedClusters } from './connected-clusters.js';
import type { EventLog } from './event-log.js';

export interface FleetApiOptions {
  started: Started<{ clusters: ConnectedClusters }>;
  events: EventLog;
  /** Shown in the summary, so tools can reason in the fleet's own time (chaos scenarios). */
  timeScale: number;
  timings: ArcTimings;
}

export function registerFleetApi(app: FastifyInstance, opts: FleetApiOptions): void {
  app.get('/arcfleet/v1/events', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const since = Number(q.since ?? '0');
    const limit = Number(q.limit ?? '1000');
    if (!Number.isInteger(since) || since < 0)
      throw new ArcError(ERROR_CODES.InvalidParameter, "'since' must be a whole number >= 0", {
        status: 400,
        target: 'since',
      });
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
      throw new ArcError(ERROR_CODES.InvalidParameter, "'limit' must be a whole number from 1 to 10000", {
        status: 400,
        target: 'limit',
      });
    return opts.events.since(since, limit);
  });

  app.get('/arcfleet/v1/summary', async () => {
    const counts = opts.started.get().clusters.counts();
    return {
      total: [...counts.byStatus.values()].reduce((a, b) => a + b, 0),
      connectivityStatus: Object.fromEntries(counts.byStatus),
      provisioningState: Object.fromEntries(counts.byProvisioningState),
      timeScale: opts.timeScale,
      timings: opts.timings,
    };
  });
}
