/**
 * Cluster connect: HTTP requests to a cluster's apiserver carried over clusterconnect-agent's OUTBOUND
 * NATS connection (the real Arc uses Azure Relay websockets; the shape of the exchange is the same:
 * the cloud never dials the cluster).
 *
 * One HTTP exchange is one stream:
 *   hub → agent  request  `arcconnect.v1.<key>.open`      JSON OpenFrame; the agent's reply is an ack
 *   hub → agent  publish  `arcconnect.v1.<key>.s.<id>`    `data` (request body bytes), `end`, `credit`, `cancel`
 *   agent → hub  publish  `arc.v1.<key>.clusterconnect-agent.s.<id>`   `head` (JSON), `data` (response bytes), `ping`, `end`, `error` (JSON)
 * The answer travels on the cluster's own `arc.v1.<key>.>` subjects, not on an inbox the hub names:
 * a subject a cluster may publish on anyway, and one that still reaches the hub when the broker puts
 * the clusters and the hub in separate accounts (docs/broker-identity.md).
 * The frame kind travels in the `Arc-Frame` header, so `data` payloads are raw bytes. NATS keeps the
 * order of messages from one connection to one subscription, which is all the ordering a stream needs.
 * Flow control: the agent sends at most `CREDIT_WINDOW` data frames beyond what the hub acknowledged
 * with `credit` (the hub grants more once its HTTP client drained them), so a slow `kubectl` cannot make
 * either side buffer without bound. Documented in docs/protocol.md.
 */
import { z } from 'zod';

export const FRAME_HEADER = 'Arc-Frame';
export const FRAME_KINDS = ['data', 'end', 'credit', 'cancel', 'head', 'ping', 'error'] as const;
export type FrameKind = (typeof FRAME_KINDS)[number];

/** Largest data frame, well under the NATS default max payload (1 MiB). */
export const FRAME_BYTES = 256 * 1024;
/** Data frames the agent may send ahead of the hub's credit. */
export const CREDIT_WINDOW = 16;
/** Real ms between the agent's keep-alive frames on a stream with nothing else to send. */
export const PING_INTERVAL_MS = 5_000;
/** Real ms without any frame after which the hub gives a stream up (the link is presumed dead). */
export const STREAM_IDLE_MS = 4 * PING_INTERVAL_MS;
/** Largest request body the hub forwards (Kubernetes objects are limited to ~1.5 MiB in etcd). */
export const MAX_REQUEST_BODY_BYTES = 16 * 1024 * 1024;

export const connectSubjects = {
  open(key: string): string {
    return `arcconnect.v1.${key}.open`;
  },
  stream(key: string, streamId: string): string {
    return `arcconnect.v1.${key}.s.${streamId}`;
  },
  /** What a cluster's clusterconnect-agent subscribes to. */
  all(key: string): string {
    return `arcconnect.v1.${key}.>`;
  },
  /** Where the agent answers one stream (the hub subscribes to it before the open request). */
  answer(key: string, streamId: string): string {
    return `arc.v1.${key}.clusterconnect-agent.s.${streamId}`;
  },
};

const headerRecord = z.record(z.string().max(256), z.string().max(16 * 1024));

export const openFrameSchema = z.strictObject({
  /** 2: the answer goes to `connectSubjects.answer` (1 named a hub inbox in `replyTo`). */
  v: z.literal(2),
  streamId: z.string().regex(/^[A-Za-z0-9]{8,64}$/),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']),
  /** Path and query below the apiserver root, e.g. `/api/v1/namespaces?limit=10`. */
  path: z.string().startsWith('/').max(8192),
  headers: headerRecord,
  /** Whether `data` frames follow with a request body (ended by `end`). */
  hasBody: z.boolean(),
});
export type OpenFrame = z.infer<typeof openFrameSchema>;

export const openAckSchema = z.strictObject({ ok: z.literal(true) });

export const headFrameSchema = z.strictObject({
  status: z.int().min(100).max(599),
  headers: headerRecord,
});
export type HeadFrame = z.infer<typeof headFrameSchema>;

export const errorFrameSchema = z.strictObject({
  status: z.int().min(400).max(599),
  code: z.string().max(64),
  message: z.string().max(4096),
});
export type ErrorFrame = z.infer<typeof errorFrameSchema>;

export const creditFrameSchema = z.strictObject({ frames: z.int().min(1).max(10_000) });

/** Request headers that must not be forwarded hop to hop (RFC 9110 §7.6.1) or that the agent sets. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
  'impersonate-user',
  'impersonate-group',
  'impersonate-uid',
]);

/**
 * The end-to-end headers of a message (names lower-cased, repeated values joined), without the
 * hop-by-hop ones and without `alsoDrop` (e.g. `authorization`, which each hop replaces with its own).
 */
export function endToEndHeaders(
  headers: Iterable<readonly [string, string | readonly string[] | undefined]>,
  alsoDrop: readonly string[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    const k = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(k) || alsoDrop.includes(k)) continue;
    out[k] = typeof value === 'string' ? value : value.join(', ');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tokens (the AAD token's role: issued by the hub, checked by the cluster's kube-aad-proxy role)
// ---------------------------------------------------------------------------------------------

export const clusterUserClaimsSchema = z.strictObject({
  v: z.literal(1),
  typ: z.literal('cluster-user'),
  iss: z.literal('arcfleet-hub'),
  /** The cluster key (`<sub>.<rg>.<cluster>`, subjects.ts) the token is for. */
  aud: z.string().min(1).max(512),
  /** The user the requests are made as (impersonated against the apiserver). */
  sub: z.string().min(1).max(256),
  /** The user's object id (Entra's `oid`): what Azure role assignments name. */
  oid: z.string().max(64).optional(),
  groups: z.array(z.string().max(256)).max(50),
  /** Simulated epoch ms. */
  iat: z.number(),
  exp: z.number(),
  jti: z.string().max(64),
});
export type ClusterUserClaims = z.infer<typeof clusterUserClaimsSchema>;

/** A Kubernetes `Status` body: what kubectl and client libraries print for a failed request. */
export function kubeStatus(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** A JSON frame payload, or undefined when it is not JSON (the schema check then refuses it). */
export function parseFrameJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return undefined;
  }
}
