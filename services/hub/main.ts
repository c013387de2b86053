/**
 * Hub process: wires config, NATS, JetStream KV, the HTTP API and lifecycle. Behaviour lives in hub.ts.
 */
import type { KV, NatsConnection } from 'nats';
import { clockFromConfig } from '../../platform/settings.js';
import { isArcError, resourceId } from '../../contract/index.js';
import { IdentityAuthority } from '../../platform/identity.js';
import { createLogger } from '../../platform/log.js';
import { connectNats } from '../../platform/nats.js';
import { AgentGateway } from './agent-bus/agent-bus.js';
import { buildArmApi } from './connected-clusters/routes.js';
import { compileHubConfig } from './settings.js';
import { Hub } from './connected-clusters/connected-clusters.js';
import { createHubMetrics } from './metrics.js';
import { EventLog } from './connected-clusters/event-log.js';
import { registerLivePage } from './live/live-page.js';
import { registerClusterConnect } from './cluster-connect/cluster-connect.js';
import { KvPersistence, ProjectionStore } from './persistence/projection-store.js';
import { loadExtensionCatalog } from '../../platform/extension-catalog.js';
import { createConfigurationMetrics } from './configuration/metrics.js';
import type { ClusterConfigRecord } from './configuration/records.js';
import { registerConfigurationRoutes } from './configuration/routes.js';
import { ConfigurationService } from './configuration/service.js';
import { initTelemetry } from '../../platform/tracing.js';

const AUTHORITY_KEY = 'identity-authority';

