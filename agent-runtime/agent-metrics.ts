/**
 * Prometheus metrics of an agent process (one process hosts many clusters, so no per-cluster label:
 * aggregate gauges and a histogram of certificate lifetimes), served by platform/metrics.ts.
 */
import { registerLogMetrics } from '../platform/metrics.js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ENV } from '../platform/settings.js';
import type { Logger } from '../platform/log.js';
import { parseMetricsPort, startMetricsServer } from '../platform/metrics.js';

/** What the agent host reports at scrape time. Expiry times are simulated epoch ms. */
export interface AgentHostStats {
  readonly clusters: number;
  readonly running: number;
  readonly linksOpen: number;
  readonly linksConnected: number;
  readonly certificateExpiriesMs: readonly number[];
  /** Reports waiting in the outboxes of the hosted instances. */
  readonly outboxDepth: number;
}

/** Hooks an AgentLink calls; bounded labels (`kind` is a MessageKind). */
export interface LinkMetrics {
  sent(kind: string): void;
  failed(kind: string): void;
  reconnected(): void;
  /** The broker refused this process a publish or a subscription (a subject not the cluster's). */
  permissionViolation(operation: 'publish' | 'subscribe'): void;
}

/** Buckets of seconds until a certificate expires (simulated). */
export const CERT_EXPIRY_BUCKETS = [
  0,
  3600,
  86_400,
  7 * 86_400,
  30 * 86_400,
  60 * 86_400,
  90 * 86_400,
] as const;

/** Counts of certificates expiring within each bucket's upper bound (cumulative, like a histogram). */
export function certificateExpiryBuckets(
  expiriesMs: readonly number[],
  nowMs: number,
): { le: string; count: number }[] {
  const secs = expiriesMs.map((t) => (t - nowMs) / 1000);
  const out = CERT_EXPIRY_BUCKETS.map((b) => ({ le: String(b), count: secs.filter((s) => s <= b).length }));
  out.push({ le: '+Inf', count: secs.length });
  return out;
}

/** A host that hosts nothing yet (before `serve` is given one). */
export const NO_HOST_STATS: AgentHostStats = Object.freeze({
  clusters: 0,
  running: 0,
  linksOpen: 0,
  linksConnected: 0,
  certificateExpiriesMs: [],
  outboxDepth: 0,
});

export function createAgentMetrics(service: string, stats: () => AgentHostStats, nowMs: () => number) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  registerLogMetrics(registry);
  const cache = { at: -1, value: undefined as AgentHostStats | undefined };
  const read = (): AgentHostStats => {
    // Several gauges collect per scrape: compute the stats once per scrape.
    const t = Date.now();
    if (!cache.value || t - cache.at > 100) {
      cache.value = stats();
      cache.at = t;
    }
    return cache.value;
  };
  new Gauge({
    name: 'arcfleet_agent_clusters',
    help: 'Clusters in the store hosted by this process',
    registers: [registry],
    collect() {
      this.set(read().clusters);
    },
  });
  new Gauge({
    name: 'arcfleet_agent_instances_running',
    help: 'Clusters with a running agent instance',
    registers: [registry],
    collect() {
      this.set(read().running);
    },
  });
  new Gauge({
    name: 'arcfleet_agent_links',
    help: 'Open NATS links, by state (connected or disconnected)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = read();
      this.set({ state: 'connected' }, s.linksConnected);
      this.set({ state: 'disconnected' }, Math.max(0, s.linksOpen - s.linksConnected));
    },
  });
  new Gauge({
    name: 'arcfleet_agent_certificate_expiry_min_seconds',
    help: 'Simulated seconds until the soonest identity certificate expiry (absent without certificates)',
    registers: [registry],
    collect() {
      this.reset();
      const e = read().certificateExpiriesMs;
      if (e.length > 0) this.set((Math.min(...e) - nowMs()) / 1000);
    },
  });
  new Gauge({
    name: 'arcfleet_agent_certificates_expiring_within_seconds',
    help: 'Identity certificates expiring within `le` simulated seconds (cumulative)',
    labelNames: ['le'],
    registers: [registry],
    collect() {
      for (const b of certificateExpiryBuckets(read().certificateExpiriesMs, nowMs()))
        this.set({ le: b.le }, b.count);
    },
  });
  new Gauge({
    name: 'arcfleet_agent_outbox_depth',
    help: 'Messages waiting in the outboxes of this process',
    registers: [registry],
    collect() {
      this.set(read().outboxDepth);
    },
  });
  const sent = new Counter({
    name: 'arcfleet_agent_messages_sent_total',
    help: 'Messages sent to the hub, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const failed = new Counter({
    name: 'arcfleet_agent_messages_failed_total',
    help: 'Messages that could not be sent or got no valid reply, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const reconnects = new Counter({
    name: 'arcfleet_agent_reconnects_total',
    help: 'NATS reconnects of the links of this process',
    registers: [registry],
  });
  // Counted here, where the refusal arrives: on the wire it is inside TLS (the gateway sees ciphertext),
  // and nats-server logs it but publishes no event for it.
  const violations = new Counter({
    name: 'arcfleet_agent_permission_violations_total',
    help: "Publishes and subscriptions the broker refused this process (subjects not its clusters')",
    labelNames: ['operation'],
    registers: [registry],
  });
  for (const operation of ['publish', 'subscribe']) violations.inc({ operation }, 0);
  const link: LinkMetrics = {
    sent: (kind) => {
      sent.inc({ kind });
      failed.inc({ kind }, 0); // a series per kind from the start: rate() of errors reads 0, not nothing
    },
    failed: (kind) => failed.inc({ kind }),
    reconnected: () => reconnects.inc(),
    permissionViolation: (operation) => violations.inc({ operation }),
  };
  return { registry, link };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;

/**
 * An agent process's metrics: the counters exist at once (links report to them); `serve` starts the
 * listener when `ARCFLEET_METRICS_PORT` is set (0 = a free port, written to the port file). A listener
 * that cannot start is logged, never fatal: the agent works without it.
 */
export function startAgentMetrics(
  service: string,
  deps: {
    env: NodeJS.ProcessEnv;
    dataDir: string;
    logger: Logger;
    clock: { now(): number };
    /** This process among its agent kind's (`<agent>-<shard>` in a sharded fleet): names its port file. */
    instance?: string;
  },
): { link: LinkMetrics; registry: Registry; serve(host: { stats(): AgentHostStats }): void } {
  let host: { stats(): AgentHostStats } | undefined;
  const metrics = createAgentMetrics(
    service,
    () => host?.stats() ?? NO_HOST_STATS,
    () => deps.clock.now(),
  );
  return {
    link: metrics.link,
    registry: metrics.registry,
    serve(h) {
      host = h;
      const port = parseMetricsPort(deps.env[ENV.metricsPort]);
      if (port === undefined) return;
      const bind = deps.env[ENV.metricsHost];
      startMetricsServer({
        registry: metrics.registry,
        service: deps.instance ?? service,
        port,
        ...(bind ? { host: bind } : {}),
        dataDir: deps.dataDir,
        logger: deps.logger,
      }).catch((err: unknown) => {
        deps.logger.error({ event: 'metrics.listen_failed', port, err }, 'metrics listener failed to start');
      });
    },
  };
}
