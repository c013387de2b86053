/**
 * kube-aad-proxy process: one instance per cluster in the cluster store, each making the proxy serve
 * its cluster (aad-proxy.ts), and one HTTP listener for all of them on the cluster side. It never
 * talks to Azure: no NATS link; the hub's token-signing key comes with the cluster's identity secret.
 */
import { createServer } from 'node:http';
import { Counter } from 'prom-client';
import { runAgentService } from '../../agent-runtime/agent-service.js';
import { clusterKey } from '../../contract/index.js';
import { RateLimitedReporter } from '../../platform/rate-limited-log.js';
import { ENV, readNumber, readString } from '../../platform/settings.js';
import { AGENT, AadProxy, type ServedCluster } from './aad-proxy.js';
import type { ClusterSnapshot } from '../../agent-runtime/agent-instance.js';

function servedOf(snapshot: ClusterSnapshot): ServedCluster {
  const { subscriptionId, resourceGroup, name } = snapshot.state;
  return {
    key: clusterKey({ subscriptionId, resourceGroup, name }),
    issuerSpki: snapshot.identity?.issuerPublicKey,
  };
}

runAgentService(AGENT, ({ clock, logger, registry }) => {
  const apiserverUrl = readString(process.env, ENV.kubeApiserverUrl, '').replace(/\/$/, '');
  if (apiserverUrl === '')
    logger.warn({ event: 'agent.no_apiserver' }, 'ARCFLEET_KUBE_APISERVER_URL is not set');
  const requests = new Counter({
    name: 'arcfleet_kube_aad_proxy_requests_total',
    help: 'Requests through kube-aad-proxy by outcome (ok, 401, 403, 413, 503, bad-request, error)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['ok', '401', '403']) requests.inc({ outcome }, 0);
  const refusals = new RateLimitedReporter(logger);
  const proxy = new AadProxy({
    clock,
    apiserverUrl: apiserverUrl === '' ? undefined : apiserverUrl,
    onOutcome: (outcome) => requests.inc({ outcome }),
    onRefusal: (outcome, message, cluster) =>
      refusals.report('kube-aad-proxy.refused', message, undefined, {
        key: `${outcome}:${cluster}`,
        fields: { outcome, cluster },
      }),
  });
  const port = readNumber(process.env, ENV.kubeAadProxyPort, 0, { min: 0, max: 65_535, integer: true });
  const host = readString(process.env, ENV.kubeAadProxyHost, '127.0.0.1');
  const server = createServer((req, res) => proxy.handle(req, res));
  server.on('clientError', (_err, socket) => socket.destroy());
  server.listen(port, host, () => {
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    logger.info(
      { event: 'kube-aad-proxy.listening', url: `http://${host}:${bound}` },
      'kube-aad-proxy listening',
    );
  });
  server.on('error', (err) => {
    logger.fatal({ event: 'kube-aad-proxy.listen_failed', port, err }, 'kube-aad-proxy cannot listen');
    process.exit(1);
  });
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
