/**
 * cluster-metadata-operator process: one instance per cluster in the cluster store (see
 * metadata-operator.ts). It talks only to the cluster's apiserver, never to Azure: no NATS link.
 */
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { KubeClient, type KubeObject } from '../../agent-runtime/kube-client.js';
import { concurrencyLimit } from '../../platform/limit.js';
import { ENV, readString } from '../../platform/settings.js';
import {
  CLUSTER_METADATA_NAME,
  CONNECTED_CLUSTER_API_VERSION,
  CONNECTED_CLUSTER_KIND,
} from './cluster-metadata.js';
import { AGENT, metadataOperatorFactory, type MetadataApi } from './metadata-operator.js';

/** Syncs in flight at once across the process's clusters (a fleet starting is a burst of them). */
const SYNC_CONCURRENCY = 16;

function apiOf(kube: KubeClient): MetadataApi {
  return {
    nodes: () => kube.list('v1', 'Node'),
    kubernetesVersion: async () => {
      const res = await kube.request('GET', '/version');
      const body = (await res.json().catch(() => undefined)) as { gitVersion?: unknown } | undefined;
      if (!res.ok || typeof body?.gitVersion !== 'string')
        throw new Error(`GET /version: HTTP ${res.status}, no gitVersion`);
      return body.gitVersion;
    },
    current: () => kube.get(CONNECTED_CLUSTER_API_VERSION, CONNECTED_CLUSTER_KIND, CLUSTER_METADATA_NAME),
    write: async (obj: KubeObject) => {
      await (obj.metadata.resourceVersion === undefined ? kube.create(obj) : kube.replace(obj));
    },
  };
}

runAgentService(AGENT, ({ clock, logger }) => {
  const apiserverUrl = readString(process.env, ENV.kubeApiserverUrl, '');
  if (apiserverUrl === '')
    logger.warn({ event: 'agent.no_apiserver' }, 'ARCFLEET_KUBE_APISERVER_URL is not set');
  const run = concurrencyLimit(SYNC_CONCURRENCY);
  // The apiserver names the field manager after the client's product, as a real one does.
  const headers = { 'user-agent': AGENT };
  return metadataOperatorFactory({ clock, run }, (ctx) =>
    apiOf(KubeClient.forCluster(apiserverUrl, ctx.clusterName, { headers })),
  );
});
