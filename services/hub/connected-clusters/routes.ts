/**
 * The ARM routes of Microsoft.Kubernetes/connectedClusters: PUT, GET, PATCH, DELETE of one cluster,
 * the lists by resource group and subscription, and the status of a PUT's asynchronous operation.
 * ARM plumbing (api-version, paths, paging, async-operation headers, error bodies) is in arm/.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ArcError,
  BOOTSTRAP_HEADERS,
  ERROR_CODES,
  type ErrorCode,
  refOfKey,
  resourceId,
  definesAgentNotInstalled,
} from '../../../contract/index.js';
import type { BrokerUsers } from '../broker/broker-users.js';
import { asyncOperationHeaders, retryAfterWhileInProgress } from '../arm/async-operation.js';
import { pageOf } from '../arm/paging.js';
import { apiVersionOf, baseUrl, callerOf, shapeFor } from '../arm/request.js';
import { CLUSTER_PATH, KUBERNETES_PROVIDER, refOf, type ClusterParams } from '../arm/resource-path.js';
import type { Started } from '../startup.js';
import type { ConnectedClusters } from './connected-clusters.js';
import type { ClusterRecord } from './projection.js';
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
  /** The resource in the request's api-version: before AgentNotInstalled existed, such a cluster is Connecting. */
  const present = (version: ReturnType<typeof shape>, r: ClusterRecord) => {
    const resource = clusters().render(r);
    if (
      resource.properties.connectivityStatus === 'AgentNotInstalled' &&
      !definesAgentNotInstalled(version.apiVersion)
    )
      resource.properties.connectivityStatus = 'Connecting';
    return version.project(resource);
  };

  app.put<{ Params: ClusterParams }>(CLUSTER_PATH, async (request, reply) => {
    const version = shape(request);
    const apiVersion = version.apiVersion;
    const ref = refOf(request.params);
    const desired = parsePutBody(version.accept(request.body));
    const result = clusters().put(ref, desired, callerOf(request));
    const r = result.record;
    asyncOperationHeaders(
      reply,
      operationUrls(request, ref.subscriptionId, r, apiVersion).status,
      opts.retryAfterSeconds,
    );
    if (result.bootstrapToken !== undefined) {
      void reply.header(BOOTSTRAP_HEADERS.token, result.bootstrapToken);
      const broker = opts.started.get().broker;
      if (broker)
        void reply.header(
          BOOTSTRAP_HEADERS.jwt,
          await broker.bootstrapJwt(r.key, r.desired.agentPublicKeyCertificate),
        );
    }
    return reply.status(result.created ? 201 : 200).send(present(version, r));
  });

  app.get<{ Params: ClusterParams }>(CLUSTER_PATH, async (request) => {
    return present(shape(request), clusters().require(refOf(request.params)));
  });

  app.patch<{ Params: ClusterParams }>(CLUSTER_PATH, async (request) => {
    const version = shape(request);
    const ref = refOf(request.params);
    const all = clusters();
    all.require(ref);
    return version.project(
      all.render(all.patch(ref, parsePatchBody(version.accept(request.body)), callerOf(request))),
    );
  });

  // 202 with Location (operationResults, which the SDKs follow: final-state-via location) and
  // Azure-AsyncOperation; 204 when there is nothing to delete.
  app.delete<{ Params: ClusterParams }>(CLUSTER_PATH, async (request, reply) => {
    const apiVersion = apiVersionOf(request);
    const ref = refOf(request.params);
    const record = clusters().beginDelete(ref);
    if (!record) return reply.status(204).send();
    const urls = operationUrls(request, ref.subscriptionId, record, apiVersion);
    asyncOperationHeaders(reply, urls.status, opts.retryAfterSeconds, { location: urls.result });
    return reply.status(202).send();
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
        render: (r) => present(version, r),
      });
    };
  app.get(
    `/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/${KUBERNETES_PROVIDER}/connectedClusters`,
    list('resourceGroup'),
  );
  app.get(`/subscriptions/:subscriptionId/${KUBERNETES_PROVIDER}/connectedClusters`, list('subscription'));

  type OperationParams = { subscriptionId: string; location: string; operationId: string };
  const operationOf = (request: FastifyRequest<{ Params: OperationParams }>) => {
    apiVersionOf(request);
    const found = clusters().operation(request.params.operationId);
    if (!found)
      throw new ArcError(
        ERROR_CODES.ResourceNotFound,
        `The operation '${request.params.operationId}' was not found.`,
        { status: 404 },
      );
    return found;
  };

  app.get<{ Params: OperationParams }>(
    `/subscriptions/:subscriptionId/${KUBERNETES_PROVIDER}/locations/:location/operationStatuses/:operationId`,
    async (request, reply) => {
      const { view, key } = operationOf(request);
      retryAfterWhileInProgress(reply, view.status, opts.retryAfterSeconds);
      return {
        id: request.url.split('?')[0],
        name: request.params.operationId,
        ...resourceIdOf(key),
        status: view.status,
        ...(view.startTime === undefined ? {} : { startTime: view.startTime }),
        ...(view.endTime === undefined ? {} : { endTime: view.endTime }),
        ...(view.error === undefined ? {} : { error: view.error }),
      };
    },
  );

  // The Location of a DELETE: 202 while it runs, then 204 (gone) or the operation's error.
  app.get<{ Params: OperationParams }>(
    `/subscriptions/:subscriptionId/${KUBERNETES_PROVIDER}/locations/:location/operationResults/:operationId`,
    async (request, reply) => {
      const { view, record } = operationOf(request);
      if (view.status === 'InProgress') {
        void reply.header('Location', `${baseUrl(opts.publicUrl, request)}${request.url}`);
        void reply.header('Retry-After', String(opts.retryAfterSeconds));
        return reply.status(202).send();
      }
      if (view.status === 'Succeeded')
        return view.kind === 'delete' || !record
          ? reply.status(204).send()
          : reply.status(200).send(present(shape(request), record));
      throw new ArcError(
        (view.error?.code as ErrorCode | undefined) ??
          (view.status === 'Canceled' ? ERROR_CODES.OperationCanceled : ERROR_CODES.InternalServerError),
        view.error?.message ?? `The operation '${request.params.operationId}' was ${view.status}.`,
        { status: view.status === 'Canceled' ? 409 : 400 },
      );
    },
  );

  function resourceIdOf(key: string): { resourceId?: string } {
    const ref = refOfKey(key);
    return ref ? { resourceId: resourceId(ref) } : {};
  }

  /** Azure-AsyncOperation (operationStatuses) and Location (operationResults) of a record's operation. */
  function operationUrls(
    request: FastifyRequest,
    subscriptionId: string,
    record: ClusterRecord,
    apiVersion: string,
  ): { status: string; result: string } {
    const base = `${baseUrl(opts.publicUrl, request)}/subscriptions/${subscriptionId}/${KUBERNETES_PROVIDER}/locations/${record.desired.location}`;
    const tail = `${record.operation.id}?api-version=${apiVersion}`;
    return { status: `${base}/operationStatuses/${tail}`, result: `${base}/operationResults/${tail}` };
  }
}
