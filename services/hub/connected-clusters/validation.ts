/**
 * Validation of ARM request bodies for connectedClusters. Errors name the offending field in
 * `target` and in the message, as ARM does.
 */
import { z } from 'zod';
import {
  ArcError,
  CONNECTED_CLUSTER_LOCATIONS,
  ERROR_CODES,
  normalizeLocation,
} from '../../../contract/index.js';
import { isValidPublicKey } from '../../../platform/identity.js';
import type { DesiredResource } from './projection.js';
import { writableAgentProfile } from './agent-profile.js';

const tags = z.record(z.string().max(512), z.string().max(256)).refine((t) => Object.keys(t).length <= 50, {
  message: 'at most 50 tags',
});

const passThroughObject = z.record(z.string(), z.unknown());

const putSchema = z.object({
  location: z.string().min(1, 'location is required'),
  tags: tags.optional(),
  kind: z.string().optional(),
  identity: z.object({ type: z.enum(['None', 'SystemAssigned']) }).optional(),
  properties: z.object({
    agentPublicKeyCertificate: z
      .string()
      .min(1, 'agentPublicKeyCertificate is required')
      .refine(isValidPublicKey, 'agentPublicKeyCertificate must be a base64 SPKI public key (Ed25519)'),
    distribution: z.string().max(64).optional(),
    distributionVersion: z.string().max(64).optional(),
    infrastructure: z.string().max(64).optional(),
    privateLinkState: z.enum(['Enabled', 'Disabled']).optional(),
    azureHybridBenefit: z.enum(['True', 'False', 'NotApplicable']).optional(),
    privateLinkScopeResourceId: z.string().optional(),
    arcAgentProfile: passThroughObject.optional(),
    aadProfile: passThroughObject.optional(),
    securityProfile: passThroughObject.optional(),
    oidcIssuerProfile: passThroughObject.optional(),
    gateway: passThroughObject.optional(),
  }),
});

/** Read-only properties ARM ignores on PUT (clients often send back a GET body). */
const READ_ONLY = new Set([
  'kubernetesVersion',
  'totalNodeCount',
  'totalCoreCount',
  'agentVersion',
  'offering',
  'managedIdentityCertificateExpirationTime',
  'lastConnectivityTime',
  'connectivityStatus',
  'provisioningState',
  'miscellaneousProperties',
]);

const PATCHABLE_PROPERTIES = new Set([
  'distribution',
  'distributionVersion',
  'azureHybridBenefit',
  'gateway',
]);

const patchSchema = z.object({
  tags: tags.optional(),
  properties: z
    .object({
      distribution: z.string().max(64).optional(),
      distributionVersion: z.string().max(64).optional(),
      azureHybridBenefit: z.enum(['True', 'False', 'NotApplicable']).optional(),
      gateway: passThroughObject.optional(),
    })
    .optional(),
});

function fail(error: z.ZodError, prefix = ''): never {
  const issue = error.issues[0];
  const target = prefix + (issue?.path.map(String).join('.') ?? '');
  throw new ArcError(
    ERROR_CODES.InvalidParameter,
    `Invalid value for '${target || '(body)'}': ${issue?.message}`,
    {
      status: 400,
      target: target || undefined,
    },
  );
}

const CONNECTED_CLUSTERS = 'Microsoft.Kubernetes/connectedClusters';

/** ARM's name of the region (`East US` is `eastus`), refused where connectedClusters are not offered. */
function availableLocation(location: string): string {
  const name = normalizeLocation(location);
  if (!CONNECTED_CLUSTER_LOCATIONS.includes(name))
    throw new ArcError(
      ERROR_CODES.LocationNotAvailableForResourceType,
      `The provided location '${location}' is not available for resource type '${CONNECTED_CLUSTERS}'. List of available regions for the resource type is '${CONNECTED_CLUSTER_LOCATIONS.join(',')}'.`,
      { status: 400, target: 'location' },
    );
  return name;
}

