/**
 * The egress gateway's control API, as the CLI, the scenario runner and the bench call it: where the
 * running fleet's gateway is, and one JSON request with ARM-style errors.
 */
import { resolve } from 'node:path';
import { ArcError, ERROR_CODES } from '../../contract/index.js';
import { readFleetFile } from '../fleet-file.js';

/**
 * Every egress gateway's control API (one per shard), from `--gateway-url` (comma-separated) or the
 * running fleet's fleet.json.
 */
export async function gatewayUrls(o: { dataDir: string; gatewayUrl?: string }): Promise<string[]> {
  if (o.gatewayUrl) return o.gatewayUrl.split(',').map((u) => u.trim().replace(/\/$/, ''));
  const dataDir = resolve(o.dataDir);
  const file = await readFleetFile(dataDir);
  if (!file?.egressApiUrl || Object.keys(file.pids).length === 0)
    throw new ArcError(
      ERROR_CODES.NotFound,
      `no running fleet with an egress gateway in ${dataDir}; start one with \`arcfleet up\`, or pass --gateway-url`,
      { status: 404 },
    );
  return file.egressApiUrls ?? [file.egressApiUrl];
}

/**
 * One request to every gateway of a sharded fleet: each holds the connections of its own shard, and a
 * rule must reach whichever holds the cluster's. Every gateway selects targets over the whole cluster
 * store, so they answer alike: the first answer is returned. Reads (GET) ask the first only.
 */
export async function callGateways(
  bases: readonly string[],
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const [first, ...rest] = bases;
  if (first === undefined) throw new Error('no egress gateway to call');
  if (method === 'GET' || rest.length === 0) return callGateway(first, method, path, body);
  const answers = await Promise.all(bases.map((b) => callGateway(b, method, path, body)));
  return answers[0];
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
