/**
 * Cluster configuration: the contract between the hub (which keeps the ARM resources
 * `Microsoft.KubernetesConfiguration/extensions` and `.../fluxConfigurations`, and Service Connector
 * `Microsoft.ServiceLinker/linkers`) and the agents that make them true inside the cluster
 * (extension-manager, config-agent).
 *
 * Flow (pull, outbound only, as in the real Arc): the agent sends `config-pull`, the hub replies with
 * the cluster's `desired-state` for that agent; the agent applies it to the emulated apiserver and
 * reports `config-status` (per resource, with the generation it observed). The hub nudges the agents
 * with a `config-changed` control message after a write, so they need not wait for their next pull.
 *
 * Extension types come from a catalog (data): which namespace a release goes to, which objects it
 * creates, which versions exist per release train. Documented in docs/protocol.md.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Extension catalog
// ---------------------------------------------------------------------------------------------

/** Semantic versioning 2.0 (major.minor.patch, optional pre-release and build). */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

const k8sName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a lower-case RFC 1123 name');

/** One object an extension's chart creates. `{release}` in a name becomes the extension's name. */
export const catalogObjectSchema = z.strictObject({
  apiVersion: z.string().min(1),
  kind: z.enum(['Deployment', 'ServiceAccount', 'ConfigMap', 'Secret']),
  name: z.string().min(1).max(253),
});
export type CatalogObject = z.infer<typeof catalogObjectSchema>;

export const catalogEntrySchema = z.strictObject({
  /** Lower-case, e.g. `microsoft.flux`. Compared case-insensitively. */
  extensionType: z.string().min(1).max(128),
  /** Release namespace of a cluster-scoped install. */
  releaseNamespace: k8sName,
  scopes: z.array(z.enum(['cluster', 'namespace'])).min(1),
  /** Versions per release train (semver: `major.minor.patch`, optionally `-prerelease`). */
  releaseTrains: z.record(z.string().min(1), z.array(z.string().regex(SEMVER, 'a semantic version')).min(1)),
  objects: z.array(catalogObjectSchema),
  /** Service Connector: connections (linkers) are delivered with this extension. */
  supportsConnections: z.boolean().default(false),
});
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;

export const extensionCatalogSchema = z.array(catalogEntrySchema).min(1);

// ---------------------------------------------------------------------------------------------
// Desired state (hub → agent)
// ---------------------------------------------------------------------------------------------

/**
 * Largest desired-state reply: what fits in one NATS message (default max_payload 1 MiB). Reports stay
 * under ARCFLEET_MAX_MESSAGE_BYTES, but the desired state of a cluster with many extensions and
 * settings legitimately does not; the agents accept up to this, and the hub never sends more.
 */
export const DESIRED_STATE_MAX_BYTES = 1_000_000;

const settings = z.record(z.string().max(256), z.string().max(64 * 1024));

export const extensionScopeSchema = z.union([
  z.strictObject({ cluster: z.strictObject({ releaseNamespace: k8sName }) }),
  z.strictObject({ namespace: z.strictObject({ targetNamespace: k8sName }) }),
]);
export type ExtensionScope = z.infer<typeof extensionScopeSchema>;

/** A Service Connector connection (linker), delivered with the `sc-extension` extension. */
export const desiredConnectionSchema = z.strictObject({
  name: z.string().min(1).max(128),
  /** Kubernetes namespace the Secret (and ServiceAccount) go to (default `default`). */
  namespace: k8sName,
  authType: z.enum(['secret', 'servicePrincipalSecret', 'workloadIdentity', 'userAssignedIdentity']),
  /** The target service's resource id (for the Secret's content). */
  targetId: z.string().max(2048),
  /** Workload Identity: the client id the ServiceAccount is annotated with. */
  clientId: z.string().max(128).nullable(),
  generation: z.int().min(0),
});
export type DesiredConnection = z.infer<typeof desiredConnectionSchema>;

