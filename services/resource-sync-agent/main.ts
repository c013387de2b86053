/**
 * resource-sync-agent process: one instance per cluster in the cluster store (see resource-sync.ts).
 * With the cluster's apiserver it syncs the `clustermetadata` resource that cluster-metadata-operator
 * writes; a fleet run without one has no such resource, and the agent reads the cluster state instead.
 */
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { KubeClient } from '../../agent-runtime/kube-client.js';
import { ENV, readString } from '../../platform/settings.js';
import { fromClusterMetadata } from './metadata-source.js';
import { AGENT, resourceSyncFactory } from './resource-sync.js';

runAgentService(AGENT, ({ clock, config, logger }) => {
  const apiserverUrl = readString(process.env, ENV.kubeApiserverUrl, '');
  if (apiserverUrl === '')
    logger.info(
      { event: 'sync.no_apiserver' },
      'ARCFLEET_KUBE_APISERVER_URL is not set: the metadata comes from the cluster state',
    );
  const headers = { 'user-agent': AGENT };
  return resourceSyncFactory({
    clock,
    timings: config.timings,
    ...(apiserverUrl === ''
      ? {}
      : {
          metadataSource: (ctx) => {
            const kube = KubeClient.forCluster(apiserverUrl, ctx.clusterName, { headers });
            return fromClusterMetadata(
              () => kube.get('arc.azure.com/v1beta1', 'ConnectedCluster', 'clustermetadata'),
              clock,
            );
          },
        }),
  });
});
