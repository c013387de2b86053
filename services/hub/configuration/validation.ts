/**
 * Validation of ARM request bodies for extensions, fluxConfigurations and linkers. Errors name the
 * offending field in `target` and the message, as ARM does. Catalog checks (does the type, train,
 * version exist) need the catalog and happen in lifecycle.ts.
 */
import { z } from 'zod';
import { ArcError, ERROR_CODES } from '../../../contract/index.js';

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const k8sName = z.string().max(253).regex(K8S_NAME, 'must be a lower-case RFC 1123 name');
const settings = z.record(z.string().min(1).max(256), z.string().max(64 * 1024));
const nullableSettings = z.record(
  z.string().min(1).max(256),
  z
    .string()
    .max(64 * 1024)
    .nullable(),
);
const seconds = z
  .int()
  .min(1)
  .max(35 * 86_400);

function fail(error: z.ZodError, prefix: string): never {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const target = [prefix, path].filter((p) => p !== '').join('.');
  throw new ArcError(
    ERROR_CODES.InvalidParameter,
    `Invalid value for '${target || '(body)'}': ${issue?.message ?? 'invalid'}`,
    { status: 400, target: target || undefined },
  );
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) fail(parsed.error, prefix);
  return parsed.data;
}

export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ArcError(ERROR_CODES.InvalidRequestContent, 'The request content must be a JSON object.', {
      status: 400,
    });
  return body as Record<string, unknown>;
}

function propertiesOf(body: unknown, required: boolean): Record<string, unknown> {
  const raw = requireObject(body);
  const props = raw.properties;
  if (props === undefined || props === null) {
    if (required)
      throw new ArcError(ERROR_CODES.InvalidParameter, "Invalid value for 'properties': required", {
        status: 400,
        target: 'properties',
      });
    return {};
  }
  if (typeof props !== 'object' || Array.isArray(props))
    throw new ArcError(ERROR_CODES.InvalidParameter, "Invalid value for 'properties': must be an object", {
      status: 400,
      target: 'properties',
    });
  return props as Record<string, unknown>;
}

/** Drops read-only and null-valued properties: clients often PUT back a GET body. */
function writable(props: Record<string, unknown>, readOnly: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) if (!readOnly.has(k) && v !== null) out[k] = v;
  return out;
}

// ---- names ----

export const EXTENSION_NAME = K8S_NAME;
export const LINKER_NAME = /^[A-Za-z0-9._-]{1,128}$/;

export function checkName(kind: string, name: string, pattern: RegExp, max: number, rule: string): void {
  if (name.length > max || !pattern.test(name))
    throw new ArcError(
      ERROR_CODES.InvalidResourceName,
      `The ${kind} name '${name}' is invalid. It must be ${rule}.`,
      { status: 400, target: 'name' },
    );
}

// ---- extensions ----

export const extensionScopeInput = z.union([
  z.object({ cluster: z.object({ releaseNamespace: k8sName.optional() }) }),
  z.object({ namespace: z.object({ targetNamespace: k8sName.optional() }) }),
]);

const EXTENSION_READ_ONLY = new Set([
  'currentVersion',
  'provisioningState',
  'errorInfo',
  'statuses',
  'isSystemExtension',
  'customLocationSettings',
  'packageUri',
  'aksAssignedIdentity',
]);

const extensionPutSchema = z.object({
  extensionType: z.string().min(1, 'extensionType is required').max(128),
  autoUpgradeMinorVersion: z.boolean().optional(),
  releaseTrain: z.string().min(1).max(64).optional(),
  version: z.string().min(1).max(64).optional(),
  scope: extensionScopeInput.optional(),
  configurationSettings: settings.optional(),
  configurationProtectedSettings: settings.optional(),
});
export type ExtensionPut = z.infer<typeof extensionPutSchema>;

export function parseExtensionPut(body: unknown): ExtensionPut {
  const props = writable(propertiesOf(body, true), EXTENSION_READ_ONLY);
  return parseWith(extensionPutSchema, props, 'properties');
}

const EXTENSION_PATCHABLE = new Set([
  'autoUpgradeMinorVersion',
  'releaseTrain',
  'version',
  'configurationSettings',
  'configurationProtectedSettings',
]);

