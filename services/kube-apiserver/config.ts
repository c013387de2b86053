/**
 * The apiserver's compiled config: the common settings plus its own (`ARCFLEET_KUBE_APISERVER_*`).
 * Persistence and polling are real-time infrastructure timings, not simulated Arc timings.
 */
import { DEFAULT_STATUS_INTERVAL_MS } from '../../agent-runtime/agent-service.js';
import type { Shard } from '../../contract/index.js';
import {
  ENV,
  compileCommonConfig,
  readDuration,
  readNumber,
  readShard,
  readString,
  type CommonConfig,
  type Env,
} from '../../platform/settings.js';

/** A status older than this many beat intervals means the agent is down (as metrics-agent judges). */
const STALE_INTERVALS = 3;

export interface KubeApiserverConfig extends CommonConfig {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /** Real ms over which writes to a cluster's objects file are coalesced. */
  readonly persistIntervalMs: number;
  /** Real ms between sweeps for removed clusters. */
  readonly pollIntervalMs: number;
  /** Real ms after which an agent's status (and its process's beat) counts as stale. */
  readonly staleAfterMs: number;
  /** Real ms between recomputations of derived objects for open watches. */
  readonly watchPollIntervalMs: number;
  /** It serves every shard (`all/<count>`); the count maps a cluster to its agent processes. */
  readonly shard: Shard;
}

export function compileKubeApiserverConfig(env: Env = process.env): KubeApiserverConfig {
  const common = compileCommonConfig(env);
  const pollIntervalMs = readDuration(env, ENV.clusterPollInterval, 1000);
  return Object.freeze({
    ...common,
    host: readString(env, ENV.kubeApiserverHost, '127.0.0.1'),
    port: readNumber(env, ENV.kubeApiserverPort, 0, { min: 0, max: 65_535, integer: true }),
    persistIntervalMs: readDuration(env, ENV.kubeApiserverPersistInterval, 100),
    pollIntervalMs,
    staleAfterMs: STALE_INTERVALS * readDuration(env, ENV.agentStatusInterval, DEFAULT_STATUS_INTERVAL_MS),
    watchPollIntervalMs: pollIntervalMs,
    shard: readShard(env),
  });
}