function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ArcError(ERROR_CODES.InvalidRequestContent, 'The request content must be a JSON object.', {
      status: 400,
    });
  return body as Record<string, unknown>;
}

export function parsePutBody(body: unknown): DesiredResource {
  const raw = requireObject(body);
  const props = raw.properties;
  if (typeof props === 'object' && props !== null && !Array.isArray(props)) {
    const cleaned: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(props)) if (!READ_ONLY.has(k)) cleaned[k] = v;
    raw.properties = cleaned;
  }
  const parsed = putSchema.safeParse(raw);
  if (!parsed.success) fail(parsed.error);
  const p = parsed.data.properties;
  const extra: Record<string, unknown> = {};
  for (const k of [
    'arcAgentProfile',
    'aadProfile',
    'securityProfile',
    'oidcIssuerProfile',
    'gateway',
  ] as const)
    if (p[k] !== undefined) extra[k] = p[k];
  if (p.arcAgentProfile !== undefined) extra['arcAgentProfile'] = writableAgentProfile(p.arcAgentProfile);
  return {
    location: availableLocation(parsed.data.location),
    tags: parsed.data.tags ?? {},
    kind: parsed.data.kind,
    identityType: parsed.data.identity?.type ?? 'SystemAssigned',
    agentPublicKeyCertificate: p.agentPublicKeyCertificate,
    distribution: p.distribution,
    distributionVersion: p.distributionVersion,
    infrastructure: p.infrastructure,
    privateLinkState: p.privateLinkState,
    azureHybridBenefit: p.azureHybridBenefit,
    extra,
  };
}

/**
 * Largest desired state (what the PUT and PATCH bodies set) of one connected cluster. Its record is one
 * JetStream KV value (one NATS message, max_payload 1 MiB) that also holds what the agents sync and the
 * async operation; half of it is left for those. A change that would pass it is refused with 413 before
 * anything is stored, instead of being answered and never written.
 */
export const MAX_DESIRED_BYTES = 512 * 1024;

/** Refuses a desired state that the cluster's record could not hold. */
export function checkDesiredSize(name: string, desired: DesiredResource): void {
  const bytes = Buffer.byteLength(JSON.stringify(desired));
  if (bytes > MAX_DESIRED_BYTES)
    throw new ArcError(
      ERROR_CODES.RequestEntityTooLarge,
      `The properties and tags of connected cluster '${name}' would take ${bytes} bytes, more than the ${MAX_DESIRED_BYTES} bytes one resource can hold; nothing was changed.`,
      { status: 413 },
    );
}

export interface PatchChange {
  tags?: Record<string, string> | undefined;
  distribution?: string | undefined;
  distributionVersion?: string | undefined;
  azureHybridBenefit?: 'True' | 'False' | 'NotApplicable' | undefined;
  gateway?: Record<string, unknown> | undefined;
}

export function parsePatchBody(body: unknown): PatchChange {
  const raw = requireObject(body);
  for (const k of Object.keys(raw))
    if (k !== 'tags' && k !== 'properties')
      throw new ArcError(
        ERROR_CODES.PropertyChangeNotAllowed,
        `Changing property '${k}' is not allowed by PATCH.`,
        {
          status: 400,
          target: k,
        },
      );
  const props = raw.properties;
  if (typeof props === 'object' && props !== null && !Array.isArray(props))
    for (const k of Object.keys(props))
      if (!PATCHABLE_PROPERTIES.has(k))
        throw new ArcError(
          ERROR_CODES.PropertyChangeNotAllowed,
          `Changing property 'properties.${k}' is not allowed by PATCH; only tags, distribution, distributionVersion, azureHybridBenefit and gateway can be patched.`,
          { status: 400, target: `properties.${k}` },
        );
  const parsed = patchSchema.safeParse(raw);
  if (!parsed.success) fail(parsed.error);
  return { tags: parsed.data.tags, ...parsed.data.properties };
}
