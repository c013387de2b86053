/**
 * The hub's Prometheus metrics, on a Registry of its own. No per-cluster labels: a fleet can be
 * 10,000 clusters.
 */
import { registerLogMetrics } from '../../platform/metrics.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  CONNECTIVITY_STATUSES,
  outOfSupport,
  type AgentSupport,
  PROVISIONING_STATES,
  ERROR_CODES,
  type ErrorCode,
} from '../../contract/index.js';
import type { FleetCounts } from './connected-clusters/counts.js';

export type { FleetCounts };

function noClusters(): FleetCounts {
  return {
    byStatus: new Map(),
    byProvisioningState: new Map(),
    byLocation: new Map(),
    byDistribution: new Map(),
    byAgentVersion: new Map(),
  };
}

/** Reasons the agent bus refuses a message with (others are counted too, from their first occurrence). */
export const REJECTION_REASONS: readonly ErrorCode[] = [
  ERROR_CODES.InvalidMessage,
  ERROR_CODES.UnsupportedProtocolVersion,
  ERROR_CODES.MessageTooLarge,
  ERROR_CODES.InvalidBootstrapToken,
  ERROR_CODES.IdentityInvalid,
  ERROR_CODES.IdentityRevoked,
  ERROR_CODES.ClusterExpired,
  ERROR_CODES.InternalServerError,
];

/** Label values kept per free-form dimension (location, distribution); the rest are summed as `other`. */
export const MAX_LABEL_VALUES = 50;

/**
 * Bounds a free-form label: the `max` largest values by count (ties by name), the rest summed under
 * `other`; an empty value is `unknown`.
 */
export function boundedCounts(
  counts: ReadonlyMap<string, number>,
  max = MAX_LABEL_VALUES,
): Map<string, number> {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out = new Map<string, number>();
  for (const [i, [k, n]] of sorted.entries()) {
    const label = i < max ? k || 'unknown' : 'other';
    out.set(label, (out.get(label) ?? 0) + n);
  }
  return out;
}

/**
 * `countFleetNow` is undefined until the hub has loaded its projections (the registry is served from
 * the start): the fleet gauges then read 0.
 */
