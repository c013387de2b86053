/**
 * `GET /providers/<namespace>/operations` for the hub's two providers, in ARM's shape
 * (`{"value":[{name, display, …}]}`): what the Azure SDKs' `operations.list()` and the portal read. The
 * entries are the providers' published lists (contract/api-versions.json), trimmed to what the hub
 * serves. Any api-version of the provider's resource types is accepted, as ARM does.
 */
import type { FastifyInstance } from 'fastify';
import {
  apiVersionsOf,
  operationsOf,
  type ProviderNamespace,
  type ProviderOperation,
} from '../../../contract/api-versions.js';
import { apiVersionOf } from './request.js';

/** The resource types each provider serves here; an operation on any other type is not listed. */
const SERVED: Record<ProviderNamespace, readonly string[]> = {
  'Microsoft.Kubernetes': ['connectedClusters'],
  'Microsoft.KubernetesConfiguration': ['extensions', 'fluxConfigurations'],
};

/** Provider-level entries (`<ns>/register/action`, `<ns>/operations/read`), listed whatever is served. */
const PROVIDER_LEVEL = new Set(['register', 'operations']);

export function servedOperations(provider: ProviderNamespace): ProviderOperation[] {
  const served = new Set([...SERVED[provider], ...PROVIDER_LEVEL].map((t) => t.toLowerCase()));
  // `Microsoft.Kubernetes/connectedClusters/read` is about `connectedClusters`.
  return operationsOf(provider).filter((op) => served.has(op.name.split('/')[1]?.toLowerCase() ?? ''));
}

export function registerProviderOperations(app: FastifyInstance): void {
  for (const provider of Object.keys(SERVED) as ProviderNamespace[]) {
    const versions = [...new Set(SERVED[provider].flatMap((t) => apiVersionsOf(provider, t)))]
      .sort()
      .reverse();
    const value = servedOperations(provider);
    app.get(`/providers/${provider}/operations`, async (request) => {
      apiVersionOf(request, versions);
      return { value };
    });
  }
}
