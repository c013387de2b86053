/**
 * The hub process, wiring only: reads its settings, listens at once (http.ts; routes that need the fleet
 * answer 503 until it is loaded: startup.ts), connects to NATS, loads the projections from JetStream KV
 * (stores.ts), builds the hub's objects in dependency order, opens the routes to them, and drains on
 * SIGTERM.
 */
import { clusterKey, isArcError } from '../../contract/index.js';
import { loadExtensionCatalog } from '../../platform/extension-catalog.js';
import { loadAgentReleaseCatalogue } from '../../platform/agent-release-catalog.js';
import { AgentReleases } from './releases/agent-releases.js';
import { ExtensionReleases } from './releases/extension-releases.js';
import { createLogger } from '../../platform/log.js';
import { connectNats } from '../../platform/nats.js';
import { clockFromConfig } from '../../platform/settings.js';
import { initTelemetry } from '../../platform/tracing.js';
import { AgentBus } from './agent-bus/agent-bus.js';
import { NodeListeners } from './agent-bus/node-listeners.js';
import { AgentProtocol } from './agent-bus/agent-protocol.js';
import { ConnectedClusters } from './connected-clusters/connected-clusters.js';
import { controlPublisher } from './agent-bus/control.js';
import { createConfigurationMetrics } from './configuration/metrics.js';
import { CustomRoles } from './configuration/custom-roles.js';
import { ConfigurationService } from './configuration/service.js';
import { EventLog, transitionEvent } from './connected-clusters/event-log.js';
import { FluxLogs } from './flux-logs/flux-logs.js';
import { FluxLogStream } from './flux-logs/log-stream.js';
import { openHubBroker } from './broker/open.js';
import { readCreds } from '../../platform/broker-files.js';
import { createHubMetrics } from './metrics.js';
import { loadAuthority } from './persistence/authority.js';
import { openKv, untilJetStream } from './persistence/kv.js';
import { openLeadership } from './replicas.js';
import { compileHubSettings } from './settings.js';
import { openHubHttp } from './http.js';
import { closeHubStores, openHubStores, storeConsistency } from './stores.js';
import type { StartedHub } from './started-hub.js';
import { Startup } from './startup.js';
import { ResourceGroups } from './resource-groups/resource-groups.js';

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
  const http = await openHubHttp({ settings, startup, metrics, events, clock, logger });

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

  const stores = await openHubStores(nc, settings, logger, metrics);
  const clusterStore = stores.clusters.store;
  const authorityKv = await openKv(nc, `${settings.kvBucket}-authority`, settings.jetstreamReplicas);
  const authority = await untilJetStream('the identity authority', () => loadAuthority(authorityKv));
  const broker = await openHubBroker(settings, { clock, kv: authorityKv, logger });
  const releases = new AgentReleases({
    store: stores.releases.store,
    clock,
    catalogue: agentCatalogue,
    cadence: settings.agentReleaseCadence,
    // The simulated instant the fleet's clock began (simulated and real time agree there).
    startMs: clock.epochMs,
    logger,
  });
  const extensionReleases = new ExtensionReleases({
    store: stores.releases.store,
    clock,
    builtin: catalog,
    logger,
  });

  const customRoles = new CustomRoles({ store: stores.roles.store, clock, logger });

  const { leadership, release } = await openLeadership(nc, settings, logger, metrics);
  const replicated = settings.replicas > 1;

  // ---- the hub's objects, each built from the ones before ----
  const publishControl = controlPublisher(nc);
  const configuration = new ConfigurationService({
    store: stores.configurations.store,
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
    store: stores.groups.store,
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
    replicas: replicated ? { leadership, sync: () => stores.clusters.watch!.sync() } : undefined,
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
  const consistency = storeConsistency(stores, replicated);
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
    await http.close();
    await bus.close();
    fluxLogs.close();
    await listeners?.close();
    await release();
    await closeHubStores(stores);
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
