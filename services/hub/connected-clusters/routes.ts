/**
 * The ARM routes of Microsoft.Kubernetes/connectedClusters: PUT, GET, PATCH, DELETE of one cluster,
 * the lists by resource group and subscription, and the status of a PUT's asynchronous operation.
 * ARM plumbing (api-version, paths, paging, async-operation headers, error bodies) is in arm/.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ArcError, BOOTSTRAP_HEADERS, ERROR_CODES } from '../../../contract/index.js';
import type { BrokerUsers } from '../broker/broker-users.js';
import { asyncOperationHeaders, retryAfterWhileInProgress } from '../arm/async-operation.js';
import { pageOf } from '../arm/paging.js';
import { apiVersionOf, baseUrl, callerOf, shapeFor } from '../arm/request.js';
import { CLUSTER_PATH, KUBERNETES_PROVIDER, refOf, type ClusterParams } from '../arm/resource-path.js';
import type { Started } from '../startup.js';
import type { ConnectedClusters } from './connected-clusters.js';
import { renderResource } from './projection.js';
import { parsePatchBody, parsePutBody } from './validation.js';

export interface ConnectedClusterRoutesOptions {
  started: Started<{ clusters: ConnectedClusters; broker?: Pick<BrokerUsers, 'bootstrapJwt'> | undefined }>;
  pageSize: number;
  /** Seconds suggested to LRO pollers. */
  retryAfterSeconds: number;
  /** Base URL for Azure-AsyncOperation and nextLink; taken from the request's Host when unset. */
  publicUrl: string | undefined;
}

export function registerConnectedClusterRoutes(
  app: FastifyInstance,
  opts: ConnectedClusterRoutesOptions,
): void {
  const clusters = (): ConnectedClusters => opts.started.get().clusters;
  const shape = (request: FastifyRequest) => shapeFor(request, 'Microsoft.Kubernetes', 'connectedClusters');

  app.put<{ Params: ClusterParams }>(CLUSTER_PATH, async (request, reply) => {
    const version = shape(request);
    const apiVersion = version.apiVersion;
    const ref = refOf(request.params);
    const desired = parsePutBody(version.accept(request.body));
    const result = clusters().put(ref, desired, callerOf(request));
    const r = result.record;
    const opUrl = `${baseUrl(opts.publicUrl, request)}/subscriptions/${ref.subscriptionId}/${KUBERNETES_PROVIDER}/locations/${r.desired.location}/operationStatuses/${r.operation.id}?api-version=${apiVersion}`;
    asyncOperationHeaders(reply, opUrl, opts.retryAfterSeconds);
    if (result.bootstrapToken !== undefined) {
      void reply.header(BOOTSTRAP_HEADERS.token, result.bootstrapToken);
      const broker = opts.started.get().broker;
      if (broker)
        void reply.header(
          BOOTSTRAP_HEADERS.jwt,
          await broker.bootstrapJwt(r.key, r.desired.agentPublicKeyCertificate),
        );
    }
    return reply.status(result.created ? 201 : 200).send(version.project(renderResource(r)));
  });

  app.get<{ Params: ClusterParams }>(CLUSTER_PATH, async (request) => {
    return shape(request).project(renderResource(clusters().require(refOf(request.params))));
  });

  app.patch<{ Params: ClusterParams }>(CLUSTER_PATH, async (request) => {
    const version = shape(request);
    const ref = refOf(request.params);
    const all = clusters();
    all.require(ref);
    return version.project(
      renderResource(all.patch(ref, parsePatchBody(version.accept(request.body)), callerOf(request))),
    );
  });

  app.delete<{ Params: ClusterParams }>(CLUSTER_PATH, async (request, reply) => {
    apiVersionOf(request);
    const deleted = await clusters().delete(refOf(request.params));
    return reply.status(deleted ? 200 : 204).send();
  });

  const list = (scope: 'resourceGroup' | 'subscription') =>
    async function (request: FastifyRequest<{ Params: { subscriptionId: string; resourceGroup?: string } }>) {
      const version = shape(request);
      const all = clusters().list(
        request.params.subscriptionId,
        scope === 'resourceGroup' ? request.params.resourceGroup : undefined,
      );
      return pageOf(request, all, {
        pageSize: opts.pageSize,
        apiVersion: version.apiVersion,
        baseUrl: baseUrl(opts.publicUrl, request),
        keyOf: (r) => r.key,
        render: (r) => version.project(renderResource(r)),
      });
    };
  app.get(
    `/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/${KUBERNETES_PROVIDER}/connectedClusters`,
    list('resourceGroup'),
  );
  app.get(`/subscriptions/:subscriptionId/${KUBERNETES_PROVIDER}/connectedClusters`, list('subscription'));

  app.get<{ Params: { subscriptionId: string; location: string; operationId: string } }>(
    `/subscriptions/:subscriptionId/${KUBERNETES_PROVIDER}/locations/:location/operationStatuses/:operationId`,
    async (request, reply) => {
      apiVersionOf(request);
      const record = clusters().operation(request.params.operationId);
      if (!record)
        throw new ArcError(
          ERROR_CODES.ResourceNotFound,
          `The operation '${request.params.operationId}' was not found.`,
          { status: 404 },
        );
      const op = record.operation;
      retryAfterWhileInProgress(reply, op.status, opts.retryAfterSeconds);
      return {
        id: request.url.split('?')[0],
        name: op.id,
        resourceId: renderResource(record).id,
        status: op.status,
        startTime: op.startTime,
        ...(op.endTime === undefined ? {} : { endTime: op.endTime }),
      };
    },
  );
}
