/**
 * The scope every ARM path names, checked before any route sees it, as ARM's front door does: the
 * subscription must be a GUID and the resource group name must follow ARM's rule. Without this, a
 * subscription `*` or a group `rg.*>` reached the store (escaped, but real ARM refuses them).
 */
import type { FastifyInstance } from 'fastify';
import { ArcError, ERROR_CODES } from '../../../contract/index.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCOPE = /^\/subscriptions\/([^/?]*)(?:\/resourcegroups\/([^/?]*))?/i;
const GROUP_NAME_CHAR = /[-\p{L}\p{N}_().]/u;
const MAX_GROUP_NAME = 90;

export function checkSubscriptionId(subscriptionId: string): void {
  if (!GUID.test(subscriptionId))
    throw new ArcError(
      ERROR_CODES.InvalidSubscriptionId,
      `The provided subscription identifier '${subscriptionId}' is malformed or invalid.`,
      { status: 400 },
    );
}

/** ARM's rule: 1-90 characters, letters, digits, '_', '(', ')', '-', '.', not ending in '.'. */
export function checkResourceGroupName(name: string): void {
  const invalid = [...new Set([...name].filter((c) => !GROUP_NAME_CHAR.test(c)))].join('');
  const problem =
    invalid !== ''
      ? `has these invalid characters: '${invalid}'. The name can be only a letter, digit, '-', '.', '(', ')' or '_'.`
      : name.length === 0 || name.length > MAX_GROUP_NAME
        ? `must be 1 to ${MAX_GROUP_NAME} characters long.`
        : name.endsWith('.')
          ? 'cannot end with a period.'
          : undefined;
  if (problem)
    throw new ArcError(
      ERROR_CODES.InvalidResourceGroup,
      `The provided resource group name '${name}' ${problem}`,
      { status: 400, target: 'resourceGroupName' },
    );
}

/** A path segment decoded; undefined when malformed (the router answers that itself: arm/app.ts). */
export function decodedSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Checks the subscription and resource group of every `/subscriptions/...` request. */
export function registerArmScope(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    const m = SCOPE.exec(request.url);
    if (!m) return;
    const subscriptionId = decodedSegment(m[1] ?? '');
    if (subscriptionId !== undefined) checkSubscriptionId(subscriptionId);
    const group = m[2] === undefined ? undefined : decodedSegment(m[2]);
    if (group !== undefined) checkResourceGroupName(group);
  });
}