const extensionPatchSchema = z.object({
  autoUpgradeMinorVersion: z.boolean().optional(),
  releaseTrain: z.string().min(1).max(64).optional(),
  /** null unpins. */
  version: z.string().min(1).max(64).nullable().optional(),
  /** Merged: a null value deletes the key. */
  configurationSettings: nullableSettings.optional(),
  configurationProtectedSettings: settings.nullable().optional(),
});
export type ExtensionPatch = z.infer<typeof extensionPatchSchema>;

/**
 * A PATCH body's properties, refusing anything outside `properties` and any property not in
 * `patchable`; `hint` ends the message (which properties can be patched).
 */
function patchProperties(body: unknown, patchable: ReadonlySet<string>, hint = ''): Record<string, unknown> {
  const raw = requireObject(body);
  for (const k of Object.keys(raw))
    if (k !== 'properties')
      throw new ArcError(
        ERROR_CODES.PropertyChangeNotAllowed,
        `Changing property '${k}' is not allowed by PATCH.`,
        {
          status: 400,
          target: k,
        },
      );
  const props = propertiesOf(body, false);
  for (const k of Object.keys(props))
    if (!patchable.has(k))
      throw new ArcError(
        ERROR_CODES.PropertyChangeNotAllowed,
        `Changing property 'properties.${k}' is not allowed by PATCH${hint === '' ? '.' : hint}`,
        { status: 400, target: `properties.${k}` },
      );
  return props;
}

export function parseExtensionPatch(body: unknown): ExtensionPatch {
  const props = patchProperties(
    body,
    EXTENSION_PATCHABLE,
    '; only autoUpgradeMinorVersion, releaseTrain, version, configurationSettings and configurationProtectedSettings can be patched.',
  );
  return parseWith(extensionPatchSchema, props, 'properties');
}

// ---- Flux configurations ----

const gitUrl = z
  .string()
  .min(1, 'url is required')
  .max(2048)
  .refine((u) => /^(https?|ssh):\/\/[^\s/]+/.test(u), 'must be an https://, http:// or ssh:// URL');
const httpUrl = z
  .string()
  .min(1, 'url is required')
  .max(2048)
  .refine((u) => /^https?:\/\/[^\s/]+/.test(u), 'must be an https:// or http:// URL');
const nullableString = (max: number) => z.string().max(max).nullish();

const repositoryRefSchema = z
  .object({
    branch: z.string().min(1).max(256).nullish(),
    tag: z.string().min(1).max(256).nullish(),
    semver: z.string().min(1).max(256).nullish(),
    commit: z.string().min(1).max(64).nullish(),
  })
  .refine(
    (r) => [r.branch, r.tag, r.semver, r.commit].filter((v) => v !== undefined && v !== null).length === 1,
    'exactly one of branch, tag, semver or commit is required',
  );

const gitRepositorySchema = z.object({
  url: gitUrl,
  repositoryRef: repositoryRefSchema,
  syncIntervalInSeconds: seconds.nullish(),
  timeoutInSeconds: seconds.nullish(),
  httpsUser: nullableString(256),
  httpsCACert: nullableString(64 * 1024),
  sshKnownHosts: nullableString(64 * 1024),
  localAuthRef: nullableString(253),
  provider: z.enum(['Azure', 'Generic']).nullish(),
});

const bucketSchema = z.object({
  url: httpUrl,
  bucketName: z.string().min(1, 'bucketName is required').max(63),
  insecure: z.boolean().nullish(),
  syncIntervalInSeconds: seconds.nullish(),
  timeoutInSeconds: seconds.nullish(),
  accessKey: nullableString(256),
  localAuthRef: nullableString(253),
});

const azureBlobSchema = z.object({
  url: httpUrl,
  containerName: z.string().min(1, 'containerName is required').max(63),
  syncIntervalInSeconds: seconds.nullish(),
  timeoutInSeconds: seconds.nullish(),
  localAuthRef: nullableString(253),
});

const kustomizationInput = z.object({
  path: z.string().max(1024).nullish(),
  dependsOn: z.array(z.string().min(1).max(253)).max(50).nullish(),
  timeoutInSeconds: seconds.nullish(),
  syncIntervalInSeconds: seconds.nullish(),
  retryIntervalInSeconds: seconds.nullish(),
  prune: z.boolean().nullish(),
  force: z.boolean().nullish(),
});

