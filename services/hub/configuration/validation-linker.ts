/**
 * Validation of the ARM request bodies of `Microsoft.ServiceLinker/linkers` (PUT), one file per resource
 * so each resource's rules read on their own; shared helpers are in validation-shared.ts.
 */
import { z } from 'zod';
import { k8sName, parseWith, propertiesOf, writable } from './validation-shared.js';

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
