import {
  ENV,
  compileCommonConfig,
  readNumber,
  readString,
  type CommonConfig,
  type Env,
} from '../../platform/settings.js';
import { ConfigError } from '../../contract/index.js';
import { parseUpstreams, type Upstream } from './upstreams.js';

export interface GatewayConfig extends CommonConfig {
  /** Agent-facing TCP port (agents' ARCFLEET_EGRESS_URL). */
  readonly port: number;
  /** Control API and /metrics. */
  readonly apiPort: number;
  readonly host: string;
  /** The broker's nodes (several: a NATS cluster). */
  readonly upstreams: readonly Upstream[];
  /** Bytes held per connection while dropped before it is silently destroyed. */
  readonly holdBytes: number;
}

export function compileGatewayConfig(env: Env = process.env): GatewayConfig {
  const common = compileCommonConfig(env);
  const upstreams = parseUpstreams(common.natsUrl);
  if (!upstreams)
    throw new ConfigError(
      ENV.natsUrl,
      `"${common.natsUrl}" must be nats://host[:port] (comma-separated for several nodes) for the gateway`,
    );
  return Object.freeze({
    ...common,
    port: readNumber(env, ENV.egressPort, 4223, { min: 0, max: 65535, integer: true }),
    apiPort: readNumber(env, ENV.egressApiPort, 8090, { min: 0, max: 65535, integer: true }),
    host: readString(env, ENV.egressHost, '127.0.0.1'),
    upstreams,
    holdBytes: readNumber(env, ENV.egressHoldBytes, 1024 * 1024, { min: 1024, integer: true }),
  });
}
