/**
 * The hub's settings, read once from the environment (ARCFLEET_HUB_*, ...; docs/configuration.md) on top
 * of the settings every process shares (platform/settings.ts).
 */
import {
  ENV,
  compileCommonConfig,
  readDuration,
  readNumber,
  readString,
  type CommonConfig,
  type Env,
} from '../../platform/settings.js';
import { ConfigError } from '../../contract/index.js';
import { DEFAULT_RESOURCE_TIMINGS, type ResourceTimings } from './connected-clusters/connected-clusters.js';

export interface HubSettings extends CommonConfig {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string | undefined;
  /** PEM files the API serves HTTPS with, and the CA kubeconfigs carry; undefined: plain HTTP. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly caFile: string } | undefined;
  /** The fleet issuer's public JWK set: every ARM call needs a bearer token it signed; undefined: none. */
  readonly tokenKeysPath: string | undefined;
  /** The live page, its feed, /metrics and health on plain HTTP too (plain-listener.ts); undefined: not. */
  readonly page: { readonly port: number; readonly host: string } | undefined;
  /** Real ms between projection flushes to KV. */
  readonly persistIntervalMs: number;
  /** Real ms an ARM write's answer waits for its change to be in KV before it is a 503 instead. */
  readonly writeAckTimeoutMs: number;
  /** Real ms: a heartbeat-only change is written at most this often per cluster. */
  readonly heartbeatPersistIntervalMs: number;
  /** Real ms between connectivity evaluations of the whole fleet. */
  readonly evaluateIntervalMs: number;
  readonly pageSize: number;
  readonly retryAfterSeconds: number;
  readonly kvBucket: string;
  /** Hub processes sharing the buckets (`arcfleet up --hubs`); above 1: CAS merges, watch, leader lease. */
  readonly replicas: number;
  /** Real ms a leader's lease lasts without renewal (renewed every third of it). */
  readonly leaseMs: number;
  /** Nodes each KV bucket is stored on (a NATS cluster: 3, so one node may die). */
  readonly jetstreamReplicas: number;
  /** Real ms between live feed deltas (the page). */
  readonly feedIntervalMs: number;
  /** ARCFLEET_HUB_ALLOWED_ORIGINS: other origins whose pages may open the live feed. */
  readonly allowedOrigins: readonly string[];
  /** Unacknowledged feed messages after which a client is sent a snapshot once it catches up. */
  readonly feedMaxLag: number;
  /** Every egress gateway's control API (one per shard), for the page's chaos controls; none: off. */
  readonly egressApiUrls: readonly string[];
  /** Real ms a cluster-connect request waits for the agent's first answer. */
  readonly clusterConnectTimeoutMs: number;
  /** Simulated ms a cluster-user token from listClusterUserCredential is valid. */
  readonly clusterConnectTokenValidityMs: number;
  /** Simulated ms the agents have to answer an extension / Flux configuration operation. */
  readonly extensionOperationTimeoutMs: number;
  /** Simulated ms protected settings are held for agents that have not fetched them. */
  readonly protectedSettingsHoldMs: number;
  /** Simulated ms of the connectedClusters resources' own operations (connected-clusters.ts). */
  readonly resourceTimings: ResourceTimings;
  /** YAML/JSON extension catalog; undefined for the built-in one. */
  readonly extensionCatalogPath: string | undefined;
  /** YAML/JSON agent release catalogue; undefined for the built-in one. */
  readonly agentReleasesPath: string | undefined;
  /** New agent releases ship on the catalogue's cadence (ARCFLEET_AGENT_RELEASE_CADENCE on|off). */
  readonly agentReleaseCadence: boolean;
  /** The hub's NATS user (.creds); undefined: anonymous (a broker without accounts). */
  readonly natsCredsPath: string | undefined;
  /** The SYS user that pushes revocations; required with `brokerKeysPath`. */
  readonly natsSystemCredsPath: string | undefined;
  /** hub-keys.json: mints cluster users; undefined: agents get no broker JWT. */
  readonly brokerKeysPath: string | undefined;
}

