/**
 * ARM list paging: `{"value":[...],"nextLink"?}` with at most pageSize items. The `$skipToken` is the
 * sort key of the last item sent (base64url), not an offset, so a page stays right while items are
 * added or removed between requests. Items must come sorted by that key.
 */
import type { FastifyRequest } from 'fastify';

export interface ArmPage {
  value: unknown[];
  nextLink?: string;
}

export interface PageOptions<T> {
  pageSize: number;
  apiVersion: string;
  /** Where nextLink points (see baseUrl). */
  baseUrl: string;
  /** The sort key the items are ordered by. */
  keyOf: (item: T) => string;
  render: (item: T) => unknown;
}

export function pageOf<T>(request: FastifyRequest, items: readonly T[], opts: PageOptions<T>): ArmPage {
  const skip = (request.query as Record<string, string | undefined>).$skipToken;
  const after = skip === undefined ? undefined : Buffer.from(skip, 'base64url').toString();
  const found = after === undefined ? 0 : items.findIndex((item) => opts.keyOf(item) > after);
  const start = found < 0 ? items.length : found;
  const page = items.slice(start, start + opts.pageSize);
  const body: ArmPage = { value: page.map((item) => opts.render(item)) };
  const last = page[page.length - 1];
  if (last && start + opts.pageSize < items.length)
    body.nextLink = `${opts.baseUrl}${request.url.split('?')[0]}?api-version=${opts.apiVersion}&$skipToken=${Buffer.from(opts.keyOf(last)).toString('base64url')}`;
  return body;
}
