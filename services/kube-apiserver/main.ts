/**
 * kube-apiserver process: ONE per fleet, serving every cluster of the cluster store under
 * `/clusters/<name>`. Wires config, the cluster registry, the HTTP API and lifecycle; behaviour lives
 * in the modules beside it.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ClusterStore } from '../../agent-runtime/cluster-store.js';
import { isArcError } from '../../contract/index.js';
import { createLogger } from '../../platform/log.js';
import { clockFromConfig } from '../../platform/settings.js';
import { buildKubeApi } from './api.js';
import { KubeClusters } from './clusters.js';
import { compileKubeApiserverConfig } from './config.js';
import { createKubeApiMetrics } from './metrics.js';
import { WatchRegistry } from './watch.js';
import { writeJsonAtomically } from '../../platform/atomic-file.js';

const SERVICE = 'kube-apiserver';

/** `<dataDir>/run/kube-apiserver.json`: how a launcher finds a port chosen by the OS. */
async function writeRunFile(dataDir: string, url: string): Promise<void> {
  await writeJsonAtomically(join(dataDir, 'run', `${SERVICE}.json`), { url, pid: process.pid });
}

async function main(): Promise<void> {
  const config = compileKubeApiserverConfig();
  const logger = createLogger(SERVICE, config.logLevel, config.logFile);
  let ready = false;
  const clusters = new KubeClusters({
    // Every shard's clusters; the count says whose agent processes' beats belong to which cluster.
    store: new ClusterStore(config.dataDir, { shard: config.shard }),
    persistIntervalMs: config.persistIntervalMs,
    pollIntervalMs: config.pollIntervalMs,
    staleAfterMs: config.staleAfterMs,
    clock: clockFromConfig(config),
    logger,
    onPersist: (ok) => metrics.persists.inc({ result: ok ? 'ok' : 'failed' }),
  });
  const metrics = createKubeApiMetrics(() => clusters.stats());
  const watches = new WatchRegistry();
  const app = buildKubeApi({
    clusters,
    metrics,
    logger,
    ready: () => ready,
    watches,
    watchPollIntervalMs: config.watchPollIntervalMs,
  });
  await app.listen({ port: config.port, host: config.host });
  const port = (app.server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  await writeRunFile(config.dataDir, url);
  clusters.start();
  ready = true;
  logger.info(
    { event: 'kube-apiserver.listening', port, url, dataDir: config.dataDir },
    `kube-apiserver listening on ${url}`,
  );

  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    ready = false;
    logger.info({ event: 'kube-apiserver.stopping', signal }, 'kube-apiserver stopping');
    watches.closeAll();
    await app.close();
    await clusters.close();
    logger.info({ event: 'kube-apiserver.stopped' }, 'kube-apiserver stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const logger = createLogger(SERVICE);
  logger.fatal(
    { event: 'kube-apiserver.fatal', code: isArcError(err) ? err.code : undefined, err },
    err instanceof Error ? err.message : String(err),
  );
  process.exit(1);
});
