/**
 * Validation of the ARM request bodies of `Microsoft.KubernetesConfiguration/extensions` (PUT and PATCH),
 * one file per resource so each resource's rules read on their own; shared helpers are in
 * validation-shared.ts.
 */
import { z } from 'zod';
import {
  k8sName,
  nullableSettings,
  parseWith,
  patchProperties,
  propertiesOf,
  settings,
  writable,
} from './validation-shared.js';

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

export function parseExtensionPatch(body: unknown): ExtensionPatch {
  const props = patchProperties(
    body,
    EXTENSION_PATCHABLE,
    '; only autoUpgradeMinorVersion, releaseTrain, version, configurationSettings and configurationProtectedSettings can be patched.',
  );
  return parseWith(extensionPatchSchema, props, 'properties');
}
