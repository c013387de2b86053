/**
 * guard, the authorizer webhook of Azure RBAC: for each cluster of its shard that has Azure RBAC on, it
 * holds the cluster's role assignments (pulled from the hub over its own outbound link, on every change)
 * and answers SubjectAccessReviews for that cluster's requests at
 * `POST /clusters/<name>/apis/authorization.k8s.io/v1/subjectaccessreviews`, as guard answers the
 * apiserver: `status.allowed`, and for a denial `status.denied` with guard's reason. kube-aad-proxy asks
 * it for every request that arrives through cluster connect.
 *
 * Discovery and other non-resource requests are not guard's to refuse (Kubernetes RBAC lets every
 * authenticated user discover the API): allowed. A cluster whose assignments guard has not received
 * (its instance not started or not yet synced) is refused with an evaluation error, never allowed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  OBJECT_ID_EXTRA,
  authorize,
  subjectAccessReviewSchema,
  type RbacDecision,
  type RoleGrant,
  type SubjectAccessReview,
} from '../../contract/index.js';
import { clusterPathOf, readBody } from '../../agent-runtime/cluster-listener.js';

export const AGENT = 'guard' as const;

const REVIEW_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
const MAX_BODY_BYTES = 64 * 1024;

export type ReviewOutcome = 'allowed' | 'denied' | 'no-policy' | 'bad-request';

export interface ReviewStatus {
  readonly allowed: boolean;
  readonly denied?: boolean;
  readonly reason?: string;
  readonly evaluationError?: string;
}

/** The decision on one review against a cluster's assignments (undefined: none received). */
export function reviewStatus(
  review: SubjectAccessReview,
  grants: readonly RoleGrant[] | undefined,
): {
  status: ReviewStatus;
  outcome: ReviewOutcome;
} {
  const attrs = review.spec.resourceAttributes;
  if (!attrs)
    return { status: { allowed: true, reason: 'non-resource requests are not guarded' }, outcome: 'allowed' };
  if (grants === undefined)
    return {
      status: {
        allowed: false,
        evaluationError: 'guard has not received the role assignments of this cluster yet',
      },
      outcome: 'no-policy',
    };
  const objectId = review.spec.extra?.[OBJECT_ID_EXTRA]?.[0] ?? review.spec.uid ?? '';
  const decision: RbacDecision = authorize(grants, { objectId, groups: review.spec.groups }, attrs);
  return decision.allowed
    ? { status: { allowed: true, reason: decision.reason }, outcome: 'allowed' }
    : { status: { allowed: false, denied: true, reason: decision.reason }, outcome: 'denied' };
}

export class Guard {
  private readonly policies = new Map<string, readonly RoleGrant[]>();

  constructor(private readonly onOutcome: (outcome: ReviewOutcome) => void = () => undefined) {}

  /** The cluster's role assignments, as last pulled. */
  set(cluster: string, grants: readonly RoleGrant[]): void {
    this.policies.set(cluster, grants);
  }

  forget(cluster: string): void {
    this.policies.delete(cluster);
  }

  /** The HTTP handler: never throws, always answers. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    void this.review(req, res).catch(() =>
      this.answer(res, 500, { message: 'review failed' }, 'bad-request'),
    );
  }

  private async review(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = clusterPathOf(req.url ?? '');
    if (!target || target.rest !== REVIEW_PATH || req.method !== 'POST') {
      this.answer(res, 404, { message: `guard answers POST /clusters/<name>${REVIEW_PATH}` }, 'bad-request');
      return;
    }
    const body = await readJson(req);
    const parsed = subjectAccessReviewSchema.safeParse(body);
    if (!parsed.success) {
      this.answer(res, 400, { message: 'not a SubjectAccessReview' }, 'bad-request');
      return;
    }
    const { status, outcome } = reviewStatus(parsed.data, this.policies.get(target.name));
    this.answer(
      res,
      200,
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status },
      outcome,
    );
  }

  private answer(res: ServerResponse, code: number, body: object, outcome: ReviewOutcome): void {
    this.onOutcome(outcome);
    if (res.headersSent) return;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === 'too-large') return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
