/**
 * The ARM contract of `Microsoft.Kubernetes/connectedClusters`: resource shape, ids, api-versions.
 */
import type { ClusterRef } from './subjects.js';

export const CONNECTED_CLUSTER_TYPE = 'Microsoft.Kubernetes/connectedClusters';
/** Stable api-versions of the real resource provider that the hub accepts. */
export const SUPPORTED_API_VERSIONS = ['2026-05-01', '2024-01-01'] as const;
export const DEFAULT_API_VERSION = '2024-01-01';

export const CONNECTIVITY_STATUSES = [
  'Connecting',
  'Connected',
  'Offline',
  'Expired',
  'AgentNotInstalled',
] as const;
export type ConnectivityStatus = (typeof CONNECTIVITY_STATUSES)[number];

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
