/**
 * extension-manager process: one instance per cluster in the cluster store (see extension-manager.ts).
 */
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { ENV, readDuration, readString } from '../../platform/settings.js';
import { loadExtensionCatalog } from '../../platform/extension-catalog.js';
import { DEFAULT_CONFIG_PULL_INTERVAL_MS, configSyncFactory } from '../../agent-runtime/config-sync.js';
import { KubeClient } from '../../agent-runtime/kube-client.js';
import { AGENT, ExtensionReconciler } from './extension-manager.js';

/** Simulated ms: upgrade checks hourly, as the real agents poll. */
const DEFAULT_UPGRADE_INTERVAL_MS = 3_600_000;

runAgentService(AGENT, ({ clock, logger }) => {
  const apiserverUrl = readString(process.env, ENV.kubeApiserverUrl, '');
  if (apiserverUrl === '')
    logger.warn({ event: 'agent.no_apiserver' }, 'ARCFLEET_KUBE_APISERVER_URL is not set');
  const catalog = loadExtensionCatalog(process.env[ENV.extensionCatalog]);
  const upgradeIntervalMs = readDuration(
    process.env,
    ENV.extensionUpgradeInterval,
    DEFAULT_UPGRADE_INTERVAL_MS,
  );
  return configSyncFactory(
    {
      agent: AGENT,
      clock,
      pullIntervalMs: readDuration(process.env, ENV.configPullInterval, DEFAULT_CONFIG_PULL_INTERVAL_MS),
    },
    (ctx) =>
      new ExtensionReconciler(KubeClient.forCluster(apiserverUrl, ctx.clusterName), ctx.logger, {
        clock,
        catalog,
        upgradeIntervalMs,
      }),
  );
});
