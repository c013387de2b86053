/**
 * metrics-agent process: one instance per cluster in the cluster store (see metrics-agent.ts).
 */
import { DEFAULT_STATUS_INTERVAL_MS, runAgentService } from '../../agent-runtime/agent-service.js';
import { ENV, readDuration } from '../../platform/settings.js';
import { AGENT, metricsAgentFactory } from './metrics-agent.js';

/** Simulated ms between reports (`ARCFLEET_METRICS_AGENT_INTERVAL`). */
const DEFAULT_INTERVAL_MS = 5 * 60_000;
/** A status file older than this many refresh intervals means the agent is down. */
const STALE_INTERVALS = 3;

runAgentService(AGENT, ({ clock }) =>
  metricsAgentFactory({
    clock,
    intervalMs: readDuration(process.env, ENV.metricsAgentInterval, DEFAULT_INTERVAL_MS),
    staleAfterMs:
      STALE_INTERVALS * readDuration(process.env, ENV.agentStatusInterval, DEFAULT_STATUS_INTERVAL_MS),
  }),
);
