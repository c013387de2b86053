/**
 * Objects computed on read from the cluster store (pure): what a real cluster would have without
 * anyone creating them. Read-only through the API.
 *
 *   namespaces       default, kube-system, kube-public, kube-node-lease, azure-arc
 *   serviceaccounts  `default` in every namespace (derived and stored)
 *   nodes            one per node of each pool of cluster.json
 *   secrets          azure-identity-certificate (while the identity secret file exists)
 *   configmaps       azure-clusterconfig
 *
 * resourceVersion of a derived object is a hash of its content, so it stays the same while nothing
 * changed (no churn for watchers and caches) and changes with any visible change (e.g. a pod going
 * NotReady because its process died, with no file touched).
 *
 * This file picks the objects of a resource; they are built in derived-nodes.ts (nodes) and
 * derived-arc-config.ts (the Arc secret and config map), stamped by derived-meta.ts. The Arc agents'
 * Deployments and Pods are stored objects, written by controller-manager; the `clustermetadata`
 * ConnectedCluster too, written by cluster-metadata-operator (derived-arc-config.ts fills in one field
 * on read).
 */
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { clusterConfig, identitySecret } from './derived-arc-config.js';
import { ARC_NAMESPACE, finish, type DerivedInput } from './derived-meta.js';
import { nodes } from './derived-nodes.js';

export { ARC_NAMESPACE, type DerivedInput };
export const SYSTEM_NAMESPACES = [
  'default',
  'kube-system',
  'kube-public',
  'kube-node-lease',
  ARC_NAMESPACE,
] as const;

/** Plurals that have derived objects, with the inputs each needs beyond `state`. */
export interface DerivedNeeds {
  readonly identity?: boolean;
}

export const DERIVED_NEEDS: Readonly<Record<string, DerivedNeeds>> = {
  '/namespaces': {},
  '/serviceaccounts': {},
  '/nodes': {},
  '/secrets': { identity: true },
  '/configmaps': {},
};

export function derivedObjects(resource: string, input: DerivedInput): KubeObject[] {
  switch (resource) {
    case '/namespaces':
      return SYSTEM_NAMESPACES.map((n) => finish(input, namespaceObject(n)));
    case '/serviceaccounts':
      return [...new Set([...SYSTEM_NAMESPACES, ...(input.storedNamespaces ?? [])])].map((ns) =>
        finish(input, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'default', namespace: ns },
        }),
      );
    case '/nodes':
      return nodes(input);
    case '/secrets':
      return input.identity ? [finish(input, identitySecret(input.identity))] : [];
    case '/configmaps':
      return [finish(input, clusterConfig(input.state))];
    default:
      return [];
  }
}

export function namespaceObject(name: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}
