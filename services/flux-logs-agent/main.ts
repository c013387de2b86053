/**
 * flux-logs-agent process: one shipper per cluster in the cluster store (log-shipper.ts), counted on
 * its /metrics.
 */
import { Counter } from 'prom-client';
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { ENV, readDuration } from '../../platform/settings.js';
import { AGENT, fluxLogsAgentFactory } from './log-shipper.js';

/** Real ms between looks at each cluster's Flux log, on top of the look after every apiserver change. */
const DEFAULT_LOOK_INTERVAL_MS = 5000;

runAgentService(AGENT, ({ clock, registry }) => {
  const counter = (name: string, help: string): Counter =>
    new Counter({ name: `arcfleet_flux_logs_agent_${name}`, help, registers: [registry] });
  const shipped = counter('entries_shipped_total', 'Flux log entries the hub acknowledged');
  const lost = counter('entries_lost_total', 'Flux log entries rotated away before they were shipped');
  const invalid = counter('invalid_lines_total', 'Flux log lines that were not entries (skipped)');
  return fluxLogsAgentFactory({
    clock,
    lookIntervalMs: readDuration(process.env, ENV.fluxLogsInterval, DEFAULT_LOOK_INTERVAL_MS),
    counters: {
      shipped: (n) => shipped.inc(n),
      lost: (n) => lost.inc(n),
      invalid: (n) => invalid.inc(n),
    },
  });
});
