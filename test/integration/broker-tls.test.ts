/**
 * NATS over TLS with the fleet's own CA (issue 17 point 5): what crosses the wire between a cluster and
 * the broker is ciphertext, except the names a firewall may read (the server's INFO, the client's SNI);
 * a client that does not speak TLS, or does not trust the fleet CA, gets nothing; the egress gateway
 * tells clusters apart by the server name alone.
 */
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { agentServerName, BROKER_TLS_NAME } from '../../contract/index.js';
import { userAuthenticator } from '../../platform/broker-keys.js';
import { ENV } from '../../platform/settings.js';
import { metricValue } from '../helpers/arm.js';
import { TestFleet } from '../helpers/fleet.js';

let fleet: TestFleet;
let tap: Server | undefined;
/** Every byte the tap relayed, both ways. */
const seen: Buffer[] = [];
const open: NatsConnection[] = [];

/** A TCP relay in front of the gateway that keeps a copy of everything: what a wire tap would see. */
async function startTap(target: URL): Promise<number> {
  const server = createServer((client: Socket) => {
    const upstream = tcpConnect({ host: target.hostname, port: Number(target.port) });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('data', (chunk: Buffer) => {
        seen.push(Buffer.from(chunk));
        to.write(chunk);
      });
      from.on('close', () => to.destroy());
      from.on('error', () => to.destroy());
    }
  });
  tap = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

beforeAll(async () => {
  fleet = await TestFleet.start({ clusters: 1, agents: false, connect: false, gateway: true });
}, 60_000);

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
  tap?.close();
  await fleet?.stop();
});

const gatewayUrl = (): URL => new URL(fleet.env[ENV.egressUrl] ?? '');

describe('NATS over TLS', () => {
  it('carries messages and credentials as ciphertext: a wire tap reads only the names', async () => {
    const creds = await fleet.natsCredentials();
    const auth = { authenticator: userAuthenticator(() => creds) };
    const cluster = fleet.clusters[0]?.name ?? '';
    const echo = await connect({ servers: fleet.nats.url, ...auth, ...(await fleet.natsTls()) });
    open.push(echo);
    echo.subscribe('test.tls.echo', { callback: (_err, m) => m.respond(m.data) });
    await echo.flush();
    const port = await startTap(gatewayUrl());
    const sni = agentServerName('config-agent', cluster);
    const agent = await connect({
      servers: `nats://127.0.0.1:${port}`,
      ...auth,
      ...(await fleet.natsTls(sni)),
    });
    open.push(agent);
    const marker = 'protectedSettings-marker-7f3a9c';
    const reply = await agent.request('test.tls.echo', new TextEncoder().encode(marker), { timeout: 5000 });
    expect(reply.string()).toBe(marker);

    const wire = Buffer.concat(seen).toString('latin1');
    // The tap saw the exchange: the server's INFO (plaintext by the protocol) and the client's SNI.
    expect(wire).toContain('"tls_required":true');
    expect(wire).toContain(sni);
    // Nothing else in clear: not the message, not the user's JWT, not the CONNECT or the subject.
    expect(wire).not.toContain(marker);
    expect(wire).not.toContain(creds.jwt.slice(-40));
    expect(wire).not.toContain('CONNECT');
    expect(wire).not.toContain('test.tls.echo');
  });

  it('refuses a client that speaks plain NATS, and one that does not trust the fleet CA', async () => {
    // A raw CONNECT straight to the broker: it waits for a TLS handshake and gives up, answering nothing.
    const url = new URL(fleet.nats.url.split(',')[0] ?? '');
    const answer = await new Promise<string>((resolve) => {
      const s = tcpConnect({ host: url.hostname, port: Number(url.port) });
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (got.startsWith('INFO') && got.includes('\r\n'))
          s.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n');
      });
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
      s.setTimeout(10_000, () => s.destroy());
    });
    expect(answer).toMatch(/^INFO /);
    expect(answer).not.toContain('PONG');
    expect(answer).not.toContain('+OK');

    // A client with the system's CAs only: the broker's certificate is not one it trusts.
    const creds = await fleet.natsCredentials();
    const err = await connect({
      servers: fleet.nats.url,
      authenticator: userAuthenticator(() => creds),
      reconnect: false,
      tls: { servername: BROKER_TLS_NAME } as never,
    }).then(
      async (nc) => {
        await nc.close();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(String(err)).toMatch(/certificate/i);
  }, 20_000);

  it('the gateway refuses a TLS client whose server name names no agent, and counts it', async () => {
    const invalid = async (): Promise<number> =>
      metricValue(
        await (await fetch(`${fleet.gatewayApiUrl ?? ''}/metrics`)).text(),
        'arcfleet_egress_connections_total',
        { outcome: 'invalid' },
      );
    const before = await invalid();
    const creds = await fleet.natsCredentials();
    const err = await connect({
      servers: gatewayUrl().toString(),
      authenticator: userAuthenticator(() => creds),
      reconnect: false,
      ...(await fleet.natsTls(BROKER_TLS_NAME)),
    }).then(
      async (nc) => {
        await nc.close();
        return undefined;
      },
      (e: Error) => e,
    );
    expect(err).toBeDefined();
    expect(await invalid()).toBe(before + 1);
  });
});
