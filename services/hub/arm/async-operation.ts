/**
 * ARM's asynchronous-operation headers. A write answers at once and names an operation the client
 * polls (Azure-AsyncOperation; a DELETE also Location, the same URL or its own operation-result URL); Retry-After tells pollers how long to wait, on
 * the write and on each status read while the operation runs.
 */
import type { FastifyReply } from 'fastify';

export function asyncOperationHeaders(
  reply: FastifyReply,
  operationUrl: string,
  retryAfterSeconds: number,
  opts: { location?: boolean | string } = {},
): void {
  void reply.header('Azure-AsyncOperation', operationUrl).header('Retry-After', String(retryAfterSeconds));
  if (opts.location) void reply.header('Location', opts.location === true ? operationUrl : opts.location);
}

/** On an operation status read: only a running operation asks to be polled again. */
export function retryAfterWhileInProgress(
  reply: FastifyReply,
  status: string,
  retryAfterSeconds: number,
): void {
  if (status === 'InProgress') void reply.header('Retry-After', String(retryAfterSeconds));
}
