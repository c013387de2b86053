/**
 * kube-aad-proxy process: one instance per cluster in the cluster store, each making the proxy serve
 * its cluster (aad-proxy.ts), and one HTTP listener for all of them on the cluster side. It never
 * talks to Azure: no NATS link; the hub's token-signing key comes with the cluster's identity secret.
 */
import { Counter } from 'prom-client';
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { listenClusterSide } from '../../agent-runtime/cluster-listener.js';
import { clusterKey } from '../../contract/index.js';
import { RateLimitedReporter } from '../../platform/rate-limited-log.js';
import { ENV, readNumber, readString } from '../../platform/settings.js';
import { AGENT, AadProxy, type ServedCluster } from './aad-proxy.js';
import { guardClient } from './guard-client.js';
import type { ClusterSnapshot } from '../../agent-runtime/agent-instance.js';

function servedOf(snapshot: ClusterSnapshot): ServedCluster {
  const { subscriptionId, resourceGroup, name } = snapshot.state;
  return {
    key: clusterKey({ subscriptionId, resourceGroup, name }),
    issuerSpki: snapshot.identity?.issuerPublicKey,
    azureRbac: snapshot.state.features.azureRbac,
  };
}

runAgentService(AGENT, ({ clock, logger, registry }) => {
  const apiserverUrl = readString(process.env, ENV.kubeApiserverUrl, '').replace(/\/$/, '');
  if (apiserverUrl === '')
    logger.warn({ event: 'agent.no_apiserver' }, 'ARCFLEET_KUBE_APISERVER_URL is not set');
  const requests = new Counter({
    name: 'arcfleet_kube_aad_proxy_requests_total',
    help: 'Requests through kube-aad-proxy by outcome (ok, 401, 403, denied by guard, 413, 503, bad-request, error)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['ok', '401', '403']) requests.inc({ outcome }, 0);
  const refusals = new RateLimitedReporter(logger);
  const proxy = new AadProxy({
    clock,
    apiserverUrl: apiserverUrl === '' ? undefined : apiserverUrl,
    onOutcome: (outcome) => requests.inc({ outcome }),
    guard: guardClient(readString(process.env, ENV.guardUrl, '').replace(/\/$/, '') || undefined),
    onRefusal: (outcome, message, cluster) =>
      refusals.report('kube-aad-proxy.refused', message, undefined, {
        key: `${outcome}:${cluster}`,
        fields: { outcome, cluster },
      }),
  });
  const port = readNumber(process.env, ENV.kubeAadProxyPort, 0, { min: 0, max: 65_535, integer: true });
  const host = readString(process.env, ENV.kubeAadProxyHost, '127.0.0.1');
  listenClusterSide({ agent: AGENT, port, host, logger }, (req, res) => proxy.handle(req, res));
  return (ctx, snapshot) => {
    proxy.serve(ctx.clusterName, servedOf(snapshot));
    return {
      update: (next) => proxy.serve(ctx.clusterName, servedOf(next)),
      close: () => {
        proxy.forget(ctx.clusterName);
        return Promise.resolve();
      },
    };
  };
});
