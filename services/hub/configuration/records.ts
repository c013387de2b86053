/**
 * The hub's records of a cluster's configuration resources (extensions, Flux configurations, Service
 * Connector linkers): one document per cluster, persisted in its own JetStream KV bucket under the
 * cluster key. Plain JSON data; the behaviour is in lifecycle.ts.
 */
import type { RoleAssignmentRecord } from './role-assignments.js';
import type {
  ComplianceState,
  ExtensionScope,
  ExtensionStatusCondition,
  FluxObjectStatus,
  Kustomization,
  ClusterRef,
  SourceControlComplianceState,
} from '../../../contract/index.js';

export type ConfigProvisioningState =
  'Creating' | 'Updating' | 'Deleting' | 'Succeeded' | 'Failed' | 'Canceled';
export const CONFIG_PROVISIONING_STATES: readonly ConfigProvisioningState[] = [
  'Creating',
  'Updating',
  'Deleting',
  'Succeeded',
  'Failed',
  'Canceled',
];
export type LinkerProvisioningState = 'Accepted' | 'Succeeded' | 'Failed';

export type Settings = Record<string, string>;

export interface Audit {
  /** Stable for the resource's life; a re-created resource gets a new one (operation ids use it). */
  uid: string;
  createdBy: string;
  createdAt: string;
  lastModifiedBy: string;
  lastModifiedAt: string;
}

/** Fields every agent-reconciled resource has. */
export interface Reconciled {
  /** Bumped by every PUT/PATCH/DELETE; agents echo the generation their status answers. */
  generation: number;
  deleting: boolean;
  provisioningState: ConfigProvisioningState;
  /** Simulated ms by which the agents must answer the current generation; null when answered. */
  deadlineMs: number | null;
  /**
   * What the request sent (omitted = {}), held for the agent until it answers this generation or
   * the hold ends; null once dropped. Never rendered.
   */
  protectedSettings: Settings | null;
  protectedHeldSinceMs: number | null;
  /**
   * Extensions: since when the write waits for a cluster that is not connected (`Pending`, no
   * operation deadline running); absent or null otherwise (lifecycle.ts).
   */
  pendingSinceMs?: number | null;
}

export interface ExtensionRecord extends Reconciled, Audit {
  name: string;
  extensionType: string;
  autoUpgradeMinorVersion: boolean;
  releaseTrain: string;
  version: string | null;
  scope: ExtensionScope;
  configurationSettings: Settings;
  currentVersion: string | null;
  statuses: ExtensionStatusCondition[];
  errorInfo: { code: string; message: string } | null;
  /** Service Connector: linkers (by lower-cased name) whose objects the agent reported present. */
  appliedConnections: string[];
  /**
   * The generation whose protected settings expired before the agents fetched them: a late status
   * for it cannot make the extension Succeeded (it was installed without them); a new write can.
   */
  expiredGeneration: number | null;
}

export interface GitRepositoryDefinition {
  url: string;
  repositoryRef: { branch?: string; tag?: string; semver?: string; commit?: string };
  syncIntervalInSeconds: number;
  timeoutInSeconds: number;
  httpsUser: string | null;
  httpsCACert: string | null;
  sshKnownHosts: string | null;
  localAuthRef: string | null;
  provider: string | null;
}

export interface BucketDefinition {
  url: string;
  bucketName: string;
  insecure: boolean;
  syncIntervalInSeconds: number;
  timeoutInSeconds: number;
  accessKey: string | null;
  localAuthRef: string | null;
}

export interface AzureBlobDefinition {
  url: string;
  containerName: string;
  syncIntervalInSeconds: number;
  timeoutInSeconds: number;
  localAuthRef: string | null;
}

