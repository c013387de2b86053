/** What a caller (the CLI, a test, the bench) may ask of `startFleet`; every option has a default. */
import type { ClusterState } from '../contract/index.js';
import type { ServiceName } from './components.js';
import type { LivenessOptions } from './liveness.js';
import type { RestartPolicyOptions } from './supervisor.js';

export interface StartFleetOptions {
  /** Default `.arcfleet` (relative to the cwd). */
  readonly dataDir?: string;
  /** Number of generated clusters (default 10); ignored when `specFile` or `clusterStates` is given. */
  readonly clusters?: number;
  readonly specFile?: string;
  /** Explicit cluster states (tests); generation/changedAt are reset. */
  readonly clusterStates?: readonly ClusterState[];
  readonly seed?: number | string;
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  /**
   * The components to run (default: every row of the component table but prometheus); nats-server
   * and the hub always run. Without `egress-gateway` the agents connect to the broker directly.
   */
  readonly services?: readonly ServiceName[];
  /** Simulated time speed-up (default 60). */
  readonly timeScale?: number;
  /** Default: now. Every child gets the same value. */
  readonly epochMs?: number;
  /** Default: a free port. */
  readonly hubPort?: number;
  /** Serve the hub on plain HTTP instead of HTTPS with the fleet's CA (`--plain-http`). */
  readonly plainHttp?: boolean;
  /** Node 0's client port (default: a free port). */
  readonly natsPort?: number;
  /**
   * nats-server nodes; several make a NATS cluster with routes and JetStream replicated on up to three
   * (default `defaultBrokerCount(clusters)`: one up to 2,000 clusters).
   */
  readonly brokers?: number;
  /**
   * Shards, each with its own egress gateway and one process per agent kind (`<agent>-<i>`), hosting
   * the clusters `shardOf` gives it (default `defaultShardCount(clusters)`: one up to 1,300 clusters).
   */
  readonly shards?: number;
  /** Hub replicas sharing the KV buckets, one leading the time-driven work (default 1). */
  readonly hubs?: number;
  /** Children in their own process group, unref'd: they outlive the launcher (`arcfleet down` stops them). */
  readonly detach?: boolean;
  /** Extra environment for every child (e.g. ARCFLEET_OFFLINE_THRESHOLD); the launcher's own settings win. */
  readonly env?: Readonly<Record<string, string>>;
  /** Onboard every cluster after start (default true). */
  readonly connect?: boolean;
  /** Parallel PUTs while onboarding (default 16). */
  readonly connectConcurrency?: number;
  /** Remove the data dir's previous clusters, broker data and logs first (default true). */
  readonly reset?: boolean;
  /** Directory holding `services/<name>/main.js` (default: the dist/ this module was loaded from). */
  readonly distDir?: string;
  /** Real ms to wait for each component to become ready (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Aborts start-up (Ctrl-C while starting): whatever started is stopped and startFleet rejects. */
  readonly signal?: AbortSignal;
  /** Called with short progress lines ("nats-server ready on ..."). */
  readonly log?: (line: string) => void;
  /** Also start a local Prometheus scraping every service (`arcfleet up --prometheus`; Debian package `prometheus`). */
  readonly prometheus?: boolean;
  /** Default: a free port. */
  readonly prometheusPort?: number;
  /** Scrape and rule evaluation interval of that Prometheus (default 5s). */
  readonly scrapeInterval?: string;
  /**
   * Restart services that exit unasked once the fleet has started (default: on, unless detached: a
   * detached fleet outlives its launcher and nobody supervises it). Tests that kill processes on
   * purpose turn it off.
   */
  readonly supervise?: boolean;
  readonly restartPolicy?: Partial<RestartPolicyOptions>;
  /** The supervisor's liveness probe (default: every 10 s, 5 s timeout, 3 failures in a row). */
  readonly liveness?: Partial<LivenessOptions>;
  /** Keep each service's JSON log lines in memory as well as in its log file (tests assert on them). */
  readonly captureLogs?: boolean;
  /** Extra Node arguments per Node service (e.g. `{ hub: ['--cpu-prof', '--cpu-prof-dir=…'] }`). */
  readonly nodeArgs?: Partial<Record<string, readonly string[]>>;
}
