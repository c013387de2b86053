/**
 * The only module that reads `process.env`. Every setting has a documented default; the compiled
 * config is validated, frozen, fully populated and carries units in its names. Errors name the
 * setting at fault (`ConfigError.setting`).
 *
 * Timings are in SIMULATED milliseconds and default to the real Arc values (see docs/configuration.md).
 */
import { parseDuration } from './duration.js';
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { ConfigError, parseShard, shardUrl, SINGLE_SHARD, type Shard } from '../contract/index.js';
import { SimClock } from './clock.js';
import type { LogFileOptions } from './log-file.js';

export interface ArcTimings {
  /**
   * Interval between resource-sync-agent heartbeats. Undocumented in real Arc; we chose 5 min: three
   * heartbeats per offline threshold, so one lost heartbeat never makes a cluster Offline (docs/configuration.md).
   */
  readonly heartbeatIntervalMs: number;
  /** Connected → Offline after this long without a heartbeat (real Arc: 15 min). */
  readonly offlineThresholdMs: number;
  /** Managed-identity certificate lifetime (real Arc: 90 days). */
  readonly certValidityMs: number;
  /** Agents start trying to renew this long after issue (real Arc: day 46 of 90). */
  readonly certRenewAfterMs: number;
  /** Each cluster renews at a random point this wide after `certRenewAfterMs`, so a fleet onboarded together does not renew together. */
  readonly certRenewJitterMs: number;
}

export const DEFAULT_TIMINGS: ArcTimings = Object.freeze({
  heartbeatIntervalMs: 5 * 60_000,
  offlineThresholdMs: 15 * 60_000,
  certValidityMs: 90 * 86_400_000,
  certRenewAfterMs: 46 * 86_400_000,
  certRenewJitterMs: 86_400_000,
});

