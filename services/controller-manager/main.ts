/**
 * controller-manager process: one instance per cluster in the cluster store (see
 * workload-controller.ts). It talks only to the cluster's apiserver, never to Azure: no NATS link.
 */
import { DEFAULT_STATUS_INTERVAL_MS, runAgentService } from '../../agent-runtime/agent-service.js';
import { KubeClient } from '../../agent-runtime/kube-client.js';
import { concurrencyLimit } from '../../platform/limit.js';
import { ENV, readDuration, readString } from '../../platform/settings.js';
import { ARC_NAMESPACE, RELEASE_LABEL } from './arc-workloads.js';
import { ProcessWatch } from './process-watch.js';
import { AGENT, workloadControllerFactory, type WorkloadApi } from './workload-controller.js';

/** Syncs in flight at once across the process's clusters (a fleet starting is a burst of them). */
const SYNC_CONCURRENCY = 16;
/** An agent is down after this many of its status intervals without a sign of life (metrics-agent's rule). */
const STALE_INTERVALS = 3;

const SELECTOR = Object.entries(RELEASE_LABEL)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');

function apiOf(kube: KubeClient): WorkloadApi {
  return {
    list: async () => {
      const [deployments, pods] = await Promise.all([
        kube.list('apps/v1', 'Deployment', { namespace: ARC_NAMESPACE, labelSelector: SELECTOR }),
        kube.list('v1', 'Pod', { namespace: ARC_NAMESPACE, labelSelector: SELECTOR }),
      ]);
      return [...deployments, ...pods];
    },
    create: (obj) => kube.create(obj),
    replace: (obj) => kube.replace(obj),
    remove: async (obj) => {
      await kube.delete(obj.apiVersion, obj.kind, obj.metadata.name, obj.metadata.namespace);
    },
  };
}

runAgentService(AGENT, ({ clock, config, logger }) => {
  const apiserverUrl = readString(process.env, ENV.kubeApiserverUrl, '');
  if (apiserverUrl === '')
    logger.warn({ event: 'agent.no_apiserver' }, 'ARCFLEET_KUBE_APISERVER_URL is not set');
  const statusIntervalMs = readDuration(process.env, ENV.agentStatusInterval, DEFAULT_STATUS_INTERVAL_MS);
  const run = concurrencyLimit(SYNC_CONCURRENCY);
  // The apiserver names the field manager after the client's product, as a real one does.
  const headers = { 'user-agent': AGENT };
  // Liveness is written in real time (status files, process beats); look as often as it moves.
  const checkEveryMs = statusIntervalMs * config.timeScale;
  const staleAfterMs = STALE_INTERVALS * statusIntervalMs;
  const processes = new ProcessWatch({ clock, everyMs: checkEveryMs, staleAfterMs });
  return workloadControllerFactory(
    { clock, run, checkEveryMs, staleAfterMs, processes },
    (ctx) => apiOf(KubeClient.forCluster(apiserverUrl, ctx.clusterName, { headers })),
    (ctx) => ({
      statuses: async () => (await ctx.store.readAgentStatuses(ctx.clusterName)).statuses,
      beats: () => ctx.store.readProcessBeats(ctx.clusterName),
    }),
  );
});