export const desiredExtensionSchema = z.strictObject({
  name: z.string().min(1).max(253),
  extensionType: z.string().min(1).max(128),
  releaseTrain: z.string().min(1).max(64),
  autoUpgradeMinorVersion: z.boolean(),
  /** Pinned version (only with auto-upgrade off), else null. */
  version: z.string().max(64).nullable(),
  scope: extensionScopeSchema,
  configurationSettings: settings,
  /** Null once the hub no longer holds them (delivered and acknowledged, or expired). */
  configurationProtectedSettings: settings.nullable(),
  /** Bumped by every PUT/PATCH/DELETE of the resource; echoed in the status. */
  generation: z.int().min(0),
  /** DELETE in progress: uninstall. */
  deleting: z.boolean(),
  connections: z.array(desiredConnectionSchema).max(1000).default([]),
  /**
   * Every version Azure offers for the type now, by release train (the catalog plus what was published
   * since): extension-manager upgrades and pins against these, not its own copy of the catalog.
   */
  releaseTrains: z.record(z.string().min(1).max(64), z.array(z.string().max(64)).max(500)).optional(),
});
export type DesiredExtension = z.infer<typeof desiredExtensionSchema>;

export const kustomizationSchema = z.strictObject({
  path: z.string().max(1024),
  dependsOn: z.array(z.string().max(253)).max(50),
  prune: z.boolean(),
  force: z.boolean(),
  syncIntervalInSeconds: z.int().min(1),
  timeoutInSeconds: z.int().min(1),
});
export type Kustomization = z.infer<typeof kustomizationSchema>;

export const desiredFluxConfigurationSchema = z.strictObject({
  name: z.string().min(1).max(253),
  /** Namespace of the Flux objects (GitRepository, Kustomizations). */
  namespace: k8sName,
  scope: z.enum(['cluster', 'namespace']),
  sourceKind: z.enum(['GitRepository', 'Bucket', 'AzureBlob']),
  /** Source URL (git URL, bucket endpoint or blob container URL). */
  url: z.string().min(1).max(2048),
  /** Branch, tag, semver range or commit; one of them. */
  repositoryRef: z.strictObject({
    branch: z.string().max(256).optional(),
    tag: z.string().max(256).optional(),
    semver: z.string().max(256).optional(),
    commit: z.string().max(64).optional(),
  }),
  kustomizations: z.record(z.string().min(1).max(253), kustomizationSchema),
  suspend: z.boolean(),
  generation: z.int().min(0),
  deleting: z.boolean(),
});
export type DesiredFluxConfiguration = z.infer<typeof desiredFluxConfigurationSchema>;

/**
 * A legacy Flux v1 configuration (`sourceControlConfigurations`): config-agent installs a Flux v1
 * operator (and, if asked, the Helm operator) named `operatorInstanceName` in `operatorNamespace`,
 * which syncs `repositoryUrl`.
 */
export const desiredSourceControlSchema = z.strictObject({
  name: z.string().min(1).max(253),
  repositoryUrl: z.string().min(1).max(2048),
  operatorNamespace: k8sName,
  operatorInstanceName: k8sName,
  operatorScope: z.enum(['cluster', 'namespace']),
  operatorParams: z.string().max(4096),
  sshKnownHostsContents: z.string().max(64 * 1024),
  enableHelmOperator: z.boolean(),
  helmOperatorProperties: z
    .strictObject({ chartVersion: z.string().max(64), chartValues: z.string().max(64 * 1024) })
    .nullable(),
  /** Null once the hub no longer holds them (acknowledged, or the hold ended). */
  configurationProtectedSettings: settings.nullable(),
  generation: z.int().min(0),
  deleting: z.boolean(),
});
export type DesiredSourceControl = z.infer<typeof desiredSourceControlSchema>;

/** An SSH repository URL (`ssh://` or scp-like `git@host:path`): the Flux v1 operator needs a deploy key. */
export function isSshRepositoryUrl(url: string): boolean {
  return url.startsWith('ssh://') || !/^https?:\/\//.test(url);
}