export interface CommonConfig {
  readonly natsUrl: string;
  /** The fleet CA (PEM) the broker's certificate is checked against: NATS over TLS; none: plain TCP. */
  readonly natsCa: string | undefined;
  readonly dataDir: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  readonly timeScale: number;
  readonly clockEpochMs: number;
  readonly timings: ArcTimings;
  /** Largest NATS payload a service accepts, in bytes. */
  readonly maxMessageBytes: number;
  /** Where the service logs, capped and rotated; undefined: stdout. */
  readonly logFile: LogFileOptions | undefined;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const ENV = {
  /** The broker: one nats:// URL, or every node's of a NATS cluster, comma-separated. */
  natsUrl: 'ARCFLEET_NATS_URL',
  /** The fleet CA's certificate file: every NATS connection runs over TLS and trusts only it. */
  natsCa: 'ARCFLEET_NATS_CA',
  /** Nodes each JetStream bucket of the hub is stored on (1–5; at most the broker's node count). */
  jetstreamReplicas: 'ARCFLEET_JETSTREAM_REPLICAS',
  /** This process's own NATS user (a `.creds` file): the hub's HUB-account user. */
  natsCreds: 'ARCFLEET_NATS_CREDS',
  /** The hub's SYS-account user, which pushes account updates (revocations) to the broker. */
  natsSystemCreds: 'ARCFLEET_NATS_SYSTEM_CREDS',
  /** The hub's signing keys (hub-keys.json): mints cluster users, re-signs the CLUSTERS account. */
  brokerKeys: 'ARCFLEET_BROKER_KEYS',
  dataDir: 'ARCFLEET_DATA_DIR',
  logLevel: 'ARCFLEET_LOG_LEVEL',
  /** Logs to this file, capped and rotated, instead of stdout (`arcfleet up` sets it). */
  logFile: 'ARCFLEET_LOG_FILE',
  logMaxBytes: 'ARCFLEET_LOG_MAX_BYTES',
  logFiles: 'ARCFLEET_LOG_FILES',
  timeScale: 'ARCFLEET_TIME_SCALE',
  clockEpochMs: 'ARCFLEET_CLOCK_EPOCH_MS',
  heartbeatInterval: 'ARCFLEET_HEARTBEAT_INTERVAL',
  offlineThreshold: 'ARCFLEET_OFFLINE_THRESHOLD',
  certValidity: 'ARCFLEET_CERT_VALIDITY',
  certRenewAfter: 'ARCFLEET_CERT_RENEW_AFTER',
  certRenewJitter: 'ARCFLEET_CERT_RENEW_JITTER',
  maxMessageBytes: 'ARCFLEET_MAX_MESSAGE_BYTES',
  hubPort: 'ARCFLEET_HUB_PORT',
  hubHost: 'ARCFLEET_HUB_HOST',
  hubPublicUrl: 'ARCFLEET_HUB_PUBLIC_URL',
  hubTlsCert: 'ARCFLEET_HUB_TLS_CERT',
  hubTlsKey: 'ARCFLEET_HUB_TLS_KEY',
  hubTlsCa: 'ARCFLEET_HUB_TLS_CA',
  hubTokenKeys: 'ARCFLEET_HUB_TOKEN_KEYS',
  hubPagePort: 'ARCFLEET_HUB_PAGE_PORT',
  hubPageHost: 'ARCFLEET_HUB_PAGE_HOST',
  hubPersistInterval: 'ARCFLEET_HUB_PERSIST_INTERVAL',
  hubWriteAckTimeout: 'ARCFLEET_HUB_WRITE_ACK_TIMEOUT',
  hubHeartbeatPersistInterval: 'ARCFLEET_HUB_HEARTBEAT_PERSIST_INTERVAL',
  hubEvaluateInterval: 'ARCFLEET_HUB_EVALUATE_INTERVAL',
  hubPageSize: 'ARCFLEET_HUB_PAGE_SIZE',
  hubRetryAfter: 'ARCFLEET_HUB_RETRY_AFTER',
  hubKvBucket: 'ARCFLEET_HUB_KV_BUCKET',
  hubReplicas: 'ARCFLEET_HUB_REPLICAS',
  hubLease: 'ARCFLEET_HUB_LEASE',
  clusterPollInterval: 'ARCFLEET_CLUSTER_POLL_INTERVAL',
  clusterRescanInterval: 'ARCFLEET_CLUSTER_RESCAN_INTERVAL',
  agentStatusInterval: 'ARCFLEET_AGENT_STATUS_INTERVAL',
  metricsAgentInterval: 'ARCFLEET_METRICS_AGENT_INTERVAL',
  /** Real ms between flux-logs-agent's looks at a cluster's Flux log (besides every apiserver change). */
  fluxLogsInterval: 'ARCFLEET_FLUX_LOGS_INTERVAL',
  agentVersion: 'ARCFLEET_AGENT_VERSION',
  metricsPort: 'ARCFLEET_METRICS_PORT',
  metricsHost: 'ARCFLEET_METRICS_HOST',
  egressUrl: 'ARCFLEET_EGRESS_URL',
  /** Which shard this process serves: `<index>/<count>`, `ordinal/<count>` or `all/<count>`. */
  shard: 'ARCFLEET_SHARD',
  agentPingInterval: 'ARCFLEET_AGENT_PING_INTERVAL',
  agentMaxPingOut: 'ARCFLEET_AGENT_MAX_PING_OUT',
  agentReconnectBase: 'ARCFLEET_AGENT_RECONNECT_BASE',
  agentReconnectMax: 'ARCFLEET_AGENT_RECONNECT_MAX',
  agentConnectTimeout: 'ARCFLEET_AGENT_CONNECT_TIMEOUT',
  egressPort: 'ARCFLEET_EGRESS_PORT',
  egressApiPort: 'ARCFLEET_EGRESS_API_PORT',
  egressHost: 'ARCFLEET_EGRESS_HOST',
  egressHoldBytes: 'ARCFLEET_EGRESS_HOLD_BYTES',
  egressApiUrl: 'ARCFLEET_EGRESS_API_URL',
  hubFeedInterval: 'ARCFLEET_HUB_FEED_INTERVAL',
  hubFeedMaxLag: 'ARCFLEET_HUB_FEED_MAX_LAG',
  /** Origins (comma-separated, `*`: any) besides the hub's own whose pages may open the live feed. */
  hubAllowedOrigins: 'ARCFLEET_HUB_ALLOWED_ORIGINS',
  kubeApiserverPort: 'ARCFLEET_KUBE_APISERVER_PORT',
  kubeApiserverHost: 'ARCFLEET_KUBE_APISERVER_HOST',
  kubeApiserverUrl: 'ARCFLEET_KUBE_APISERVER_URL',
  kubeAadProxyPort: 'ARCFLEET_KUBE_AAD_PROXY_PORT',
  kubeAadProxyHost: 'ARCFLEET_KUBE_AAD_PROXY_HOST',
  kubeAadProxyUrl: 'ARCFLEET_KUBE_AAD_PROXY_URL',
  /** guard's listener (per shard, cluster side) and, for kube-aad-proxy, its base URL. */
  guardPort: 'ARCFLEET_GUARD_PORT',
  guardHost: 'ARCFLEET_GUARD_HOST',
  guardUrl: 'ARCFLEET_GUARD_URL',
  kubeApiserverPersistInterval: 'ARCFLEET_KUBE_APISERVER_PERSIST_INTERVAL',
  configPullInterval: 'ARCFLEET_CONFIG_PULL_INTERVAL',
  extensionOperationTimeout: 'ARCFLEET_EXTENSION_OPERATION_TIMEOUT',
  protectedSettingsHold: 'ARCFLEET_PROTECTED_SETTINGS_HOLD',
  provisioningDelay: 'ARCFLEET_PROVISIONING_DELAY',
  deleteDelay: 'ARCFLEET_DELETE_DELAY',
  agentNotInstalledAfter: 'ARCFLEET_AGENT_NOT_INSTALLED_AFTER',
  metadataDelay: 'ARCFLEET_METADATA_DELAY',
  metadataJitter: 'ARCFLEET_METADATA_JITTER',
  extensionCatalog: 'ARCFLEET_EXTENSION_CATALOG',
  extensionUpgradeInterval: 'ARCFLEET_EXTENSION_UPGRADE_INTERVAL',
  agentReleases: 'ARCFLEET_AGENT_RELEASES',
  agentReleaseCadence: 'ARCFLEET_AGENT_RELEASE_CADENCE',
  upgradeCheckInterval: 'ARCFLEET_UPGRADE_CHECK_INTERVAL',
  clusterConnectTimeout: 'ARCFLEET_CLUSTER_CONNECT_TIMEOUT',
  clusterConnectTokenValidity: 'ARCFLEET_CLUSTER_CONNECT_TOKEN_VALIDITY',
} as const;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function readString(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

export function readNumber(
  env: Env,
  name: string,
  fallback: number,
  { min = -Infinity, max = Infinity, integer = false } = {},
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ConfigError(name, `"${raw}" is not a number`);
  if (integer && !Number.isInteger(n)) throw new ConfigError(name, `"${raw}" is not a whole number`);
  if (n < min || n > max) throw new ConfigError(name, `${raw} is outside ${min}..${max}`);
  return n;
}

export function readDuration(
  env: Env,
  name: string,
  fallbackMs: number,
  opts: { allowZero?: boolean } = {},
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallbackMs;
  const ms = parseDuration(raw, name);
  if (opts.allowZero ? ms < 0 : ms <= 0)
    throw new ConfigError(name, opts.allowZero ? 'must not be negative' : 'must be greater than zero');
  return ms;
}

export function compileTimings(env: Env): ArcTimings {
  const t: ArcTimings = {
    heartbeatIntervalMs: readDuration(env, ENV.heartbeatInterval, DEFAULT_TIMINGS.heartbeatIntervalMs),
    offlineThresholdMs: readDuration(env, ENV.offlineThreshold, DEFAULT_TIMINGS.offlineThresholdMs),
    certValidityMs: readDuration(env, ENV.certValidity, DEFAULT_TIMINGS.certValidityMs),
    certRenewAfterMs: readDuration(env, ENV.certRenewAfter, DEFAULT_TIMINGS.certRenewAfterMs),
    certRenewJitterMs: env[ENV.certRenewJitter]
      ? parseDuration(env[ENV.certRenewJitter] as string, ENV.certRenewJitter)
      : DEFAULT_TIMINGS.certRenewJitterMs,
  };
  if (t.heartbeatIntervalMs >= t.offlineThresholdMs)
    throw new ConfigError(ENV.heartbeatInterval, 'must be shorter than ARCFLEET_OFFLINE_THRESHOLD');
  if (t.certRenewAfterMs >= t.certValidityMs)
    throw new ConfigError(ENV.certRenewAfter, 'must be shorter than ARCFLEET_CERT_VALIDITY');
  return Object.freeze(t);
}

export function compileCommonConfig(env: Env = process.env): CommonConfig {
  const logLevel = readString(env, ENV.logLevel, 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw new ConfigError(ENV.logLevel, `"${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const natsUrl = readString(env, ENV.natsUrl, 'nats://127.0.0.1:4222');
  // A NATS cluster: every node's URL, comma-separated; clients fail over between them.
  for (const url of natsUrl.split(','))
    if (!/^(nats|tls|ws|wss):\/\/[^\s,]+$/.test(url))
      throw new ConfigError(ENV.natsUrl, `"${url}" is not a nats:// URL`);
  return Object.freeze({
    natsUrl,
    natsCa: readCaFile(env),
    dataDir: readString(env, ENV.dataDir, '.arcfleet'),
    logLevel: logLevel as CommonConfig['logLevel'],
    timeScale: readNumber(env, ENV.timeScale, 1, { min: 0.001, max: 10_000_000 }),
    clockEpochMs: readNumber(env, ENV.clockEpochMs, Date.now(), { min: 0, integer: true }),
    timings: compileTimings(env),
    maxMessageBytes: readNumber(env, ENV.maxMessageBytes, 64 * 1024, {
      min: 1024,
      max: 8 * 1024 * 1024,
      integer: true,
    }),
    logFile: compileLogFile(env),
  });
}

function readCaFile(env: Env): string | undefined {
  const path = env[ENV.natsCa];
  if (path === undefined || path === '') return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(ENV.natsCa, `cannot read ${path}: ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(ENV.natsCa, `${path} holds no PEM certificate`);
  return pem;
}

function compileLogFile(env: Env): LogFileOptions | undefined {
  const path = env[ENV.logFile];
  if (path === undefined || path === '') return undefined;
  return {
    path,
    maxBytes: readNumber(env, ENV.logMaxBytes, 16 * 1024 * 1024, { min: 4096, integer: true }),
    files: readNumber(env, ENV.logFiles, 3, { min: 0, max: 100, integer: true }),
  };
}

export function clockFromConfig(config: Pick<CommonConfig, 'timeScale' | 'clockEpochMs'>): SimClock {
  return new SimClock(config.timeScale, config.clockEpochMs);
}

/** How an agent's NATS connections are made (all in REAL ms: they are socket timings). */
export interface AgentLinkConfig {
  /** Where agents dial: the egress gateway when `ARCFLEET_EGRESS_URL` is set, else NATS itself. */
  readonly url: string;
  readonly viaEgress: boolean;
  /** Client PING interval: a silently dropped link is noticed after about interval × (maxPingOut + 1). */
  readonly pingIntervalMs: number;
  readonly maxPingOut: number;
  /** Exponential backoff with full jitter between reconnect attempts: first bound, largest bound. */
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  /** A (re)connection whose handshake has not completed by then is abandoned and retried. */
  readonly connectTimeoutMs: number;
}

/** This process's shard (`ARCFLEET_SHARD`, default: a fleet of one shard). */
export function readShard(env: Env, hostname: string = osHostname()): Shard {
  const raw = readString(env, ENV.shard, '');
  if (raw === '') return SINGLE_SHARD;
  const shard = parseShard(raw, hostname);
  if ('error' in shard) throw new ConfigError(ENV.shard, shard.error);
  return shard;
}

export function compileAgentLinkConfig(
  env: Env,
  natsUrl: string,
  shard: Shard = SINGLE_SHARD,
): AgentLinkConfig {
  // `{shard}`: one template for every shard's processes (a StatefulSet), each reaching its own gateway.
  const egress = shardUrl(readString(env, ENV.egressUrl, ''), shard);
  if (egress !== '' && !/^nats:\/\/[^\s]+$/.test(egress))
    throw new ConfigError(ENV.egressUrl, `"${egress}" is not a nats:// URL`);
  const reconnectBaseMs = readDuration(env, ENV.agentReconnectBase, 250);
  const reconnectMaxMs = readDuration(env, ENV.agentReconnectMax, 10_000);
  if (reconnectMaxMs < reconnectBaseMs)
    throw new ConfigError(ENV.agentReconnectMax, `must not be shorter than ${ENV.agentReconnectBase}`);
  return Object.freeze({
    url: egress === '' ? natsUrl : egress,
    viaEgress: egress !== '',
    pingIntervalMs: readDuration(env, ENV.agentPingInterval, 60_000),
    maxPingOut: readNumber(env, ENV.agentMaxPingOut, 3, { min: 1, max: 100, integer: true }),
    reconnectBaseMs,
    reconnectMaxMs,
    connectTimeoutMs: readDuration(env, ENV.agentConnectTimeout, 5000),
  });
}
