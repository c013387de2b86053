/**
 * The hub process, wiring only: reads its settings, listens at once (routes that need the fleet answer
 * 503 until it is loaded: startup.ts), connects to NATS, loads the projections from JetStream KV, builds
 * the hub's objects in dependency order, opens the routes to them, and drains on SIGTERM.
 */
import type { NatsConnection } from 'nats';
import { clusterKey, isArcError } from '../../contract/index.js';
import { loadExtensionCatalog } from '../../platform/extension-catalog.js';
import { loadAgentReleaseCatalogue } from '../../platform/agent-release-catalog.js';
import { AgentReleases } from './releases/agent-releases.js';
import { ExtensionReleases } from './releases/extension-releases.js';
import type { ReleaseRecord } from './releases/release-records.js';
import { registerReleaseRoutes } from './releases/release-routes.js';
import type { IdentityAuthority } from '../../platform/identity.js';
import { createLogger } from '../../platform/log.js';
import { connectNats } from '../../platform/nats.js';
import { clockFromConfig } from '../../platform/settings.js';
import { initTelemetry } from '../../platform/tracing.js';
import { AgentBus } from './agent-bus/agent-bus.js';
import { NodeListeners } from './agent-bus/node-listeners.js';
import { AgentProtocol } from './agent-bus/agent-protocol.js';
import { ConnectedClusters } from './connected-clusters/connected-clusters.js';
import { controlPublisher } from './agent-bus/control.js';
import { readFileSync } from 'node:fs';
import { createArmApp } from './arm/app.js';
import { registerArmScope } from './arm/scope.js';
import { listenPlain } from './arm/plain-listener.js';
import { TokenVerifier, registerArmAuth, registerIssuerDiscovery } from './arm/auth.js';
import { baseUrl } from './arm/request.js';
import { registerUserCredential } from './cluster-connect/credential.js';
import { registerConnectProxy, type ClusterConnectOptions } from './cluster-connect/proxy.js';
import { createConfigurationMetrics } from './configuration/metrics.js';
import type { ClusterConfigRecord } from './configuration/records.js';
import { registerConfigurationRoutes } from './configuration/routes.js';
import { registerRoleAssignmentRoutes } from './configuration/role-assignment-routes.js';
import { registerRoleDefinitionRoutes } from './configuration/role-definition-routes.js';
import { CustomRoles } from './configuration/custom-roles.js';
import type { RoleDefinitionRecord } from './configuration/role-definitions.js';
import { registerProviderOperations } from './arm/operations.js';
import { ConfigurationService } from './configuration/service.js';
import { EventLog, transitionEvent } from './connected-clusters/event-log.js';
import { registerFleetApi } from './connected-clusters/fleet-api.js';
import { FluxLogs, registerFluxLogRoutes } from './flux-logs/flux-logs.js';
import { FluxLogStream } from './flux-logs/log-stream.js';
import { keepLatestHeartbeat, type ClusterRecord } from './connected-clusters/projection.js';
import { registerConnectedClusterRoutes } from './connected-clusters/routes.js';
import { registerHealth } from './health.js';
import type { BrokerUsers } from './broker/broker-users.js';
import { openHubBroker } from './broker/open.js';
import { readCreds } from '../../platform/broker-files.js';
import { registerLivePage } from './live/live-page.js';
import { createHubMetrics } from './metrics.js';
import { loadAuthority } from './persistence/authority.js';
import { openKv, openProjectionStore, untilJetStream } from './persistence/kv.js';
import { openLeadership } from './replicas.js';
import { registerDurableWrites, type Consistency } from './arm/durable-writes.js';
import { compileHubSettings } from './settings.js';
import { Startup } from './startup.js';
import { ResourceGroups, type ResourceGroupRecord } from './resource-groups/resource-groups.js';
import { registerResourceGroupRoutes } from './resource-groups/routes.js';

/** What the routes serve from once the hub has started. */
interface StartedHub {
  clusters: ConnectedClusters;
  configuration: ConfigurationService;
  nc: NatsConnection;
  authority: IdentityAuthority;
  /** Mints and revokes the clusters' broker users; undefined for a broker without accounts. */
  broker: BrokerUsers | undefined;
  /** Replicas: the ARM API's read-your-writes across them; undefined for a lone hub. */
  consistency: Consistency;
  resourceGroups: ResourceGroups;
  fluxLogs: FluxLogs;
  releases: AgentReleases;
  extensionReleases: ExtensionReleases;
  customRoles: CustomRoles;
}