export function createHubMetrics(
  countFleetNow: () => FleetCounts | undefined,
  opts: { cacheMs?: number; agentSupport?: () => AgentSupport | undefined } = {},
) {
  const cacheMs = opts.cacheMs ?? 250;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerLogMetrics(registry);
  // The fleet is counted once per scrape (several gauges read it): O(N) once, not once per gauge.
  let cached: { at: number; counts: FleetCounts } | undefined;
  const countFleet = (): FleetCounts => {
    const t = Date.now();
    if (!cached || t - cached.at >= cacheMs) cached = { at: t, counts: countFleetNow() ?? noClusters() };
    return cached.counts;
  };
  // Values seen earlier but gone now must read 0, not linger: reset before setting.
  const setBounded = (g: Gauge<string>, label: string, counts: ReadonlyMap<string, number>): void => {
    g.reset();
    for (const [k, n] of boundedCounts(counts)) g.set({ [label]: k }, n);
  };
  new Gauge({
    name: 'arcfleet_hub_clusters_by_location',
    help: 'Connected clusters by location (the 50 largest; the rest as other)',
    labelNames: ['location'],
    registers: [registry],
    collect() {
      setBounded(this, 'location', countFleet().byLocation);
    },
  });
  new Gauge({
    name: 'arcfleet_hub_clusters_by_distribution',
    help: 'Connected clusters by Kubernetes distribution (the 50 largest; the rest as other)',
    labelNames: ['distribution'],
    registers: [registry],
    collect() {
      setBounded(this, 'distribution', countFleet().byDistribution);
    },
  });
  new Gauge({
    name: 'arcfleet_hub_clusters_by_agent_version',
    help: 'Connected clusters by the Arc agent version they report: the rollout of a release (the 50 largest; the rest as other)',
    labelNames: ['version'],
    registers: [registry],
    collect() {
      setBounded(this, 'version', countFleet().byAgentVersion);
    },
  });
  new Gauge({
    name: 'arcfleet_hub_clusters_agent_out_of_support',
    help: 'Connected clusters whose agents are more than N-2 minor versions behind the latest release',
    registers: [registry],
    collect() {
      const support = opts.agentSupport?.();
      let n = 0;
      if (support)
        for (const [version, count] of countFleet().byAgentVersion)
          if (outOfSupport(version, support)) n += count;
      this.set(n);
    },
  });
  const clusters = new Gauge({
    name: 'arcfleet_hub_clusters',
    help: 'Connected clusters by connectivityStatus',
    labelNames: ['connectivity_status'],
    registers: [registry],
    collect() {
      const counts = countFleet();
      for (const s of CONNECTIVITY_STATUSES)
        this.set({ connectivity_status: s }, counts.byStatus.get(s) ?? 0);
    },
  });
  const clustersByProvisioning = new Gauge({
    name: 'arcfleet_hub_clusters_by_provisioning_state',
    help: 'Connected clusters by provisioningState',
    labelNames: ['provisioning_state'],
    registers: [registry],
    collect() {
      const counts = countFleet();
      for (const s of PROVISIONING_STATES)
        this.set({ provisioning_state: s }, counts.byProvisioningState.get(s) ?? 0);
    },
  });
  const rejected = new Counter({
    name: 'arcfleet_hub_rejected_messages_total',
    help: 'Agent messages refused at the boundary, by reason (error code)',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Series exist from the start at 0, so rate() sees the first rejection (a series born at 1 has no rate).
  for (const reason of REJECTION_REASONS) rejected.inc({ reason }, 0);
  return {
    registry,
    clusters,
    clustersByProvisioning,
    heartbeats: new Counter({
      name: 'arcfleet_hub_heartbeats_total',
      help: 'Agent heartbeats accepted',
      registers: [registry],
    }),
    metadataReports: new Counter({
      name: 'arcfleet_hub_metadata_reports_total',
      help: 'Metadata reports accepted',
      registers: [registry],
    }),
    rejected,
    transitions: new Counter({
      name: 'arcfleet_hub_status_transitions_total',
      help: 'connectivityStatus transitions',
      labelNames: ['from', 'to'],
      registers: [registry],
    }),
    onboardingSeconds: new Histogram({
      name: 'arcfleet_hub_onboarding_duration_seconds',
      help: 'Simulated seconds from PUT to first Connected',
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
    metadataSyncLagSeconds: new Histogram({
      name: 'arcfleet_hub_metadata_sync_lag_seconds',
      help: 'Simulated seconds from a change in the cluster to its visibility in the projection',
      buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 3600],
      registers: [registry],
    }),
    kvWrites: new Counter({
      name: 'arcfleet_hub_kv_writes_total',
      help: 'Projection writes to JetStream KV',
      labelNames: ['kind'],
      registers: [registry],
    }),
    writeAckTimeouts: new Counter({
      name: 'arcfleet_hub_write_ack_timeouts_total',
      help: 'ARM writes answered 503 because their change did not reach JetStream KV within ARCFLEET_HUB_WRITE_ACK_TIMEOUT',
      registers: [registry],
    }),
    kvConflicts: new Counter({
      name: 'arcfleet_hub_kv_conflicts_total',
      help: 'Projection writes refused because another hub replica wrote the key first (rebased and written again)',
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'arcfleet_hub_leader',
      help: '1 while this hub replica holds the leader lease (Offline/Expired evaluation, deadlines, heartbeat persistence)',
      registers: [registry],
    }),
    clusterConnectRequests: new Counter({
      name: 'arcfleet_hub_cluster_connect_requests_total',
      help: 'Requests forwarded through cluster connect, by outcome (ok, error, timeout, unavailable, not_found, client_closed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'arcfleet_hub_api_requests_total',
      help: 'ARM API requests',
      labelNames: ['route', 'code'],
      registers: [registry],
    }),
    apiDuration: new Histogram({
      name: 'arcfleet_hub_api_request_duration_seconds',
      help: 'ARM API request duration',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    feedTickSeconds: new Histogram({
      name: 'arcfleet_hub_feed_tick_duration_seconds',
      help: 'Live page feed: real seconds per interval to diff the fleet and send the delta to every client',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    feedMessages: new Counter({
      name: 'arcfleet_hub_feed_messages_total',
      help: 'Live page feed messages sent (snapshots and deltas, per client)',
      registers: [registry],
    }),
    feedBytes: new Counter({
      name: 'arcfleet_hub_feed_bytes_total',
      help: 'Live page feed bytes sent, all clients',
      registers: [registry],
    }),
    feedRejected: new Counter({
      name: 'arcfleet_hub_feed_rejected_total',
      help: 'Live page feed refusals: an upgrade from another Origin or to another path, an invalid client message',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    feedClients: new Gauge({
      name: 'arcfleet_hub_feed_clients',
      help: 'Live page feed clients connected',
      registers: [registry],
    }),
  };
}

export type HubMetrics = ReturnType<typeof createHubMetrics>;
