/**
 * Validation of the ARM request bodies of `Microsoft.KubernetesConfiguration/fluxConfigurations` (PUT,
 * PATCH, and a merged PATCH document re-checked whole), one file per resource so each resource's rules
 * read on their own; shared helpers are in validation-shared.ts.
 */
import { z } from 'zod';
import { ArcError, ERROR_CODES } from '../../../contract/index.js';
import {
  k8sName,
  parseWith,
  patchProperties,
  propertiesOf,
  seconds,
  settings,
  writable,
} from './validation-shared.js';

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
