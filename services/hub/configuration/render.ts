/**
 * ARM rendering of the configuration resources. Protected settings are never rendered: the field
 * is always null, whatever the hub holds.
 */
import { resourceId, type ClusterRef } from '../../../contract/index.js';
import type { Audit, ExtensionRecord, FluxRecord, LinkerRecord, SourceControlRecord } from './records.js';

export const EXTENSION_TYPE = 'Microsoft.KubernetesConfiguration/extensions';
export const FLUX_TYPE = 'Microsoft.KubernetesConfiguration/fluxConfigurations';
export const LINKER_TYPE = 'Microsoft.ServiceLinker/linkers';
export const SOURCE_CONTROL_TYPE = 'Microsoft.KubernetesConfiguration/sourceControlConfigurations';

export function childId(ref: ClusterRef, type: string, name: string): string {
  const [provider, kind] = type.split('/') as [string, string];
  return `${resourceId(ref)}/providers/${provider}/${kind}/${name}`;
}

function systemData(a: Audit) {
  return {
    createdBy: a.createdBy,
    createdByType: 'User',
    createdAt: a.createdAt,
    lastModifiedBy: a.lastModifiedBy,
    lastModifiedByType: 'User',
    lastModifiedAt: a.lastModifiedAt,
  };
}

export function renderExtension(ref: ClusterRef, r: ExtensionRecord) {
  return {
    id: childId(ref, EXTENSION_TYPE, r.name),
    name: r.name,
    type: EXTENSION_TYPE,
    systemData: systemData(r),
    properties: {
      extensionType: r.extensionType,
      autoUpgradeMinorVersion: r.autoUpgradeMinorVersion,
      releaseTrain: r.releaseTrain,
      version: r.version,
      scope: r.scope,
      configurationSettings: r.configurationSettings,
      configurationProtectedSettings: null,
      currentVersion: r.currentVersion,
      provisioningState: r.provisioningState,
      errorInfo: r.errorInfo,
      statuses: r.statuses,
      isSystemExtension: false,
      customLocationSettings: null,
      packageUri: null,
      aksAssignedIdentity: null,
    },
  };
}

export function renderFlux(ref: ClusterRef, r: FluxRecord) {
  return {
    id: childId(ref, FLUX_TYPE, r.name),
    name: r.name,
    type: FLUX_TYPE,
    systemData: systemData(r),
    properties: {
      scope: r.scope,
      namespace: r.namespace,
      sourceKind: r.sourceKind,
      suspend: r.suspend,
      gitRepository: r.gitRepository,
      bucket: r.bucket,
      azureBlob: r.azureBlob,
      kustomizations: r.kustomizations,
      configurationProtectedSettings: null,
      statuses: r.statuses,
      repositoryPublicKey: null,
      sourceSyncedCommitId: r.sourceSyncedCommitId,
      sourceUpdatedAt: r.sourceUpdatedAt,
      statusUpdatedAt: r.statusUpdatedAt,
      complianceState: r.complianceState,
      provisioningState: r.provisioningState,
      errorMessage: r.errorMessage,
    },
  };
}

export function renderLinker(ref: ClusterRef, r: LinkerRecord) {
  return {
    id: childId(ref, LINKER_TYPE, r.name),
    name: r.name,
    type: LINKER_TYPE,
    systemData: systemData(r),
    properties: {
      targetService: r.targetService,
      authInfo: {
        authType: r.authInfo.authType,
        ...(r.authInfo.clientId === null ? {} : { clientId: r.authInfo.clientId }),
      },
      clientType: r.clientType,
      scope: r.scope,
      provisioningState: r.provisioningState,
      vNetSolution: null,
      secretStore: null,
    },
  };
}

/** `configurationProtectedSettings` is returned empty, never with what the hub holds. */
export function renderSourceControl(ref: ClusterRef, r: SourceControlRecord) {
  return {
    id: childId(ref, SOURCE_CONTROL_TYPE, r.name),
    name: r.name,
    type: SOURCE_CONTROL_TYPE,
    systemData: systemData(r),
    properties: {
      repositoryUrl: r.repositoryUrl,
      operatorNamespace: r.operatorNamespace,
      operatorInstanceName: r.operatorInstanceName,
      operatorType: r.operatorType,
      operatorParams: r.operatorParams,
      configurationProtectedSettings: {},
      operatorScope: r.operatorScope,
      repositoryPublicKey: r.repositoryPublicKey,
      sshKnownHostsContents: r.sshKnownHostsContents,
      enableHelmOperator: r.enableHelmOperator,
      helmOperatorProperties: r.helmOperatorProperties,
      provisioningState: r.provisioningState,
      complianceStatus: r.complianceStatus,
    },
  };
}