async function main(): Promise<void> {
  const settings = compileHubSettings();
  const logger = createLogger('hub', settings.logLevel, settings.logFile);
  const telemetry = initTelemetry('hub', { env: process.env, logger });
  const clock = clockFromConfig(settings);
  // Read before anything starts: a bad catalog file is a configuration error, not a runtime one.
  const catalog = loadExtensionCatalog(settings.extensionCatalogPath);
  const agentCatalogue = loadAgentReleaseCatalogue(settings.agentReleasesPath);

  // ---- HTTP first, so /healthz answers while NATS and the projections load ----
  const startup = new Startup<StartedHub>();
  const metrics = createHubMetrics(() => startup.peek()?.clusters.counts(), {
    agentSupport: () => startup.peek()?.releases.support(),
  });
  const configurationMetrics = createConfigurationMetrics(metrics.registry, () =>
    startup.peek()?.configuration.counts(),
  );
  const events = new EventLog();
  const tls = settings.tls && {
    key: readFileSync(settings.tls.keyFile, 'utf8'),
    cert: readFileSync(settings.tls.certFile, 'utf8'),
    ca: readFileSync(settings.tls.caFile, 'utf8'),
  };
  const api = createArmApp({
    metrics,
    logger,
    retryAfterSeconds: settings.retryAfterSeconds,
    tls,
  });
  if (settings.tokenKeysPath) {
    const verifier = await TokenVerifier.open(settings.tokenKeysPath);
    registerArmAuth(api, verifier);
    registerIssuerDiscovery(api, verifier, (request) => baseUrl(settings.publicUrl, request));
  }
  // After authentication (an anonymous caller learns nothing), before any route or the group guard.
  registerArmScope(api);
  const arm = {
    started: startup,
    pageSize: settings.pageSize,
    retryAfterSeconds: settings.retryAfterSeconds,
    publicUrl: settings.publicUrl,
  };
  registerHealth(api, { started: startup, registry: metrics.registry });
  registerDurableWrites(api, {
    consistency: () => startup.peek()?.consistency,
    ackTimeoutMs: settings.writeAckTimeoutMs,
    retryAfterSeconds: settings.retryAfterSeconds,
    onTimeout: () => metrics.writeAckTimeouts.inc(),
  });
  registerFleetApi(api, {
    started: startup,
    events,
    timeScale: settings.timeScale,
    timings: settings.timings,
  });
  // First: its guard answers 404 ResourceGroupNotFound for everything below a missing group.
  registerResourceGroupRoutes(api, arm);
  registerConnectedClusterRoutes(api, arm);
  registerConfigurationRoutes(api, arm);
  registerRoleAssignmentRoutes(api, arm);
  registerRoleDefinitionRoutes(api, arm);
  registerProviderOperations(api);
  registerFluxLogRoutes(api, startup);
  registerReleaseRoutes(api, startup);
  const page = registerLivePage(api, {
    started: startup,
    events,
    logger,
    feedIntervalMs: settings.feedIntervalMs,
    feedMaxLag: settings.feedMaxLag,
    allowedOrigins: settings.allowedOrigins,
    egressApiUrls: settings.egressApiUrls,
    metrics,
  });
  const clusterConnect: ClusterConnectOptions = {
    started: startup,
    clock,
    tokenValidityMs: settings.clusterConnectTokenValidityMs,
    timeoutMs: settings.clusterConnectTimeoutMs,
    publicUrl: settings.publicUrl,
    caPem: tls?.ca,
    logger,
    onRequest: (outcome) => metrics.clusterConnectRequests.inc({ outcome }),
  };
  registerUserCredential(api, clusterConnect);
  registerConnectProxy(api, clusterConnect);
  // Fastify names the scheme from its own `https` option, which the server factory stands in for.
  const listened = await api.listen({ port: settings.port, host: settings.host });
  const address = tls ? listened.replace(/^http:/, 'https:') : listened;
  logger.info(
    { event: 'hub.listening', url: address, timeScale: settings.timeScale, tls: tls !== undefined },
    `hub listening on ${address}`,
  );
  const plain =
    settings.page &&
    (await listenPlain(api, {
      ...settings.page,
      httpsUrl: address,
      counted: (status) => metrics.apiRequests.inc({ route: 'plain', code: String(status) }),
    }));
  if (plain)
    logger.info({ event: 'hub.page_listening', url: plain.url }, `live page and /metrics on ${plain.url}`);

  // ---- NATS and the projections ----
  // Told when the broker link drops and returns; the connected clusters are made on it below.
  const hearing: { clusters?: ConnectedClusters } = {};
  // Several broker nodes: the agents are heard through a listener on each (node-listeners.ts).
  const nodeUrls = settings.natsUrl.split(',');
  const credentials = settings.natsCredsPath ? await readCreds(settings.natsCredsPath) : undefined;
  const nc = await connectNats({
    url: settings.natsUrl,
    name: 'hub',
    logger,
    reconnectTimeWaitMs: 250,
    reconnectJitterMs: 250,
    credentials,
    ca: settings.natsCa,
    onStatus: (s) => {
      if (nodeUrls.length === 1 && (s.type === 'disconnect' || s.type === 'reconnect'))
        hearing.clusters?.brokerLink(s.type === 'reconnect');
    },
  });

  const storeOptions = {
    logger,
    persistIntervalMs: settings.persistIntervalMs,
    heartbeatPersistIntervalMs: settings.heartbeatPersistIntervalMs,
    onWrite: (kind: 'important' | 'heartbeat') => metrics.kvWrites.inc({ kind }),
    replicas: settings.jetstreamReplicas,
    replicated: settings.replicas > 1,
    onConflict: () => metrics.kvConflicts.inc(),
  };
  const clusters = await openProjectionStore<ClusterRecord>(nc, settings.kvBucket, {
    ...storeOptions,
    keepLocal: keepLatestHeartbeat,
  });
  const clusterStore = clusters.store;
  const authorityKv = await openKv(nc, `${settings.kvBucket}-authority`, settings.jetstreamReplicas);
  const authority = await untilJetStream('the identity authority', () => loadAuthority(authorityKv));
  const broker = await openHubBroker(settings, { clock, kv: authorityKv, logger });
  // Configuration resources: one document per cluster, in a bucket of their own.
  const configurations = await openProjectionStore<ClusterConfigRecord>(
    nc,
    `${settings.kvBucket}-config`,
    storeOptions,
  );
  const configurationStore = configurations.store;
  const groups = await openProjectionStore<ResourceGroupRecord>(
    nc,
    `${settings.kvBucket}-groups`,
    storeOptions,
  );

  const releaseRecords = await openProjectionStore<ReleaseRecord>(
    nc,
    `${settings.kvBucket}-releases`,
    storeOptions,
  );
  const releases = new AgentReleases({
    store: releaseRecords.store,
    clock,
    catalogue: agentCatalogue,
    cadence: settings.agentReleaseCadence,
    // The simulated instant the fleet's clock began (simulated and real time agree there).
    startMs: clock.epochMs,
    logger,
  });
  const extensionReleases = new ExtensionReleases({
    store: releaseRecords.store,
    clock,
    builtin: catalog,
    logger,
  });

  // The tenant's custom role definitions (Azure RBAC), one entry each.
  const roleRecords = await openProjectionStore<RoleDefinitionRecord>(
    nc,
    `${settings.kvBucket}-roles`,
    storeOptions,
  );
  const customRoles = new CustomRoles({ store: roleRecords.store, clock, logger });

  const { leadership, release } = await openLeadership(nc, settings, logger, metrics);
  const replicated = settings.replicas > 1;

  // ---- the hub's objects, each built from the ones before ----
  const publishControl = controlPublisher(nc);
  const configuration = new ConfigurationService({
    store: configurationStore,
    clock,
    // Read on every use: versions published while the fleet runs join the catalog.
    get catalog() {
      return extensionReleases.catalog();
    },
    operationTimeoutMs: settings.extensionOperationTimeoutMs,
    protectedSettingsHoldMs: settings.protectedSettingsHoldMs,
    // The parent resource, read from its store: the hub is built next (its DELETE removes these).
    cluster: (ref) => clusterStore.get(clusterKey(ref)),
    publishControl,
    customRole: (id) => customRoles.get(id),
    logger,
    metrics: configurationMetrics,
  });
  const fluxLogs = new FluxLogs({
    openStream: () => FluxLogStream.open(nc, { replicas: settings.jetstreamReplicas }),
    configurations: configuration,
    registry: metrics.registry,
    logger,
  });
  const hub = new ConnectedClusters({
    store: clusterStore,
    clock,
    timings: settings.timings,
    resourceTimings: settings.resourceTimings,
    metrics,
    logger,
    publishControl,
    onClusterDeleted: async (record) => {
      await configuration.removeCluster(record.key);
      await fluxLogs.removeCluster(record.key);
      // The cluster's broker user stops working now, not at its expiry: its live connections drop.
      // A failed push is retried with the next one (the list is kept); meanwhile the hub refuses the
      // deleted cluster's messages and its JWT still ends at the certificate's expiry.
      if (!broker) return;
      // The `disconnect` just published reaches the agents before the revocation closes them.
      await nc.flush().catch(() => undefined);
      await broker.users.revoke(record.desired.agentPublicKeyCertificate).catch(() => undefined);
    },
    onTransition: (record, t) => events.append(transitionEvent(record, t)),
    releases,
  });
  hearing.clusters = hub;
  const resourceGroups = new ResourceGroups({
    store: groups.store,
    clock,
    logger,
    members: {
      count: (sub, rg) => hub.list(sub, rg).length,
      deleteAll: (sub, rg) => {
        for (const r of hub.list(sub, rg)) hub.beginDelete(r.ref);
      },
    },
  });
  const agents = new AgentProtocol({
    clusters: hub,
    store: clusterStore,
    clock,
    timings: settings.timings,
    authority,
    metrics,
    logger,
    leadership,
  });
  const bus = new AgentBus({
    protocol: agents,
    configuration,
    fluxLogs,
    releases,
    metrics,
    logger,
    maxMessageBytes: settings.maxMessageBytes,
    broker: broker?.users,
    replicas: replicated ? { leadership, sync: () => clusters.watch!.sync() } : undefined,
  });
  const listeners =
    nodeUrls.length === 1
      ? undefined
      : new NodeListeners({
          urls: nodeUrls,
          credentials,
          ca: settings.natsCa,
          logger,
          onListener: (listener) => bus.listen(listener),
          onHearing: (up) => hub.brokerLink(up),
        });
  if (!listeners) bus.listen(nc);
  // Time-driven work runs once in the fleet: on the leader (always, for a lone hub).
  const ticker = setInterval(() => {
    if (!leadership.isLeader()) return;
    hub.tick();
    configuration.tick();
    resourceGroups.tick();
  }, settings.evaluateIntervalMs);
  ticker.unref();
  const watches = [
    clusters.watch,
    configurations.watch,
    groups.watch,
    releaseRecords.watch,
    roleRecords.watch,
  ];
  // Every ARM write waits for its change to be in KV (arm/durable-writes.ts); replicas also sync reads.
  const consistency: Consistency = {
    sync: replicated
      ? async () => void (await Promise.all(watches.map((w) => w?.sync())))
      : async () => undefined,
    settle: async (touched) =>
      void (await Promise.all(
        [clusterStore, configurationStore, groups.store, releaseRecords.store, roleRecords.store].map(
          (store) =>
            // Without a record of the request's keys, every change so far (the safe side).
            store.settle(touched ? (touched.get(store) ?? []) : undefined),
        ),
      )),
  };
  startup.open({
    clusters: hub,
    configuration,
    nc,
    authority,
    broker: broker?.users,
    consistency,
    resourceGroups,
    fluxLogs,
    releases,
    extensionReleases,
    customRoles,
  });
  logger.info(
    { event: 'hub.ready', projections: clusterStore.size },
    `hub ready with ${clusterStore.size} projections`,
  );

  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.info({ event: 'hub.stopping', signal }, 'hub stopping');
    clearInterval(ticker);
    page.close();
    await plain?.close();
    await api.close();
    await bus.close();
    fluxLogs.close();
    await listeners?.close();
    await release();
    for (const w of watches) w?.close();
    await clusterStore.close();
    await configurationStore.close();
    await groups.store.close();
    await releaseRecords.store.close();
    await roleRecords.store.close();
    await broker?.close();
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
