/**
 * The errors an HTTP framework or Node's parser would otherwise answer with their own bodies: a URL
 * the router refuses (malformed escape, a segment longer than the router takes) and a request Node
 * cannot parse (headers or URL over 16 KiB, garbage, a timeout). Each server passes the body its
 * clients expect (ARM's `{"error":{...}}`, a Kubernetes Status), so no client ever sees another shape.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyServerOptions } from 'fastify';

/** The service's error body for a status and message. */
export type ErrorBody = (status: number, message: string) => unknown;

/** Node's parser errors, by status: a header block (or URL) too large, a slow client, anything else. */
function parserFailure(code: string | undefined): { status: number; message: string } {
  if (code === 'HPE_HEADER_OVERFLOW')
    return {
      status: 431,
      message: 'The request URL and headers are larger than the 16 KiB the server reads.',
    };
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, message: 'The request was not received in time.' };
  return { status: 400, message: 'The request is not valid HTTP.' };
}

/** Counts a refusal answered outside the framework (its response hooks never see it). */
export type RefusalCounter = (status: number) => void;

/**
 * A `clientError` listener for a Node HTTP server: answers in the service's shape, then closes.
 * `counted` sees each refusal, which the server's request metrics would otherwise miss.
 */
export function clientErrorResponder(
  body: ErrorBody,
  counted?: RefusalCounter,
): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    // A reset connection has no one to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const { status, message } = parserFailure(err.code);
    counted?.(status);
    // A HEAD's answer has no body: one sent anyway reads as garbage after the headers to its client.
    const raw = (err as { rawPacket?: Buffer }).rawPacket;
    const head = raw?.subarray(0, 5).toString('latin1') === 'HEAD ';
    answerRaw(socket, status, body(status, message), { head });
  };
}

/**
 * Answers on a raw socket (a request Node could not parse, a WebSocket upgrade that is refused) with
 * a JSON error and closes it once the answer is flushed: destroying at once could drop the answer.
 */
export function answerRaw(socket: Duplex, status: number, body: unknown, o: { head?: boolean } = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const json = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${o.head ? '' : json}`,
  );
  // A peer that never reads must not hold the socket.
  setTimeout(() => socket.destroy(), 5000).unref();
}

/** Fastify options that route its framework errors through `body` (and count the parser's refusals). */
export function frameworkErrorOptions(
  body: ErrorBody,
  counted?: RefusalCounter,
): Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler'> {
  return {
    // Answered before routing, so the response hooks (and the request metrics they keep) never run.
    frameworkErrors: (err, _request, reply) => {
      const status = (err as { statusCode?: number }).statusCode ?? 400;
      counted?.(status);
      void (reply as unknown as FastifyReply)
        .status(status)
        .header('content-type', 'application/json')
        .send(body(status, `The request URL was invalid: ${err.message}`));
    },
    clientErrorHandler: clientErrorResponder(body, counted),
  };
}

/** Bytes of a refused body read and thrown away so its client hears the answer; beyond, the socket closes. */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * After refusing a request before reading its body (413 on its Content-Length): keeps the connection
 * and reads the rest of the body, throwing it away. fastify marks any body error `Connection: close`,
 * and closing while the client still uploads makes its write fail (EPIPE) before it reads the answer:
 * the client sees a broken connection where the server said 413. Past MAX_DRAIN_BYTES it closes.
 */
export function keepConnectionAndDrain(reply: FastifyReply): void {
  void reply.removeHeader('connection');
  const request = reply.request.raw;
  let read = 0;
  request.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > MAX_DRAIN_BYTES) request.socket.destroy();
  });
  request.resume();
}
