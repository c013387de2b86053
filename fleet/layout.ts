/**
 * A fleet's layout: how many broker nodes, shards and hub replicas it runs, from the options or, by
 * default, from its size and this machine's limits (20,000 open files per process, hard).
 */
import { ArcError, ERROR_CODES } from '../contract/index.js';
import type { StartFleetOptions } from './options.js';

/** Most broker nodes a local fleet runs. */
export const MAX_BROKERS = 9;
/** Hub replicas `--hubs` may ask for (ARCFLEET_HUB_REPLICAS allows up to 16). */
export const MAX_HUBS = 8;
/**
 * Client connections one broker node is given: each holds a file descriptor, and a process may open
 * 20,000 here (a hard limit), so a node stays well below it with room for routes and JetStream files.
 */
export const CONNECTIONS_PER_BROKER = 12_000;
/**
 * NATS connections per emulated cluster: one per agent with a link to Azure that always holds one
 * (six). flux-logs-agent opens a seventh only once the cluster has Flux configurations; a fleet where
 * every cluster has them brings a node to 14,000 connections, still within its open files.
 */
const CONNECTIONS_PER_CLUSTER = 6;

/**
 * Broker nodes for a fleet of `clusters`: one while its connections fit one node; otherwise enough
 * nodes for them, and at least three, so replicated JetStream keeps a quorum when one node dies.
 */
export function defaultBrokerCount(clusters: number): number {
  const needed = Math.ceil((clusters * CONNECTIONS_PER_CLUSTER) / CONNECTIONS_PER_BROKER);
  return needed <= 1 ? 1 : Math.min(MAX_BROKERS, Math.max(3, needed));
}

/** Most shards a local fleet runs (each is seven processes). */
export const MAX_LOCAL_SHARDS = 16;
/**
 * Clusters one shard is given: its egress gateway holds two sockets per agent connection, up to seven
 * per cluster, so 1,300 clusters are 18,200 of the 20,000 files a process may open here.
 */
export const CLUSTERS_PER_SHARD = 1300;

/** Shards for a fleet of `clusters`: as few as keep each within `CLUSTERS_PER_SHARD`. */
export function defaultShardCount(clusters: number): number {
  return Math.min(MAX_LOCAL_SHARDS, Math.max(1, Math.ceil(clusters / CLUSTERS_PER_SHARD)));
}

export interface FleetLayout {
  readonly brokers: number;
  readonly shards: number;
  readonly hubs: number;
}

function whole(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new ArcError(
      ERROR_CODES.InvalidParameter,
      `${name} must be a whole number from 1 to ${max} (got ${value})`,
      { status: 400 },
    );
  return value;
}

/** The options' layout, defaults filled in; a value out of range is an InvalidParameter. */
export function chooseLayout(
  opts: Pick<StartFleetOptions, 'brokers' | 'shards' | 'hubs'>,
  clusters: number,
): FleetLayout {
  return {
    brokers: whole('brokers', opts.brokers ?? defaultBrokerCount(clusters), MAX_BROKERS),
    shards: whole('shards', opts.shards ?? defaultShardCount(clusters), MAX_LOCAL_SHARDS),
    hubs: whole('hubs', opts.hubs ?? 1, MAX_HUBS),
  };
}