// ---------------------------------------------------------------------------------------------
// Status (agent → hub)
// ---------------------------------------------------------------------------------------------

export const extensionStatusConditionSchema = z.strictObject({
  code: z.string().max(256),
  displayStatus: z.string().max(256),
  level: z.enum(['Error', 'Warning', 'Information']),
  message: z.string().max(4096),
  time: z.string().max(64),
});
export type ExtensionStatusCondition = z.infer<typeof extensionStatusConditionSchema>;

export const extensionStatusSchema = z.strictObject({
  name: z.string().min(1).max(253),
  /** The desired generation this status answers. */
  generation: z.int().min(0),
  /** Installed: the release matches the desired state; Uninstalled: the deletion is done. */
  phase: z.enum(['Installed', 'Failed', 'Uninstalled']),
  currentVersion: z.string().max(64).nullable(),
  statuses: z.array(extensionStatusConditionSchema).max(20),
  errorInfo: z.strictObject({ code: z.string().max(128), message: z.string().max(4096) }).nullable(),
  /** Connections (by name) whose objects exist in the cluster. */
  appliedConnections: z.array(z.string().max(128)).max(1000).default([]),
});
export type ExtensionStatus = z.infer<typeof extensionStatusSchema>;

export const COMPLIANCE_STATES = ['Compliant', 'Non-Compliant', 'Pending', 'Suspended', 'Unknown'] as const;
export type ComplianceState = (typeof COMPLIANCE_STATES)[number];

export const fluxObjectStatusSchema = z.strictObject({
  name: z.string().max(253),
  namespace: z.string().max(253),
  kind: z.string().max(64),
  complianceState: z.enum(COMPLIANCE_STATES),
  appliedBy: z.strictObject({ name: z.string().max(253), namespace: z.string().max(253) }).nullable(),
  statusConditions: z
    .array(
      z.strictObject({
        lastTransitionTime: z.string().max(64),
        message: z.string().max(4096),
        reason: z.string().max(256),
        status: z.enum(['True', 'False', 'Unknown']),
        type: z.string().max(64),
      }),
    )
    .max(10),
});
export type FluxObjectStatus = z.infer<typeof fluxObjectStatusSchema>;

export const fluxConfigurationStatusSchema = z.strictObject({
  name: z.string().min(1).max(253),
  generation: z.int().min(0),
  /** true: the configuration's objects are gone (answer to `deleting`). */
  deleted: z.boolean(),
  complianceState: z.enum(COMPLIANCE_STATES),
  statuses: z.array(fluxObjectStatusSchema).max(200),
  errorMessage: z.string().max(4096).nullable(),
  sourceSyncedCommitId: z.string().max(128).nullable(),
  sourceUpdatedAt: z.string().max(64).nullable(),
  statusUpdatedAt: z.string().max(64),
});
export type FluxConfigurationStatus = z.infer<typeof fluxConfigurationStatusSchema>;

/** The legacy API's compliance states (Flux v1), distinct from fluxConfigurations' COMPLIANCE_STATES. */
export const SOURCE_CONTROL_COMPLIANCE_STATES = [
  'Pending',
  'Compliant',
  'Noncompliant',
  'Installed',
  'Failed',
] as const;
export type SourceControlComplianceState = (typeof SOURCE_CONTROL_COMPLIANCE_STATES)[number];

export const sourceControlStatusSchema = z.strictObject({
  name: z.string().min(1).max(253),
  generation: z.int().min(0),
  /** true: the operator and what it applied are gone (answer to `deleting`). */
  deleted: z.boolean(),
  complianceState: z.enum(SOURCE_CONTROL_COMPLIANCE_STATES),
  lastConfigApplied: z.string().max(64).nullable(),
  message: z.string().max(4096),
  messageLevel: z.enum(['Error', 'Warning', 'Information']),
  /** The operator's SSH deploy key (OpenSSH public key line), or empty. */
  repositoryPublicKey: z.string().max(16 * 1024),
});
export type SourceControlStatus = z.infer<typeof sourceControlStatusSchema>;
