/**
 * config-agent process: one instance per cluster in the cluster store, reconciling Flux configurations
 * (flux-reconciler.ts) and legacy Flux v1 source control configurations (flux-v1-reconciler.ts).
 */
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { ENV, readDuration, readString } from '../../platform/settings.js';
import { DEFAULT_CONFIG_PULL_INTERVAL_MS, configSyncFactory } from '../../agent-runtime/config-sync.js';
import { KubeClient } from '../../agent-runtime/kube-client.js';
import { AGENT, FluxReconciler } from './flux-reconciler.js';
import { FluxLogWriter } from '../../agent-runtime/flux-log.js';
import { FluxV1Reconciler } from './flux-v1-reconciler.js';
import { AgentUpgrader } from './agent-upgrader.js';
import { DEFAULT_UPGRADE_CHECK_INTERVAL_MS } from '../../contract/index.js';

runAgentService(AGENT, ({ clock, logger }) => {
  const apiserverUrl = readString(process.env, ENV.kubeApiserverUrl, '');
  if (apiserverUrl === '')
    logger.warn({ event: 'agent.no_apiserver' }, 'ARCFLEET_KUBE_APISERVER_URL is not set');
  const upgradeCheckIntervalMs = readDuration(
    process.env,
    ENV.upgradeCheckInterval,
    DEFAULT_UPGRADE_CHECK_INTERVAL_MS,
  );
  return configSyncFactory(
    {
      agent: AGENT,
      clock,
      pullIntervalMs: readDuration(process.env, ENV.configPullInterval, DEFAULT_CONFIG_PULL_INTERVAL_MS),
    },
    (ctx) => {
      const kube = KubeClient.forCluster(apiserverUrl, ctx.clusterName);
      const fluxLog = new FluxLogWriter(ctx.store.dir(ctx.clusterName));
      const flux = new FluxReconciler(kube, ctx.logger, { clock, fluxLog });
      const fluxV1 = new FluxV1Reconciler(kube, ctx.logger, clock);
      return {
        reconcile: async (desired, snapshot) => ({
          ...(await flux.reconcile(desired, snapshot)),
          sourceControlConfigurations: await fluxV1.reconcile(desired.sourceControlConfigurations, snapshot),
        }),
      };
    },
    // The hourly agent upgrade check rides config-agent's link (Arc's agents upgrade themselves).
    (ctx, snapshot) => {
      const upgrader = new AgentUpgrader(ctx, { clock, intervalMs: upgradeCheckIntervalMs }, snapshot);
      return {
        up: (link) => upgrader.up(link),
        down: () => upgrader.down(),
        setSnapshot: (s) => upgrader.setSnapshot(s),
        onControl: (m) => {
          if (m.action === 'upgrade-check') upgrader.checkNow();
        },
      };
    },
  );
});