export interface FluxRecord extends Reconciled, Audit {
  name: string;
  scope: 'cluster' | 'namespace';
  namespace: string;
  sourceKind: 'GitRepository' | 'Bucket' | 'AzureBlob';
  suspend: boolean;
  gitRepository: GitRepositoryDefinition | null;
  bucket: BucketDefinition | null;
  azureBlob: AzureBlobDefinition | null;
  kustomizations: Record<string, Kustomization & { name: string }>;
  complianceState: ComplianceState;
  statuses: FluxObjectStatus[];
  errorMessage: string | null;
  sourceSyncedCommitId: string | null;
  sourceUpdatedAt: string | null;
  statusUpdatedAt: string | null;
}

export type LinkerAuthType =
  'secret' | 'servicePrincipalSecret' | 'workloadIdentity' | 'userAssignedIdentity';

export interface LinkerRecord extends Audit {
  name: string;
  targetService: { type: 'AzureResource'; id: string };
  authInfo: { authType: LinkerAuthType; clientId: string | null };
  /** Kubernetes namespace of the connection's objects. */
  scope: string;
  clientType: string;
  generation: number;
  provisioningState: LinkerProvisioningState;
}

export type { SourceControlComplianceState };
export type SourceControlProvisioningState = 'Accepted' | 'Deleting' | 'Running' | 'Succeeded' | 'Failed';

export interface SourceControlComplianceStatus {
  complianceState: SourceControlComplianceState;
  lastConfigApplied: string | null;
  message: string;
  messageLevel: 'Error' | 'Warning' | 'Information';
}

/**
 * A legacy `sourceControlConfigurations` resource (Flux v1): the PUT is synchronous (provisioningState
 * Succeeded at once), the operator's progress shows only in `complianceStatus`, which config-agent
 * reports for the current generation.
 */
export interface SourceControlRecord extends Audit {
  name: string;
  repositoryUrl: string;
  operatorNamespace: string;
  operatorInstanceName: string;
  operatorType: 'Flux';
  operatorParams: string;
  operatorScope: 'cluster' | 'namespace';
  sshKnownHostsContents: string;
  enableHelmOperator: boolean;
  helmOperatorProperties: { chartVersion: string; chartValues: string } | null;
  /** The operator's deploy key (generated in the cluster) or empty; reported by config-agent. */
  repositoryPublicKey: string;
  generation: number;
  deleting: boolean;
  provisioningState: SourceControlProvisioningState;
  /** As for Reconciled: held for config-agent until it answers this generation or the hold ends. */
  protectedSettings: Settings | null;
  protectedHeldSinceMs: number | null;
  complianceStatus: SourceControlComplianceStatus;
}

export interface ClusterConfigRecord {
  /** Format version of the persisted document. */
  v: 1;
  /** The cluster key (see contract/subjects.ts). */
  key: string;
  ref: ClusterRef;
  /**
   * The connectedClusters resource these belong to (its principalId, new for every create): a
   * document left behind by a deleted cluster (a crash between the two deletes) is not inherited by
   * a cluster re-created under the same name.
   */
  clusterUid: string;
  /** By lower-cased name (ARM names are case-insensitive). */
  extensions: Record<string, ExtensionRecord>;
  fluxConfigurations: Record<string, FluxRecord>;
  linkers: Record<string, LinkerRecord>;
  /** Legacy Flux v1 configurations; absent in documents stored before they existed (docOf fills it). */
  sourceControlConfigurations: Record<string, SourceControlRecord>;
  /** Azure RBAC role assignments at the cluster or its namespaces, by name (a GUID); absent before them. */
  roleAssignments?: Record<string, RoleAssignmentRecord>;
}

export function emptyConfig(key: string, ref: ClusterRef, clusterUid: string): ClusterConfigRecord {
  return {
    v: 1,
    key,
    ref,
    clusterUid,
    extensions: {},
    fluxConfigurations: {},
    linkers: {},
    sourceControlConfigurations: {},
    roleAssignments: {},
  };
}

export function isBusy(state: ConfigProvisioningState): boolean {
  return state === 'Creating' || state === 'Updating' || state === 'Deleting';
}
