/**
 * The process shell shared by every agent service: config, logger, clock, cluster store, AgentHost,
 * and a drain on SIGTERM/SIGINT. An agent's main.ts is one call to `runAgentService`.
 */
import { AgentHost } from './agent-host.js';
import type { AgentFactory } from './agent-instance.js';
import type { Clock } from '../platform/clock.js';
import { ClusterStore } from './cluster-store.js';
import { DEFAULT_RESCAN_INTERVAL_MS } from './cluster-scan.js';
import {
  ENV,
  clockFromConfig,
  compileAgentLinkConfig,
  compileCommonConfig,
  readDuration,
  readShard,
  type CommonConfig,
} from '../platform/settings.js';
import { createLogger, type Logger } from '../platform/log.js';
import type { Registry } from 'prom-client';
import type { AgentName } from '../contract/index.js';
import { initTelemetry } from '../platform/tracing.js';
import { startAgentMetrics } from './agent-metrics.js';

/** Real ms between status-file refreshes (`ARCFLEET_AGENT_STATUS_INTERVAL`). */
export const DEFAULT_STATUS_INTERVAL_MS = 2000;

export interface AgentServiceDeps {
  readonly config: CommonConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The process's metrics registry (served on its /metrics): a service adds its own counters here. */
  readonly registry: Registry;
}

export function runAgentService(
  agent: AgentName,
  makeFactory: (deps: AgentServiceDeps) => AgentFactory,
): void {
  try {
    start(agent, makeFactory);
  } catch (err) {
    createLogger(agent).fatal(
      { event: 'agent.start_failed', err },
      err instanceof Error ? err.message : String(err),
    );
    process.exit(1);
  }
}

function start(agent: AgentName, makeFactory: (deps: AgentServiceDeps) => AgentFactory): void {
  const config = compileCommonConfig();
  const pollIntervalMs = readDuration(process.env, ENV.clusterPollInterval, 1000);
  const rescanIntervalMs = readDuration(process.env, ENV.clusterRescanInterval, DEFAULT_RESCAN_INTERVAL_MS);
  const statusIntervalMs = readDuration(process.env, ENV.agentStatusInterval, DEFAULT_STATUS_INTERVAL_MS);
  const logger = createLogger(agent, config.logLevel, config.logFile);
  const telemetry = initTelemetry(agent, { env: process.env, logger });
  const clock = clockFromConfig(config);
  // A sharded fleet: this process hosts only its shard's clusters and leaves through its shard's gateway.
  const shard = readShard(process.env);
  const link = compileAgentLinkConfig(process.env, config.natsUrl, shard);
  const metrics = startAgentMetrics(agent, {
    env: process.env,
    dataDir: config.dataDir,
    logger,
    clock,
    ...(shard.count > 1 ? { instance: `${agent}-${shard.index ?? 'all'}` } : {}),
  });
  const host = new AgentHost({
    agentName: agent,
    store: new ClusterStore(config.dataDir, { shard }),
    pollIntervalMs,
    rescanIntervalMs,
    logger,
    natsUrl: link.url,
    natsCa: config.natsCa,
    connection: link,
    maxMessageBytes: config.maxMessageBytes,
    linkMetrics: metrics.link,
    statusIntervalMs,
    factory: makeFactory({ config, clock, logger, registry: metrics.registry }),
  });
  host.start();
  metrics.serve(host);
  logger.info(
    {
      event: 'agent.started',
      dataDir: config.dataDir,
      natsUrl: config.natsUrl,
      natsTls: config.natsCa !== undefined,
      egressUrl: link.viaEgress ? link.url : undefined,
      pollIntervalMs,
      timeScale: clock.timeScale,
      shard: `${shard.index ?? 'all'}/${shard.count}`,
    },
    `${agent} started`,
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'agent.stopping', signal }, 'draining');
    void host
      .close()
      .then(() => telemetry.shutdown())
      .then(() => {
        logger.info({ event: 'agent.stopped' }, `${agent} stopped`);
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ event: 'agent.stop_failed', err }, 'drain failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
