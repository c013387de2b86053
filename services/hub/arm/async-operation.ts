/**
 * ARM's asynchronous-operation headers. A write answers at once and names an operation the client
 * polls (Azure-AsyncOperation; a DELETE also Location, the same URL or its own operation-result URL); Retry-After tells pollers how long to wait, on
 * the write and on each status read while the operation runs.
 */
import type { FastifyReply } from 'fastify';

/**
 * A URL as a header value may carry: only visible ASCII. A character beyond it (from a name or a
 * location in the path) would make Node refuse the whole header block after the write is done.
 */
export function headerSafeUrl(url: string): string {
  return url.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
}

export function asyncOperationHeaders(
  reply: FastifyReply,
  operationUrl: string,
  retryAfterSeconds: number,
  opts: { location?: boolean | string } = {},
): void {
  const operation = headerSafeUrl(operationUrl);
  void reply.header('Azure-AsyncOperation', operation).header('Retry-After', String(retryAfterSeconds));
  if (opts.location)
    void reply.header('Location', opts.location === true ? operation : headerSafeUrl(opts.location));
}

/** On an operation status read: only a running operation asks to be polled again. */
export function retryAfterWhileInProgress(
  reply: FastifyReply,
  status: string,
  retryAfterSeconds: number,
): void {
  if (status === 'InProgress') void reply.header('Retry-After', String(retryAfterSeconds));
}
