/**
 * Egress gateway process: the simulated on-prem firewall/proxy every agent connection leaves through.
 * Wires config, the rule table (gateway.ts), the socket proxy (proxy.ts) and the control API (api.ts).
 */
import { clockFromConfig } from '../../platform/settings.js';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { createLogger } from '../../platform/log.js';
import { buildGatewayApi } from './api.js';
import { compileGatewayConfig } from './config.js';
import { Gateway } from './gateway.js';
import { createGatewayMetrics } from './metrics.js';
import { EgressProxy } from './proxy.js';
import { Upstreams } from './upstreams.js';
import type { ClusterLabels } from '../../contract/index.js';

async function main(): Promise<void> {
  const config = compileGatewayConfig();
  const logger = createLogger('egress-gateway', config.logLevel, config.logFile);
  const clock = clockFromConfig(config);
  const store = new ClusterStore(config.dataDir);
  const clusters = async (): Promise<ClusterLabels[]> => {
    const out: ClusterLabels[] = [];
    for (const name of await store.list()) {
      const s = await store.readState(name).catch(() => undefined);
      if (s)
        out.push({
          name: s.name,
          location: s.location,
          distribution: s.distribution,
          infrastructure: s.infrastructure,
        });
    }
    return out;
  };
  // Flap phases and expiries are checked every 50 real ms.
  const gateway = new Gateway({ clock, logger, clusters, tickMs: Math.max(1, 50 * clock.timeScale) });
  const metrics = createGatewayMetrics({
    activeByMode: () => proxy.activeByMode(),
    rulesByMode: () => gateway.rulesByMode(),
  });
  const proxy = new EgressProxy({
    upstreams: new Upstreams(config.upstreams),
    logger,
    metrics,
    modeOf: (cluster, agent) => gateway.effective(cluster, agent),
    holdBytes: config.holdBytes,
  });
  gateway.attach(proxy);
  gateway.start();
  const port = await proxy.listen(config.port, config.host);
  const api = buildGatewayApi({ gateway, metrics, logger });
  await api.listen({ port: config.apiPort, host: config.host });
  logger.info(
    {
      event: 'egress.started',
      port,
      apiPort: config.apiPort,
      upstream: config.natsUrl,
      timeScale: clock.timeScale,
    },
    `egress gateway on ${config.host}:${port}, API on ${config.apiPort}`,
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'egress.stopping', signal }, 'draining');
    gateway.stop();
    void Promise.all([api.close(), proxy.close()]).then(() => {
      logger.info({ event: 'egress.stopped' }, 'egress gateway stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ level: 'fatal', event: 'egress.start_failed', err: String(err) }));
  process.exit(1);
});
