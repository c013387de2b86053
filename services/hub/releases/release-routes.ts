/**
 * arcfleet's own API over the agent releases (not ARM: in Azure, Microsoft ships them): the list with
 * the support window and the fleet's clusters by version (the rollout), and publishing one while the
 * fleet runs (`arcfleet release publish`, the scenario step `publish`).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ArcError, ERROR_CODES } from '../../../contract/index.js';
import type { Started } from '../startup.js';
import type { ConnectedClusters } from '../connected-clusters/connected-clusters.js';
import { byVersionDescending, type AgentReleases } from './agent-releases.js';
import type { ExtensionReleases } from './extension-releases.js';

const extensionPublishSchema = z.strictObject({
  extensionType: z.string().min(1).max(128),
  releaseTrain: z.string().min(1).max(64).optional(),
  version: z.string().max(64).optional(),
  bump: z.enum(['minor', 'patch']).optional(),
});

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const target = issue?.path.map(String).join('.') || '(body)';
    throw new ArcError(ERROR_CODES.InvalidParameter, `Invalid value for '${target}': ${issue?.message}`, {
      status: 400,
      target,
    });
  }
  const p = parsed.data as { version?: string; bump?: string };
  if (p.version !== undefined && p.bump !== undefined)
    throw new ArcError(ERROR_CODES.InvalidParameter, "Give either 'version' or 'bump', not both.", {
      status: 400,
      target: 'bump',
    });
  return parsed.data;
}

const publishSchema = z.strictObject({
  version: z.string().max(64).optional(),
  bump: z.enum(['minor', 'patch']).optional(),
});

export function registerReleaseRoutes(
  app: FastifyInstance,
  started: Started<{
    clusters: ConnectedClusters;
    releases: AgentReleases;
    extensionReleases: ExtensionReleases;
  }>,
): void {
  app.get('/arcfleet/v1/agentReleases', async () => {
    const { clusters, releases } = started.get();
    const support = releases.support();
    const rollout = releases.rollout(clusters.all());
    return {
      value: releases.views(),
      latest: support?.latest ?? null,
      oldestSupportedMinor: support?.oldestSupportedMinor ?? null,
      clustersByVersion: Object.fromEntries(
        [...rollout.byVersion].sort(([a], [b]) => byVersionDescending(a, b)),
      ),
      outOfSupport: rollout.outOfSupport,
    };
  });

  app.post('/arcfleet/v1/agentReleases', async (request, reply) => {
    const view = started.get().releases.publish(parseBody(publishSchema, request.body), 'arcfleet');
    return reply.status(201).send(view);
  });

  app.get('/arcfleet/v1/extensionReleases', async () => ({
    value: started
      .get()
      .extensionReleases.catalog()
      .map((e) => ({ extensionType: e.extensionType, releaseTrains: e.releaseTrains })),
  }));

  app.post('/arcfleet/v1/extensionReleases', async (request, reply) => {
    const body = parseBody(extensionPublishSchema, request.body);
    return reply.status(201).send(started.get().extensionReleases.publish(body, 'arcfleet'));
  });
}
