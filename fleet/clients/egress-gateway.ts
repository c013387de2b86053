/**
 * The egress gateway's control API, as the CLI, the scenario runner and the bench call it: where the
 * running fleet's gateway is, and one JSON request with ARM-style errors.
 */
import { resolve } from 'node:path';
import { ArcError, ERROR_CODES } from '../../contract/index.js';
import { readFleetFile } from '../fleet-file.js';

export async function gatewayUrl(o: { dataDir: string; gatewayUrl?: string }): Promise<string> {
  if (o.gatewayUrl) return o.gatewayUrl.replace(/\/$/, '');
  const dataDir = resolve(o.dataDir);
  const file = await readFleetFile(dataDir);
  if (!file?.egressApiUrl || Object.keys(file.pids).length === 0)
    throw new ArcError(
      ERROR_CODES.NotFound,
      `no running fleet with an egress gateway in ${dataDir}; start one with \`arcfleet up\`, or pass --gateway-url`,
      { status: 404 },
    );
  return file.egressApiUrl;
}

export async function callGateway(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new ArcError(ERROR_CODES.ServiceUnavailable, `the egress gateway at ${base} is not reachable`, {
      status: 503,
      cause: err,
    });
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (!res.ok) {
    const e = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `egress gateway: ${res.status} ${e?.code ?? ''} ${e?.message ?? text}`.trim(),
      {
        status: 400,
      },
    );
  }
  return parsed;
}