async function openKv(nc: NatsConnection, bucket: string): Promise<KV> {
  // JetStream may still be starting right after nats-server comes up; keep trying.
  for (let attempt = 0; ; attempt++) {
    try {
      return await nc.jetstream().views.kv(bucket, { history: 1 });
    } catch (err) {
      if (attempt >= 60) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function loadAuthority(kv: KV): Promise<IdentityAuthority> {
  const existing = await kv.get(AUTHORITY_KEY);
  if (existing && existing.operation === 'PUT' && existing.value.length > 0)
    return new IdentityAuthority(existing.string());
  const pem = IdentityAuthority.generatePem();
  try {
    await kv.create(AUTHORITY_KEY, pem);
    return new IdentityAuthority(pem);
  } catch {
    // Another hub created it first: use theirs.
    const e = await kv.get(AUTHORITY_KEY);
    return new IdentityAuthority(e?.string() ?? pem);
  }
}

async function main(): Promise<void> {
  const config = compileHubConfig();
  const logger = createLogger('hub', config.logLevel);
  const telemetry = initTelemetry('hub', { env: process.env, logger });
  const clock = clockFromConfig(config);
  // Filled in once NATS and the projections are loaded; the HTTP API answers 503 until then.
  const live: {
    hub: Hub | undefined;
    configuration: ConfigurationService | undefined;
    ready: boolean;
    nc: NatsConnection | undefined;
    authority: IdentityAuthority | undefined;
  } = { hub: undefined, configuration: undefined, ready: false, nc: undefined, authority: undefined };
  // Read before anything starts: a bad catalog file is a configuration error, not a runtime one.
  const catalog = loadExtensionCatalog(config.extensionCatalogPath);
  const metrics = createHubMetrics(
    () =>
      live.hub?.counts() ?? {
        byStatus: new Map(),
        byProvisioningState: new Map(),
        byLocation: new Map(),
        byDistribution: new Map(),
      },
  );

  const events = new EventLog();
  const api = buildArmApi({
    events,
    hub: () => live.hub,
    metrics,
    logger,
    pageSize: config.pageSize,
    retryAfterSeconds: config.retryAfterSeconds,
    publicUrl: config.publicUrl,
    ready: () => live.ready,
    timeScale: config.timeScale,
    timings: config.timings,
  });
  const configMetrics = createConfigurationMetrics(metrics.registry, () => live.configuration?.counts());
  registerConfigurationRoutes(api, {
    configuration: () => live.configuration,
    pageSize: config.pageSize,
    retryAfterSeconds: config.retryAfterSeconds,
    publicUrl: config.publicUrl,
  });
  const page = registerLivePage(api, {
    hub: () => live.hub,
    events,
    logger,
    feedIntervalMs: config.feedIntervalMs,
    feedMaxLag: config.feedMaxLag,
    egressApiUrl: config.egressApiUrl,
    metrics,
  });
  registerClusterConnect(api, {
    hub: () => live.hub,
    nc: () => live.nc,
    authority: () => live.authority,
    clock,
    tokenValidityMs: config.clusterConnectTokenValidityMs,
    timeoutMs: config.clusterConnectTimeoutMs,
    publicUrl: config.publicUrl,
    logger,
    onRequest: (outcome) => metrics.clusterConnectRequests.inc({ outcome }),
  });
  const address = await api.listen({ port: config.port, host: config.host });
  logger.info(
    { event: 'hub.listening', url: address, timeScale: config.timeScale },
    `hub listening on ${address}`,
  );

  const nc = await connectNats({
    url: config.natsUrl,
    name: 'hub',
    logger,
    reconnectTimeWaitMs: 250,
    reconnectJitterMs: 250,
  });
  const gateway = new AgentGateway({
    nc,
    hub: () => live.hub,
    configuration: () => live.configuration,
    metrics,
    logger,
    maxMessageBytes: config.maxMessageBytes,
  });
  const kv = await openKv(nc, config.kvBucket);
  const authority = await loadAuthority(await openKv(nc, `${config.kvBucket}-authority`));
  const store = new ProjectionStore({
    persistence: new KvPersistence(kv),
    logger,
    persistIntervalMs: config.persistIntervalMs,
    heartbeatPersistIntervalMs: config.heartbeatPersistIntervalMs,
    onWrite: (kind) => metrics.kvWrites.inc({ kind }),
  });
  const loaded = await store.load();
  store.start();
  // Configuration resources: one document per cluster, in a bucket of their own.
  const configStore = new ProjectionStore<ClusterConfigRecord>({
    persistence: new KvPersistence<ClusterConfigRecord>(await openKv(nc, `${config.kvBucket}-config`)),
    logger,
    persistIntervalMs: config.persistIntervalMs,
    heartbeatPersistIntervalMs: config.heartbeatPersistIntervalMs,
    onWrite: (kind) => metrics.kvWrites.inc({ kind }),
  });
  await configStore.load();
  configStore.start();
  const configuration: ConfigurationService = new ConfigurationService({
    store: configStore,
    clock,
    catalog,
    operationTimeoutMs: config.extensionOperationTimeoutMs,
    protectedSettingsHoldMs: config.protectedSettingsHoldMs,
    cluster: (ref) => hub.get(ref),
    publishControl: (ref, message) => gateway.publishControl(ref, message),
    logger,
    metrics: configMetrics,
  });
  const hub = new Hub({
    store,
    clock,
    timings: config.timings,
    authority,
    metrics,
    logger,
    publishControl: (ref, message) => gateway.publishControl(ref, message),
    onClusterDeleted: (record) => configuration.removeCluster(record.key),
    onTransition: (record, t) =>
      events.append({
        type: 'connectivityStatusChanged',
        id: resourceId(record.ref),
        name: record.ref.name,
        from: t.from,
        to: t.to,
        reason: t.reason,
        time: new Date(t.atMs).toISOString(),
      }),
  });
  gateway.start();
  const ticker = setInterval(() => {
    hub.tick();
    configuration.tick();
  }, config.evaluateIntervalMs);
  ticker.unref();
  live.hub = hub;
  live.nc = nc;
  live.authority = authority;
  live.configuration = configuration;
  live.ready = true;
  logger.info({ event: 'hub.ready', projections: loaded }, `hub ready with ${loaded} projections`);

  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.info({ event: 'hub.stopping', signal }, 'hub stopping');
    clearInterval(ticker);
    page.close();
    await api.close();
    await gateway.close();
    await store.close();
    await configStore.close();
    await nc.drain();
    await telemetry.shutdown();
    logger.info({ event: 'hub.stopped' }, 'hub stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const logger = createLogger('hub');
  logger.fatal(
    { event: 'hub.fatal', code: isArcError(err) ? err.code : undefined, err },
    err instanceof Error ? err.message : String(err),
  );
  process.exit(1);
});
