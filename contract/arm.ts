/**
 * The ARM contract of `Microsoft.Kubernetes/connectedClusters`: resource shape, ids, api-versions.
 */
import { apiVersionsOf } from './api-versions.js';
import type { ClusterRef } from './subjects.js';

export const CONNECTED_CLUSTER_TYPE = 'Microsoft.Kubernetes/connectedClusters';

/** The tenant of every fleet (resources' `identity.tenantId`, tokens' `tid`). */
export const FLEET_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
/** Every published api-version of connectedClusters, GA and preview (api-versions.json), newest first. */
export const SUPPORTED_API_VERSIONS: readonly string[] = apiVersionsOf(
  'Microsoft.Kubernetes',
  'connectedClusters',
);
/** What arcfleet's own clients (CLI, tests) send: the newest GA version, which shows every property. */
export const DEFAULT_API_VERSION: string =
  SUPPORTED_API_VERSIONS.find((v) => !v.endsWith('-preview')) ?? '2024-01-01';

export const CONNECTIVITY_STATUSES = [
  'Connecting',
  'Connected',
  'Offline',
  'Expired',
  'AgentNotInstalled',
] as const;
export type ConnectivityStatus = (typeof CONNECTIVITY_STATUSES)[number];

/** `AgentNotInstalled` is in the connectivityStatus enum from 2024-12-01-preview on (the public specs). */
export function definesAgentNotInstalled(apiVersion: string): boolean {
  return apiVersion.slice(0, 10) >= '2024-12-01';
}

export const PROVISIONING_STATES = [
  'Succeeded',
  'Failed',
  'Canceled',
  'Provisioning',
  'Updating',
  'Deleting',
  'Accepted',
] as const;
export type ProvisioningState = (typeof PROVISIONING_STATES)[number];

export interface SystemData {
  createdBy: string;
  createdByType: 'User' | 'Application' | 'ManagedIdentity' | 'Key';
  createdAt: string;
  lastModifiedBy: string;
  lastModifiedByType: 'User' | 'Application' | 'ManagedIdentity' | 'Key';
  lastModifiedAt: string;
}

export interface ConnectedClusterProperties {
  agentPublicKeyCertificate: string;
  kubernetesVersion?: string | null;
  totalNodeCount?: number | null;
  totalCoreCount?: number | null;
  agentVersion?: string | null;
  provisioningState: ProvisioningState;
  distribution?: string | null;
  distributionVersion?: string | null;
  infrastructure?: string | null;
  offering?: string | null;
  managedIdentityCertificateExpirationTime?: string | null;
  lastConnectivityTime?: string | null;
  connectivityStatus: ConnectivityStatus;
  privateLinkState?: 'Enabled' | 'Disabled';
  azureHybridBenefit?: 'True' | 'False' | 'NotApplicable';
  miscellaneousProperties?: Record<string, string> | null;
  arcAgentProfile?: Record<string, unknown>;
  aadProfile?: Record<string, unknown>;
  securityProfile?: Record<string, unknown>;
  oidcIssuerProfile?: Record<string, unknown>;
  gateway?: Record<string, unknown>;
}

export interface ConnectedCluster {
  id: string;
  name: string;
  type: typeof CONNECTED_CLUSTER_TYPE;
  location: string;
  tags?: Record<string, string>;
  kind?: string;
  identity: { type: 'None' | 'SystemAssigned'; principalId?: string; tenantId?: string };
  systemData: SystemData;
  properties: ConnectedClusterProperties;
}

export function resourceId(ref: ClusterRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/${CONNECTED_CLUSTER_TYPE}/${ref.name}`;
}

/** connectedClusters name rule (ARM spec): 1-63 chars, alphanumerics, `-` and `_`, starting alphanumeric. */
export const CLUSTER_NAME_PATTERN = /^[a-zA-Z0-9][-_a-zA-Z0-9]{0,62}$/;
