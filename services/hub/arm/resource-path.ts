/**
 * ARM resource paths of Microsoft.Kubernetes/connectedClusters, and the cluster a path names, both as
 * the resource itself (`.../connectedClusters/:name`) and as the parent of a child resource
 * (`.../connectedClusters/:cluster/providers/...`).
 */
import { ArcError, CLUSTER_NAME_PATTERN, ERROR_CODES, type ClusterRef } from '../../../contract/index.js';

export const KUBERNETES_PROVIDER = 'providers/Microsoft.Kubernetes';
const CLUSTERS = `/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/${KUBERNETES_PROVIDER}/connectedClusters`;
/** One connected cluster. */
export const CLUSTER_PATH = `${CLUSTERS}/:name`;
/** A connected cluster as the parent of child resources, whose own name is `:name`. */
export const PARENT_CLUSTER_PATH = `${CLUSTERS}/:cluster`;

export interface ClusterParams {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export interface ParentClusterParams {
  subscriptionId: string;
  resourceGroup: string;
  cluster: string;
}

/** The cluster of `CLUSTER_PATH`; an invalid name is refused with the naming rule. */
export function refOf(params: ClusterParams): ClusterRef {
  return clusterRef(
    params,
    params.name,
    `The resource name '${params.name}' is invalid. It must be 1-63 characters: letters, digits, '-' and '_', starting with a letter or digit.`,
  );
}

/** The parent cluster of `PARENT_CLUSTER_PATH`; ARM's message for an invalid parent name is short. */
export function parentRefOf(params: ParentClusterParams): ClusterRef {
  return clusterRef(params, params.cluster, `The resource name '${params.cluster}' is invalid.`);
}

function clusterRef(
  params: { subscriptionId: string; resourceGroup: string },
  name: string,
  invalid: string,
): ClusterRef {
  if (!CLUSTER_NAME_PATTERN.test(name))
    throw new ArcError(ERROR_CODES.InvalidResourceName, invalid, { status: 400, target: 'name' });
  return { subscriptionId: params.subscriptionId, resourceGroup: params.resourceGroup, name };
}
