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

/** `Microsoft.Kubernetes/connectedClusters/read` → `connectedClusters`; a provider-level entry → undefined. */
function typeOf(op: ProviderOperation): string | undefined {
  return op.name.split('/')[1];
}

export function servedOperations(provider: ProviderNamespace): ProviderOperation[] {
  const types = new Set(SERVED[provider].map((t) => t.toLowerCase()));
  return operationsOf(provider).filter((op) => {
    const type = typeOf(op)?.toLowerCase();
    // Provider-level operations (register, operations/read) and the served types' own.
    return type === undefined || type === 'register' || type === 'operations' || types.has(type);
  });
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