const FLUX_READ_ONLY = new Set([
  'complianceState',
  'statuses',
  'errorMessage',
  'sourceSyncedCommitId',
  'sourceUpdatedAt',
  'statusUpdatedAt',
  'provisioningState',
  'repositoryPublicKey',
]);

const fluxPutSchema = z.object({
  scope: z.enum(['cluster', 'namespace']).optional(),
  namespace: k8sName.optional(),
  sourceKind: z.enum(['GitRepository', 'Bucket', 'AzureBlob']).optional(),
  suspend: z.boolean().optional(),
  gitRepository: gitRepositorySchema.optional(),
  bucket: bucketSchema.optional(),
  azureBlob: azureBlobSchema.optional(),
  kustomizations: z.record(k8sName, kustomizationInput.nullable()).optional(),
  configurationProtectedSettings: settings.optional(),
});
export type FluxPut = z.infer<typeof fluxPutSchema>;
export type KustomizationInput = z.infer<typeof kustomizationInput>;

function checkFluxSources(p: FluxPut): void {
  const kind = p.sourceKind ?? 'GitRepository';
  const need = { GitRepository: 'gitRepository', Bucket: 'bucket', AzureBlob: 'azureBlob' } as const;
  const field = need[kind];
  if (p[field] === undefined)
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `Invalid value for 'properties.${field}': required when sourceKind is ${kind}`,
      { status: 400, target: `properties.${field}` },
    );
  const ks = p.kustomizations ?? {};
  for (const [name, k] of Object.entries(ks))
    for (const dep of k?.dependsOn ?? [])
      if (!(dep in ks) || ks[dep] === null)
        throw new ArcError(
          ERROR_CODES.InvalidParameter,
          `Invalid value for 'properties.kustomizations.${name}.dependsOn': '${dep}' is not a kustomization of this configuration`,
          { status: 400, target: `properties.kustomizations.${name}.dependsOn` },
        );
}

export function parseFluxPut(body: unknown): FluxPut {
  const props = writable(propertiesOf(body, true), FLUX_READ_ONLY);
  const p = parseWith(fluxPutSchema, props, 'properties');
  checkFluxSources(p);
  return p;
}

const FLUX_PATCHABLE = new Set([
  'sourceKind',
  'suspend',
  'gitRepository',
  'bucket',
  'azureBlob',
  'kustomizations',
  'configurationProtectedSettings',
]);

/** PATCH: given fields replace the stored ones (kustomizations merge by name; null deletes one). */
export function parseFluxPatch(body: unknown): Record<string, unknown> {
  return patchProperties(body, FLUX_PATCHABLE);
}

/** Completes a merged PATCH document into a PUT one, re-validated as a whole. */
export function validateFluxDocument(props: Record<string, unknown>): FluxPut {
  const p = parseWith(fluxPutSchema, writable(props, FLUX_READ_ONLY), 'properties');
  checkFluxSources(p);
  return p;
}

// ---- Service Connector linkers ----

const linkerPutSchema = z.object({
  targetService: z.object({
    type: z.literal('AzureResource'),
    id: z
      .string()
      .max(2048)
      .regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/.+/i, 'must be an ARM resource id'),
  }),
  authInfo: z
    .object({
      authType: z.enum(['secret', 'servicePrincipalSecret', 'workloadIdentity', 'userAssignedIdentity']),
      clientId: z.string().min(1).max(128).nullish(),
    })
    .refine((a) => a.authType !== 'workloadIdentity' || (a.clientId ?? '') !== '', {
      message: 'clientId is required for workloadIdentity',
      path: ['clientId'],
    }),
  scope: k8sName.optional(),
  clientType: z.string().min(1).max(64).optional(),
});
export type LinkerPut = z.infer<typeof linkerPutSchema>;

export function parseLinkerPut(body: unknown): LinkerPut {
  const props = writable(
    propertiesOf(body, true),
    new Set(['provisioningState', 'vNetSolution', 'secretStore']),
  );
  return parseWith(linkerPutSchema, props, 'properties');
}
