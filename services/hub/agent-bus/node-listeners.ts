/**
 * The hub's ears on every broker node. NATS delivers a message to a queue-group member on the node it
 * was published on when there is one, so a hub subscribed on every node takes the agents' messages
 * without a hop across a route, and answers on the same node (docs/scale-out.md: routing doubled the
 * broker's work). One connection per node of `ARCFLEET_NATS_URL`, pinned to it: the nodes do not
 * advertise each other, so a listener whose node is down waits for it while the listeners on the other
 * nodes hear the agents that reconnected there. With one URL the hub's own connection is the listener.
 *
 * The hub is deaf only while every listener is down; `onHearing(false)` then, `onHearing(true)` when
 * one is back (connected-clusters counts no Offline meanwhile).
 */
import type { NatsConnection } from 'nats';
import type { UserCredentials } from '../../../platform/broker-keys.js';
import type { Logger } from '../../../platform/log.js';
import { connectNats } from '../../../platform/nats.js';

export interface NodeListenersOptions {
  /** Every broker node's URL. */
  readonly urls: readonly string[];
  readonly credentials: UserCredentials | undefined;
  /** The fleet CA: the listeners connect over TLS (platform/nats.ts). */
  readonly ca: string | undefined;
  readonly logger: Logger;
  /** Called with each listener once it is connected (it subscribes there). */
  readonly onListener: (nc: NatsConnection) => void;
  readonly onHearing: (up: boolean) => void;
}

/** Which listeners are down; tells when the last goes down and when the first comes back. */
export class Hearing {
  private readonly down = new Set<number>();

  constructor(
    private readonly total: number,
    private readonly onHearing: (up: boolean) => void,
  ) {}

  status(listener: number, s: { readonly type: string }): void {
    const wasDeaf = this.down.size === this.total;
    if (s.type === 'disconnect') this.down.add(listener);
    else if (s.type === 'reconnect') this.down.delete(listener);
    else return;
    const deaf = this.down.size === this.total;
    if (deaf !== wasDeaf) this.onHearing(!deaf);
  }
}

export class NodeListeners {
  private readonly connections: NatsConnection[] = [];
  private closed = false;

  /** Opens a listener per node in the background (a node that is down must not hold the hub up). */
  constructor(private readonly opts: NodeListenersOptions) {
    const hearing = new Hearing(opts.urls.length, opts.onHearing);
    opts.urls.forEach((url, i) => {
      connectNats({
        url,
        name: `hub-listener-${i}`,
        logger: opts.logger,
        reconnectTimeWaitMs: 250,
        reconnectJitterMs: 250,
        credentials: opts.credentials,
        ca: opts.ca,
        onStatus: (s) => hearing.status(i, s),
      }).then(
        (nc) => {
          if (this.closed) {
            void nc.close();
            return;
          }
          this.connections.push(nc);
          opts.onListener(nc);
        },
        (err: unknown) =>
          opts.logger.error({ event: 'hub.listener_failed', url, err }, 'cannot listen on a broker node'),
      );
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.connections.map((nc) => nc.drain().catch(() => undefined)));
  }
}
