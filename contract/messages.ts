/**
 * Message schemas of the agent protocol (PROTOCOL_VERSION). Every message on the wire is JSON with `v` (protocol version) and
 * `type` (discriminant). `decodeMessage` is the one boundary check: size, JSON, version, schema.
 */
import { z } from 'zod';
import { regexes } from 'zod/v4/core';
import { ERROR_CODES, MessageRejectedError } from './errors.js';
import {
  desiredExtensionSchema,
  desiredFluxConfigurationSchema,
  desiredSourceControlSchema,
  extensionStatusSchema,
  fluxConfigurationStatusSchema,
  sourceControlStatusSchema,
} from './configuration.js';
import { AGENT_NAMES, PROTOCOL_VERSION, type MessageKind } from './subjects.js';
import { FLUX_LOGS_MAX_ENTRIES, fluxLogEntrySchema } from './flux-logs.js';
import { roleGrantSchema } from './azure-rbac.js';
import { agentVersionSchema } from './agent-releases.js';

const agent = z.enum(AGENT_NAMES);
const isoTime = z.iso.datetime({ offset: true });
const version = z.literal(PROTOCOL_VERSION);

export const clusterMetadataSchema = z.strictObject({
  kubernetesVersion: z.string().min(1).max(64),
  totalNodeCount: z.int().min(0).max(100_000),
  totalCoreCount: z.int().min(0).max(10_000_000),
  agentVersion: z.string().min(1).max(64),
  distribution: z.string().min(1).max(64),
  distributionVersion: z.string().max(64),
  infrastructure: z.string().min(1).max(64),
});
export type ClusterMetadata = z.infer<typeof clusterMetadataSchema>;

export const registerRequestSchema = z.strictObject({
  v: version,
  type: z.literal('register'),
  agent,
  bootstrapToken: z.string().min(16).max(256),
  /** base64 SPKI DER of the agent's public key, as in `agentPublicKeyCertificate`. */
  agentPublicKey: z.string().min(16).max(4096),
  agentVersion: z.string().min(1).max(64),
  sentAt: isoTime,
});

export const renewRequestSchema = z.strictObject({
  v: version,
  type: z.literal('renew'),
  agent,
  sentAt: isoTime,
});

export const heartbeatSchema = z.strictObject({
  v: version,
  type: z.literal('heartbeat'),
  agent,
  agentVersion: z.string().min(1).max(64),
  sentAt: isoTime,
});

export const metadataReportSchema = z.strictObject({
  v: version,
  type: z.literal('metadata'),
  agent,
  /** Monotonic per cluster: the cluster state's generation the metadata was read from. */
  generation: z.int().min(0),
  /** When the change was made in the cluster (simulated time): feeds the sync-lag histogram. */
  changedAt: isoTime,
  sentAt: isoTime,
  metadata: clusterMetadataSchema,
});

export const agentErrorSchema = z.strictObject({
  message: z.string().min(1).max(1024),
  severity: z.enum(['Error', 'Warning']),
  time: isoTime,
});

/** metrics-agent's report of the cluster's agents (their emulated pod status). */
export const agentHealthSchema = z.strictObject({
  v: version,
  type: z.literal('agent-health'),
  agent,
  sentAt: isoTime,
  components: z
    .array(
      z.strictObject({
        type: agent,
        /** Empty when the agent never reported one. */
        version: z.string().max(64),
        state: z.enum(['Running', 'Error', 'NotRunning']),
        errors: z.array(agentErrorSchema).max(20),
      }),
    )
    .max(AGENT_NAMES.length),
});

/** extension-manager or config-agent asks for the cluster's desired configuration (see configuration.ts). */
export const configPullSchema = z.strictObject({
  v: version,
  type: z.literal('config-pull'),
  agent,
  sentAt: isoTime,
});

/** What the agent made of the desired state: one entry per resource it acted on. */
export const configStatusSchema = z.strictObject({
  v: version,
  type: z.literal('config-status'),
  agent,
  sentAt: isoTime,
  extensions: z.array(extensionStatusSchema).max(500).default([]),
  fluxConfigurations: z.array(fluxConfigurationStatusSchema).max(500).default([]),
  sourceControlConfigurations: z.array(sourceControlStatusSchema).max(500).default([]),
});

/**
 * flux-logs-agent ships the Flux controllers' log lines the hub has not acknowledged, oldest first;
 * the hub's ack carries `seq`, the highest entry it holds durably.
 */
