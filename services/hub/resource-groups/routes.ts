/**
 * The ARM routes of `Microsoft.Resources/resourceGroups` (resource-groups.ts), and the guard that
 * answers every call under a group that does not exist with 404 ResourceGroupNotFound, as ARM does
 * before any resource provider sees it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ArcError, AZURE_LOCATIONS, ERROR_CODES, normalizeLocation } from '../../../contract/index.js';
import { asyncOperationHeaders } from '../arm/async-operation.js';
import { decodedSegment } from '../arm/scope.js';
import { pageOf } from '../arm/paging.js';
import { baseUrl, requestedApiVersion } from '../arm/request.js';
import type { Started } from '../startup.js';
import { groupNotFound, renderGroup, type ResourceGroups } from './resource-groups.js';

export interface ResourceGroupRoutesOptions {
  started: Started<{ resourceGroups: ResourceGroups }>;
  pageSize: number;
  retryAfterSeconds: number;
  publicUrl: string | undefined;
}

const GROUP = '/subscriptions/:subscriptionId/resourcegroups/:resourceGroup';
/** A call below a resource group: `/subscriptions/{sub}/resourceGroups/{rg}/providers/...`. */
const BELOW_GROUP = /^\/subscriptions\/([^/?]+)\/resourcegroups\/([^/?]+)\/providers\//i;

type GroupParams = { subscriptionId: string; resourceGroup: string };

const tagsSchema = z.record(z.string().max(256), z.string().max(256));
const putSchema = z.object({
  location: z.string().min(1).max(64),
  tags: tagsSchema.optional(),
  managedBy: z.string().max(1024).optional(),
  properties: z.object({}).passthrough().optional(),
});
const patchSchema = z.object({ tags: tagsSchema.optional() }).passthrough();

/**
 * Microsoft.Resources has many api-versions and every Azure SDK generation pins another: any
 * well-formed one is taken (the resource's shape has not changed across them).
 */
function resourcesApiVersion(request: FastifyRequest): string {
  const v = requestedApiVersion(request);
  if (!/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(v))
    throw new ArcError(ERROR_CODES.InvalidApiVersionParameter, `The api-version '${v}' is invalid.`, {
      status: 400,
      target: 'api-version',
    });
  return v;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ArcError(ERROR_CODES.InvalidRequestContent, 'The request body must be a JSON object.', {
      status: 400,
    });
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const target = issue?.path.join('.') ?? '';
  if (target === 'location')
    throw new ArcError(
      ERROR_CODES.LocationRequired,
      'The location property is required for this definition.',
      {
        status: 400,
        target,
      },
    );
  throw new ArcError(
    ERROR_CODES.InvalidRequestContent,
    `The request content was invalid: ${target}: ${issue?.message ?? ''}`,
    {
      status: 400,
      target,
    },
  );
}

/** ARM's name of the region (`East US` is `eastus`), refused when Azure has no such region. */
function availableLocation(location: string): string {
  const name = normalizeLocation(location);
  if (!AZURE_LOCATIONS.includes(name))
    throw new ArcError(
      ERROR_CODES.LocationNotAvailableForResourceGroup,
      `The provided location '${location}' is not available for resource group. List of available regions is '${AZURE_LOCATIONS.join(',')}'.`,
      { status: 400, target: 'location' },
    );
  return name;
}

export function registerResourceGroupRoutes(app: FastifyInstance, opts: ResourceGroupRoutesOptions): void {
  const groups = (): ResourceGroups => opts.started.get().resourceGroups;

  // Before every route below a group (connectedClusters and their children alike).
  app.addHook('preHandler', async (request) => {
    const m = BELOW_GROUP.exec(request.url);
    const started = opts.started.peek();
    if (!m || !started) return;
    const [subscription = '', group = ''] = [m[1], m[2]];
    const name = decodedSegment(group) ?? group;
    if (!started.resourceGroups.get(decodedSegment(subscription) ?? subscription, name))
      throw groupNotFound(name);
  });

  app.put<{ Params: GroupParams }>(GROUP, async (request, reply) => {
    resourcesApiVersion(request);
    const { subscriptionId, resourceGroup } = request.params;
    const input = parseBody(putSchema, request.body);
    input.location = availableLocation(input.location);
    const { record, created } = groups().put(subscriptionId, resourceGroup, input);
    return reply.status(created ? 201 : 200).send(renderGroup(record));
  });

  // `az group exists`, and the SDKs' checkExistence: 204 or 404, no body. Declared before the GET,
  // whose automatic HEAD would otherwise answer 200 with the body's headers.
  app.head<{ Params: GroupParams }>(GROUP, async (request, reply) => {
    resourcesApiVersion(request);
    const found = groups().get(request.params.subscriptionId, request.params.resourceGroup);
    return reply.status(found ? 204 : 404).send();
  });

  app.get<{ Params: GroupParams }>(GROUP, async (request) => {
    resourcesApiVersion(request);
    return renderGroup(groups().require(request.params.subscriptionId, request.params.resourceGroup));
  });

  app.patch<{ Params: GroupParams }>(GROUP, async (request) => {
    resourcesApiVersion(request);
    const { subscriptionId, resourceGroup } = request.params;
    const patch = parseBody(patchSchema, request.body);
    const group = groups().require(subscriptionId, resourceGroup);
    return renderGroup(
      patch.tags === undefined ? group : groups().patchTags(subscriptionId, resourceGroup, patch.tags),
    );
  });

  app.delete<{ Params: GroupParams }>(GROUP, async (request, reply) => {
    const apiVersion = resourcesApiVersion(request);
    const { subscriptionId, resourceGroup } = request.params;
    const group = groups().beginDelete(subscriptionId, resourceGroup);
    if (!group) return reply.status(204).send();
    const url = `${baseUrl(opts.publicUrl, request)}/subscriptions/${subscriptionId}/operationresults/${group.deleteOperation ?? ''}.${Buffer.from(group.key).toString('base64url')}?api-version=${apiVersion}`;
    asyncOperationHeaders(reply, url, opts.retryAfterSeconds, { location: true });
    return reply.status(202).send();
  });

  // The DELETE's Location (and Azure-AsyncOperation): 202 while the group is still being deleted.
  app.get<{ Params: { subscriptionId: string; operationId: string } }>(
    '/subscriptions/:subscriptionId/operationresults/:operationId',
    async (request, reply) => {
      const apiVersion = resourcesApiVersion(request);
      const [id = '', encodedKey = ''] = request.params.operationId.split('.');
      const key = Buffer.from(encodedKey, 'base64url').toString();
      const group = groups().byKey(key);
      if (group?.provisioningState === 'Deleting' && group.deleteOperation === id) {
        asyncOperationHeaders(
          reply,
          `${baseUrl(opts.publicUrl, request)}${request.url.split('?')[0]}?api-version=${apiVersion}`,
          opts.retryAfterSeconds,
          { location: true },
        );
        return reply.status(202).send();
      }
      return reply.status(200).send();
    },
  );

  app.get<{ Params: { subscriptionId: string } }>(
    '/subscriptions/:subscriptionId/resourcegroups',
    async (request) => {
      const apiVersion = resourcesApiVersion(request);
      return pageOf(request, groups().list(request.params.subscriptionId), {
        pageSize: opts.pageSize,
        apiVersion,
        baseUrl: baseUrl(opts.publicUrl, request),
        keyOf: (g) => g.key,
        render: renderGroup,
      });
    },
  );
}
