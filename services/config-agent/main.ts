/**
 * config-agent process: one instance per cluster in the cluster store (see flux-reconciler.ts).
 */
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { ENV, readDuration, readString } from '../../platform/settings.js';
import { DEFAULT_CONFIG_PULL_INTERVAL_MS, configSyncFactory } from '../../agent-runtime/config-sync.js';
import { KubeClient } from '../../agent-runtime/kube-client.js';
import { AGENT, FluxReconciler } from './flux-reconciler.js';

runAgentService(AGENT, ({ clock, logger }) => {
  const apiserverUrl = readString(process.env, ENV.kubeApiserverUrl, '');
  if (apiserverUrl === '')
    logger.warn({ event: 'agent.no_apiserver' }, 'ARCFLEET_KUBE_APISERVER_URL is not set');
  return configSyncFactory(
    {
      agent: AGENT,
      clock,
      pullIntervalMs: readDuration(process.env, ENV.configPullInterval, DEFAULT_CONFIG_PULL_INTERVAL_MS),
    },
    (ctx) => new FluxReconciler(KubeClient.forCluster(apiserverUrl, ctx.clusterName), ctx.logger, { clock }),
  );
});