export const fluxLogsReportSchema = z.strictObject({
  v: version,
  type: z.literal('flux-logs'),
  agent,
  sentAt: isoTime,
  entries: z.array(fluxLogEntrySchema).min(1).max(FLUX_LOGS_MAX_ENTRIES),
});

/**
 * config-agent's hourly check for a newer agent version (agent-releases.ts): the version the cluster
 * runs and whether its Helm values have auto-update on; the hub answers with an `upgrade-plan`.
 */
export const upgradeCheckSchema = z.strictObject({
  v: version,
  type: z.literal('upgrade-check'),
  agent,
  sentAt: isoTime,
  agentVersion: agentVersionSchema,
});

export const agentMessageSchema = z.discriminatedUnion('type', [
  registerRequestSchema,
  renewRequestSchema,
  heartbeatSchema,
  metadataReportSchema,
  agentHealthSchema,
  configPullSchema,
  configStatusSchema,
  fluxLogsReportSchema,
  upgradeCheckSchema,
]);

export type UpgradeCheck = z.infer<typeof upgradeCheckSchema>;
export type ConfigPull = z.infer<typeof configPullSchema>;
export type ConfigStatus = z.infer<typeof configStatusSchema>;
export type FluxLogsReport = z.infer<typeof fluxLogsReportSchema>;

export type RegisterRequest = z.infer<typeof registerRequestSchema>;
export type RenewRequest = z.infer<typeof renewRequestSchema>;
export type Heartbeat = z.infer<typeof heartbeatSchema>;
export type MetadataReport = z.infer<typeof metadataReportSchema>;
export type AgentHealth = z.infer<typeof agentHealthSchema>;
export type AgentMessage = z.infer<typeof agentMessageSchema>;

/**
 * The schema of each kind, for a receiver that already knows the kind from the subject: one object
 * schema to run instead of the union (the hub's hot path; a body of another type fails it).
 */
const agentMessageSchemaByKind = Object.fromEntries(
  agentMessageSchema.options.map((schema) => [schema.shape.type.value, schema]),
) as unknown as Readonly<Record<MessageKind, z.ZodType<AgentMessage>>>;

// hub → agent replies and control
export const identityReplySchema = z.strictObject({
  v: version,
  type: z.literal('identity'),
  certificate: z.string().min(1),
  notBefore: isoTime,
  notAfter: isoTime,
  /** base64 SPKI of the hub's signing key: agents verify cluster-connect tokens with it. */
  issuerPublicKey: z.string().max(4096).optional(),
  /**
   * The cluster's NATS user JWT (docs/broker-identity.md), for the agent key the certificate names and
   * valid as long as the certificate; absent when the broker runs without accounts.
   */
  natsUserJwt: z.string().min(1).max(8192).optional(),
});
export const ackReplySchema = z.strictObject({
  v: version,
  type: z.literal('ack'),
  generation: z.int().min(0).optional(),
  /** `flux-logs`: the highest entry the hub now holds durably. */
  seq: z.int().min(0).optional(),
});
export const errorReplySchema = z.strictObject({
  v: version,
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
});
/**
 * Reply to `config-pull`: everything the asking agent is responsible for (extensions for
 * extension-manager, Flux configurations for config-agent; the other list is empty).
 */
export const desiredStateReplySchema = z.strictObject({
  v: version,
  type: z.literal('desired-state'),
  extensions: z.array(desiredExtensionSchema).max(500),
  fluxConfigurations: z.array(desiredFluxConfigurationSchema).max(500),
  /** Legacy Flux v1 configurations (config-agent). */
  sourceControlConfigurations: z.array(desiredSourceControlSchema).max(500).default([]),
  /** guard: the cluster's Azure role assignments (every scope). */
  roleAssignments: z.array(roleGrantSchema).max(5000).default([]),
});
/**
 * Reply to `upgrade-check`: the cluster's `arcAgentProfile.agentAutoUpgrade` (its Helm value
 * follows it) and the version to upgrade to now, null to stay (upgradeTarget in agent-releases.ts).
 */
