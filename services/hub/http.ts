/**
 * The hub's HTTP side, opened before anything else so `/healthz` answers while NATS and the
 * projections load (routes that need the fleet answer 503 until startup.ts opens): the ARM app with
 * its authentication and scope, every route, the live page and cluster connect, on the API port
 * (HTTPS with TLS) and the plain page port.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { createArmApp } from './arm/app.js';
import { TokenVerifier, registerArmAuth, registerIssuerDiscovery } from './arm/auth.js';
import { registerDurableWrites } from './arm/durable-writes.js';
import { registerProviderOperations } from './arm/operations.js';
import { listenPlain, type PlainListener } from './arm/plain-listener.js';
import { baseUrl } from './arm/request.js';
import { registerArmScope } from './arm/scope.js';
import { registerUserCredential } from './cluster-connect/credential.js';
import { registerConnectProxy, type ClusterConnectOptions } from './cluster-connect/proxy.js';
import { registerRoleAssignmentRoutes } from './configuration/role-assignment-routes.js';
import { registerRoleDefinitionRoutes } from './configuration/role-definition-routes.js';
import { registerConfigurationRoutes } from './configuration/routes.js';
import type { EventLog } from './connected-clusters/event-log.js';
import { registerFleetApi } from './connected-clusters/fleet-api.js';
import { registerConnectedClusterRoutes } from './connected-clusters/routes.js';
import { registerFluxLogRoutes } from './flux-logs/flux-logs.js';
import { registerHealth } from './health.js';
import { registerLivePage } from './live/live-page.js';
import type { HubMetrics } from './metrics.js';
import { registerReleaseRoutes } from './releases/release-routes.js';
import { registerResourceGroupRoutes } from './resource-groups/routes.js';
import type { HubSettings } from './settings.js';
import type { StartedHub } from './started-hub.js';
import type { Startup } from './startup.js';

export interface HubHttp {
  readonly api: FastifyInstance;
  /** The API's URL (https:// with TLS). */
  readonly address: string;
  readonly plain: PlainListener | undefined;
  close(): Promise<void>;
}

export async function openHubHttp(deps: {
  settings: HubSettings;
  startup: Startup<StartedHub>;
  metrics: HubMetrics;
  events: EventLog;
  clock: Clock;
  logger: Logger;
}): Promise<HubHttp> {
  const { settings, startup, metrics, events, clock, logger } = deps;
  const tls = settings.tls && {
    key: readFileSync(settings.tls.keyFile, 'utf8'),
    cert: readFileSync(settings.tls.certFile, 'utf8'),
    ca: readFileSync(settings.tls.caFile, 'utf8'),
  };
  const api = createArmApp({ metrics, logger, retryAfterSeconds: settings.retryAfterSeconds, tls });
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
  const plain = settings.page
    ? await listenPlain(api, {
        ...settings.page,
        httpsUrl: address,
        counted: (status) => metrics.apiRequests.inc({ route: 'plain', code: String(status) }),
      })
    : undefined;
  if (plain)
    logger.info({ event: 'hub.page_listening', url: plain.url }, `live page and /metrics on ${plain.url}`);
  return {
    api,
    address,
    plain,
    close: async () => {
      page.close();
      await plain?.close();
      await api.close();
    },
  };
}
