/** What the hub's plain-HTTP page port serves (services/hub/arm/plain-listener.ts): the page only. */
import { expect, it } from 'vitest';
import { servedPlain } from '../../services/hub/arm/plain-listener.js';

it('serves the page, what it calls, /metrics and health', () => {
  for (const url of [
    '/',
    '/page/app.js',
    '/arcfleet/v1/feed',
    '/arcfleet/v1/chaos',
    '/arcfleet/v1/events?since=0',
    '/arcfleet/v1/summary',
    '/arcfleet/v1/clusters/sub.rg.name',
    '/metrics',
    '/healthz',
    '/readyz',
  ])
    expect(servedPlain(url), url).toBe(true);
});

it('refuses the ARM API and cluster connect, which carry tokens', () => {
  for (const url of [
    '/subscriptions/s/providers/Microsoft.Kubernetes/connectedClusters?api-version=2024-01-01',
    '/providers/Microsoft.Kubernetes/operations?api-version=2024-01-01',
    '/arcfleet/v1/clusterconnect/s/rg/name/api/v1/pods',
    '/arcfleet/v1/clusters/a/b',
    '/metrics/extra',
    '//',
  ])
    expect(servedPlain(url), url).toBe(false);
});