export function compileHubSettings(env: Env = process.env): HubSettings {
  const publicUrl = readString(env, ENV.hubPublicUrl, '');
  if (publicUrl !== '' && !/^https?:\/\/[^\s/]+/.test(publicUrl))
    throw new ConfigError(ENV.hubPublicUrl, `"${publicUrl}" is not an http(s) URL`);
  const egressPort = readString(env, ENV.egressApiPort, '');
  const egressApiUrl = readString(
    env,
    ENV.egressApiUrl,
    egressPort === '' ? '' : `http://127.0.0.1:${egressPort}`,
  );
  const egressApiUrls = egressApiUrl === '' ? [] : egressApiUrl.split(',').map((u) => u.trim());
  for (const url of egressApiUrls)
    if (!/^https?:\/\/[^\s/]+/.test(url))
      throw new ConfigError(ENV.egressApiUrl, `"${url}" is not an http(s) URL`);
  return Object.freeze({
    ...compileCommonConfig(env),
    port: readNumber(env, ENV.hubPort, 8080, { min: 0, max: 65535, integer: true }),
    host: readString(env, ENV.hubHost, '127.0.0.1'),
    publicUrl: publicUrl === '' ? undefined : publicUrl.replace(/\/$/, ''),
    tls: tlsSettings(env),
    tokenKeysPath: readString(env, ENV.hubTokenKeys, '') || undefined,
    page:
      readString(env, ENV.hubPagePort, '') === ''
        ? undefined
        : {
            port: readNumber(env, ENV.hubPagePort, 0, { min: 0, max: 65535, integer: true }),
            host: readString(env, ENV.hubPageHost, '127.0.0.1'),
          },
    persistIntervalMs: readDuration(env, ENV.hubPersistInterval, 100),
    writeAckTimeoutMs: readDuration(env, ENV.hubWriteAckTimeout, 10_000),
    heartbeatPersistIntervalMs: readDuration(env, ENV.hubHeartbeatPersistInterval, 30_000),
    evaluateIntervalMs: readDuration(env, ENV.hubEvaluateInterval, 250),
    pageSize: readNumber(env, ENV.hubPageSize, 100, { min: 1, max: 1000, integer: true }),
    retryAfterSeconds: readNumber(env, ENV.hubRetryAfter, 1, { min: 0, max: 600, integer: true }),
    kvBucket: readString(env, ENV.hubKvBucket, 'arcfleet-clusters'),
    replicas: readNumber(env, ENV.hubReplicas, 1, { min: 1, max: 16, integer: true }),
    leaseMs: readDuration(env, ENV.hubLease, 3_000),
    jetstreamReplicas: readNumber(env, ENV.jetstreamReplicas, 1, { min: 1, max: 5, integer: true }),
    feedIntervalMs: readDuration(env, ENV.hubFeedInterval, 250),
    feedMaxLag: readNumber(env, ENV.hubFeedMaxLag, 40, { min: 1, max: 100_000, integer: true }),
    allowedOrigins: readString(env, ENV.hubAllowedOrigins, '')
      .split(',')
      .map((o) => o.trim().replace(/\/$/, ''))
      .filter((o) => o !== ''),
    egressApiUrls: egressApiUrls.map((u) => u.replace(/\/$/, '')),
    clusterConnectTimeoutMs: readDuration(env, ENV.clusterConnectTimeout, 30_000),
    clusterConnectTokenValidityMs: readDuration(env, ENV.clusterConnectTokenValidity, 3_600_000),
    extensionOperationTimeoutMs: readDuration(env, ENV.extensionOperationTimeout, 10 * 60_000),
    protectedSettingsHoldMs: readDuration(env, ENV.protectedSettingsHold, 48 * 3_600_000),
    resourceTimings: {
      provisioningDelayMs: readDuration(
        env,
        ENV.provisioningDelay,
        DEFAULT_RESOURCE_TIMINGS.provisioningDelayMs,
      ),
      deleteDelayMs: readDuration(env, ENV.deleteDelay, DEFAULT_RESOURCE_TIMINGS.deleteDelayMs),
      agentNotInstalledAfterMs: readDuration(
        env,
        ENV.agentNotInstalledAfter,
        DEFAULT_RESOURCE_TIMINGS.agentNotInstalledAfterMs,
      ),
      metadataDelayMs: readDuration(env, ENV.metadataDelay, DEFAULT_RESOURCE_TIMINGS.metadataDelayMs, {
        allowZero: true,
      }),
      metadataJitterMs: readDuration(env, ENV.metadataJitter, DEFAULT_RESOURCE_TIMINGS.metadataJitterMs, {
        allowZero: true,
      }),
    },
    extensionCatalogPath: readString(env, ENV.extensionCatalog, '') || undefined,
    agentReleasesPath: readString(env, ENV.agentReleases, '') || undefined,
    agentReleaseCadence: readOnOff(env, ENV.agentReleaseCadence, true),
    ...brokerSettings(env),
  });
}

function tlsSettings(env: Env): HubSettings['tls'] {
  const certFile = readString(env, ENV.hubTlsCert, '');
  const keyFile = readString(env, ENV.hubTlsKey, '');
  const caFile = readString(env, ENV.hubTlsCa, '');
  if (certFile === '' && keyFile === '' && caFile === '') return undefined;
  for (const [name, value] of [
    [ENV.hubTlsCert, certFile],
    [ENV.hubTlsKey, keyFile],
    [ENV.hubTlsCa, caFile],
  ] as const)
    if (value === '')
      throw new ConfigError(
        name,
        `HTTPS needs ${ENV.hubTlsCert}, ${ENV.hubTlsKey} and ${ENV.hubTlsCa} together (arcfleet up makes them)`,
      );
  return { certFile, keyFile, caFile };
}

function brokerSettings(
  env: Env,
): Pick<HubSettings, 'natsCredsPath' | 'natsSystemCredsPath' | 'brokerKeysPath'> {
  const natsCredsPath = readString(env, ENV.natsCreds, '') || undefined;
  const natsSystemCredsPath = readString(env, ENV.natsSystemCreds, '') || undefined;
  const brokerKeysPath = readString(env, ENV.brokerKeys, '') || undefined;
  if (brokerKeysPath && (!natsSystemCredsPath || !natsCredsPath))
    throw new ConfigError(
      ENV.brokerKeys,
      `minting broker users needs ${ENV.natsCreds} (the hub's user) and ${ENV.natsSystemCreds} (to push revocations)`,
    );
  return { natsCredsPath, natsSystemCredsPath, brokerKeysPath };
}

function readOnOff(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = readString(env, name, fallback ? 'on' : 'off');
  if (raw !== 'on' && raw !== 'off') throw new ConfigError(name, `"${raw}" is neither on nor off`);
  return raw === 'on';
}
