/**
 * Opens the hub's broker identity from its settings: the signing keys, the SYS connection that pushes
 * revocations, and the kept revocation list. Undefined when the hub runs against a broker without
 * accounts (no ARCFLEET_BROKER_KEYS).
 */
import type { KV, NatsConnection } from 'nats';
import { readCreds, readHubKeys } from '../../../platform/broker-files.js';
import type { Clock } from '../../../platform/clock.js';
import type { Logger } from '../../../platform/log.js';
import { connectNats } from '../../../platform/nats.js';
import { untilJetStream } from '../persistence/kv.js';
import type { HubSettings } from '../settings.js';
import { BOOTSTRAP_LIFETIME_SEC, BrokerUsers } from './broker-users.js';
import { Revocations } from './revocations.js';

export interface HubBroker {
  readonly users: BrokerUsers;
  close(): Promise<void>;
}

export async function openHubBroker(
  settings: HubSettings,
  deps: { clock: Clock; kv: KV; logger: Logger },
): Promise<HubBroker | undefined> {
  if (!settings.brokerKeysPath || !settings.natsSystemCredsPath) return undefined;
  const keys = await readHubKeys(settings.brokerKeysPath);
  const system: NatsConnection = await connectNats({
    url: settings.natsUrl,
    name: 'hub-system',
    logger: deps.logger,
    reconnectTimeWaitMs: 250,
    reconnectJitterMs: 250,
    credentials: await readCreds(settings.natsSystemCredsPath),
    ca: settings.natsCa,
  });
  const certLifetimeSec = settings.timings.certValidityMs / deps.clock.timeScale / 1000;
  const revocations = await untilJetStream('the broker revocations', () =>
    Revocations.open({
      keys,
      system,
      kv: deps.kv,
      maxUserLifetimeSec: Math.ceil(Math.max(certLifetimeSec, BOOTSTRAP_LIFETIME_SEC)) + 60,
      logger: deps.logger,
    }),
  );
  return {
    users: new BrokerUsers({ keys, clock: deps.clock, revocations }),
    close: () => system.drain(),
  };
}
