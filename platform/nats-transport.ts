/**
 * A fix for nats.js 2.x's Node transport (nats-io/nats.js#64, fixed only in the 3.x transport): a
 * connection attempt that its `timeout` abandons before the transport has connected keeps its socket.
 * `close()` returns early while `connected` is false, so a TLS handshake still in flight (or a dial)
 * lives on: it completes whenever its bytes arrive, costing both ends a handshake for a connection
 * nobody uses. Behind a cut link (the egress gateway holding every byte) each reconnect attempt left
 * one such socket; a restore released dozens per cluster at once, and their handshakes starved the
 * live links' pings (test/chaos/percent.test.ts). Plain TCP was spared: the transport counts as
 * connected once INFO arrives, before the protocol's timer can fire.
 *
 * Patched once per process, on the prototype, so every connection of it (ours and a test's own
 * `connect`) gets it: an abandoned transport destroys what it holds and whatever its dial yields later.
 */
import type { Socket } from 'node:net';
import { NodeTransport } from 'nats/lib/src/node_transport.js';

interface Abandonable {
  socket: Socket | undefined;
  connected: boolean;
  abandoned?: boolean;
}

let patched = false;

export function closeAbandonedConnects(): void {
  if (patched) return;
  patched = true;
  const proto = NodeTransport.prototype as unknown as {
    close(this: Abandonable, err?: Error): Promise<void>;
    dial(this: Abandonable, hp: { hostname: string; port: number }): Promise<Socket>;
  };
  const close = proto.close;
  const dial = proto.dial;
  proto.close = function (this: Abandonable, err?: Error): Promise<void> {
    this.abandoned = true;
    if (!this.connected) this.socket?.destroy();
    return close.call(this, err);
  };
  proto.dial = async function (this: Abandonable, hp: { hostname: string; port: number }): Promise<Socket> {
    const socket = await dial.call(this, hp);
    if (this.abandoned) socket.destroy();
    return socket;
  };
}
