/**
 * The fleet library: the component table and the one launcher behind the CLI, the tests, the bench
 * and the compose test. Named exports only.
 */
export {
  AGENT_SERVICES,
  COMPONENTS,
  DEFAULT_SERVICES,
  NODE_SERVICES,
  component,
  type Component,
  type FleetAddresses,
  type NodeServiceName,
  type ProcessName,
  type ServiceName,
} from './components.js';
export {
  DEFAULT_CLUSTER_COUNT,
  DEFAULT_DATA_DIR,
  DEFAULT_TIME_SCALE,
  runningFleet,
  startFleet,
  type FleetHandle,
  type WaitOptions,
} from './launcher.js';
export type { StartFleetOptions } from './options.js';
export {
  CLUSTERS_PER_SHARD,
  CONNECTIONS_PER_BROKER,
  MAX_BROKERS,
  MAX_HUBS,
  MAX_LOCAL_SHARDS,
  defaultBrokerCount,
  defaultShardCount,
} from './layout.js';
export { ServiceProcess, type LogLine } from './process.js';
export type { ServiceSupervision } from './supervision.js';