export const upgradePlanReplySchema = z.strictObject({
  v: version,
  type: z.literal('upgrade-plan'),
  autoUpgrade: z.boolean(),
  targetVersion: agentVersionSchema.nullable(),
  /** The newest version offered (for the agent's log). */
  latestVersion: agentVersionSchema.nullable(),
});
export const hubReplySchema = z.discriminatedUnion('type', [
  identityReplySchema,
  ackReplySchema,
  errorReplySchema,
  desiredStateReplySchema,
  upgradePlanReplySchema,
]);
export type UpgradePlanReply = z.infer<typeof upgradePlanReplySchema>;
export type DesiredStateReply = z.infer<typeof desiredStateReplySchema>;
export type IdentityReply = z.infer<typeof identityReplySchema>;
export type AckReply = z.infer<typeof ackReplySchema>;
export type ErrorReply = z.infer<typeof errorReplySchema>;
export type HubReply = z.infer<typeof hubReplySchema>;

export const controlMessageSchema = z.strictObject({
  v: version,
  type: z.literal('control'),
  /**
   * `disconnect`: the resource was deleted; agents stop and forget their identity.
   * `config-changed`: the cluster's extensions / Flux configurations changed; pull now.
   * `upgrade-check`: the cluster's `arcAgentProfile` changed; check for an agent upgrade now.
   */
  action: z.enum(['disconnect', 'config-changed', 'upgrade-check']),
  reason: z.string().max(1024),
});
export type ControlMessage = z.infer<typeof controlMessageSchema>;

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function encodeMessage(message: object): Uint8Array {
  return encoder.encode(JSON.stringify(message));
}

/** Size, UTF-8, JSON and protocol version: what every message must pass before its schema. */
function parsePayload(data: Uint8Array, subject: string, maxBytes: number): unknown {
  if (data.byteLength > maxBytes)
    throw new MessageRejectedError(
      ERROR_CODES.MessageTooLarge,
      `payload of ${data.byteLength} bytes exceeds ${maxBytes}`,
      subject,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new MessageRejectedError(
      ERROR_CODES.InvalidMessage,
      `not JSON: ${(err as Error).message}`,
      subject,
    );
  }
  if (typeof raw === 'object' && raw !== null && 'v' in raw && raw.v !== PROTOCOL_VERSION)
    throw new MessageRejectedError(
      ERROR_CODES.UnsupportedProtocolVersion,
      `protocol version ${JSON.stringify(raw.v)} is not supported (this side speaks ${PROTOCOL_VERSION})`,
      subject,
    );
  return raw;
}

function validate<T>(schema: z.ZodType<T>, raw: unknown, subject: string): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw new MessageRejectedError(
      ERROR_CODES.InvalidMessage,
      `schema violation at ${where}: ${issue?.message ?? 'invalid'}`,
      subject,
    );
  }
  return parsed.data;
}

/**
 * Validates a payload against a schema. Throws MessageRejectedError with a stable code; callers
 * count and log the rejection and carry on.
 */
export function decodeMessage<T>(
  schema: z.ZodType<T>,
  data: Uint8Array,
  subject: string,
  maxBytes: number,
): T {
  return validate(schema, parsePayload(data, subject, maxBytes), subject);
}

/** The pattern `isoTime` checks (zod's own), for the heartbeat's fast path. */
export const ISO_TIME_PATTERN: RegExp = regexes.datetime({ offset: true, local: false, precision: null });
const AGENT_SET: ReadonlySet<unknown> = new Set(AGENT_NAMES);

/**
 * Accepts exactly the well-formed heartbeats `heartbeatSchema` accepts (a subset is enough: anything
 * else goes to the schema). Heartbeats are most of the hub's traffic, and the schema costs more than
 * parsing the JSON.
 */
export function isWellFormedHeartbeat(raw: unknown): raw is Heartbeat {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const o = raw as Record<string, unknown>;
  return (
    Object.keys(o).length === 5 &&
    o.v === PROTOCOL_VERSION &&
    o.type === 'heartbeat' &&
    AGENT_SET.has(o.agent) &&
    typeof o.agentVersion === 'string' &&
    o.agentVersion.length >= 1 &&
    o.agentVersion.length <= 64 &&
    typeof o.sentAt === 'string' &&
    ISO_TIME_PATTERN.test(o.sentAt)
  );
}

/** An agent message of the kind its subject names (the hub's boundary). */
export function decodeAgentMessage(
  kind: MessageKind,
  data: Uint8Array,
  subject: string,
  maxBytes: number,
): AgentMessage {
  const raw = parsePayload(data, subject, maxBytes);
  if (kind === 'heartbeat' && isWellFormedHeartbeat(raw)) return raw;
  return validate(agentMessageSchemaByKind[kind], raw, subject);
}
