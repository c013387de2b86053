/**
 * The gateway's Prometheus metrics on a Registry of its own: bytes and connections by mode, rules by
 * mode, permission violations the broker reported by operation, control API requests by code. No
 * per-cluster labels.
 */
import { registerLogMetrics } from '../../platform/metrics.js';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { EFFECTIVE_KINDS, MODE_KINDS, type EffectiveKind, type ModeKind } from './rules.js';

export type Direction = 'egress' | 'ingress';
export type ConnectionOutcome = 'accepted' | 'rejected' | 'invalid' | 'hold_overflow' | 'upstream_error';

export function createGatewayMetrics(sources: {
  activeByMode: () => Map<EffectiveKind, number>;
  rulesByMode: () => Map<ModeKind, number>;
}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerLogMetrics(registry);
  const bytes = new Counter({
    name: 'arcfleet_egress_bytes_total',
    help: 'Bytes through the gateway by the mode applied and direction (egress: agent to NATS); drop counts bytes held',
    labelNames: ['mode', 'direction'],
    registers: [registry],
  });
  const connections = new Counter({
    name: 'arcfleet_egress_connections_total',
    help: 'Agent connections by outcome and the mode at the time',
    labelNames: ['outcome', 'mode'],
    registers: [registry],
  });
  const permissionViolations = new Counter({
    name: 'arcfleet_egress_permission_violations_total',
    help: "Permission violations nats-server reported to cluster-side clients (a publish or subscription outside the cluster's own subjects)",
    labelNames: ['operation'],
    registers: [registry],
  });
  for (const operation of ['publish', 'subscribe']) permissionViolations.inc({ operation }, 0);
  const apiRequests = new Counter({
    name: 'arcfleet_egress_api_requests_total',
    help: 'Control API requests by HTTP code (4xx: refused, with an ARM error body)',
    labelNames: ['code'],
    registers: [registry],
  });
  new Gauge({
    name: 'arcfleet_egress_active_connections',
    help: 'Open agent connections by the mode currently applied',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      const m = sources.activeByMode();
      for (const k of EFFECTIVE_KINDS) this.set({ mode: k }, m.get(k) ?? 0);
    },
  });
  new Gauge({
    name: 'arcfleet_egress_rules',
    help: 'Clusters with a rule, by mode',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      const m = sources.rulesByMode();
      for (const k of MODE_KINDS) this.set({ mode: k }, m.get(k) ?? 0);
    },
  });
  for (const mode of EFFECTIVE_KINDS) {
    for (const direction of ['egress', 'ingress'] as const) bytes.inc({ mode, direction }, 0);
  }
  return { registry, bytes, connections, permissionViolations, apiRequests };
}

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
