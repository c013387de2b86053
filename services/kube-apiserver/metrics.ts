/**
 * Prometheus metrics of the emulated apiserver, on a Registry of its own. Labels are bounded: verb,
 * resource (a plural from contract/kube-resources.ts, `discovery` or `other`), HTTP code and rejection
 * reason; never the cluster name (a fleet can be 10,000 clusters).
 */
import { registerLogMetrics } from '../../platform/metrics.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface KubeApiStats {
  readonly clustersLoaded: number;
  readonly objectsStored: number;
}

export function createKubeApiMetrics(stats: () => KubeApiStats) {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'kube-apiserver' });
  collectDefaultMetrics({ register: registry });
  registerLogMetrics(registry);
  const requests = new Counter({
    name: 'arcfleet_kube_requests_total',
    help: 'Requests by verb, resource and HTTP code',
    labelNames: ['verb', 'resource', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'arcfleet_kube_request_duration_seconds',
    help: 'Request latency by verb (watch excluded), including the wait for durable writes',
    labelNames: ['verb'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'arcfleet_kube_rejections_total',
    help: 'Requests refused with a 4xx Status, by reason (NotFound, Invalid, Conflict, ...)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const watches = new Gauge({
    name: 'arcfleet_kube_watch_connections',
    help: 'Open watch streams',
    registers: [registry],
  });
  const persists = new Counter({
    name: 'arcfleet_kube_persist_writes_total',
    help: 'Writes of a cluster objects file, by result (ok or failed)',
    labelNames: ['result'],
    registers: [registry],
  });
  new Gauge({
    name: 'arcfleet_kube_clusters_loaded',
    help: 'Clusters whose stored objects are in memory',
    registers: [registry],
    collect() {
      this.set(stats().clustersLoaded);
    },
  });
  new Gauge({
    name: 'arcfleet_kube_objects_stored',
    help: 'Stored (not derived) objects across all clusters',
    registers: [registry],
    collect() {
      this.set(stats().objectsStored);
    },
  });
  persists.inc({ result: 'ok' }, 0);
  persists.inc({ result: 'failed' }, 0);
  return { registry, requests, duration, rejections, watches, persists };
}

export type KubeApiMetrics = ReturnType<typeof createKubeApiMetrics>;
