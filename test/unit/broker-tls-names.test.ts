/**
 * The names of NATS over TLS (contract/broker-tls.ts) and the gateway's reading of them
 * (services/egress-gateway/client-hello.ts): an agent's SNI names its cluster and itself, and the
 * gateway reads it from a real ClientHello, the bytes Node's TLS client sends.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agentServerName, parseAgentServerName } from '../../contract/index.js';
import { readClientHello } from '../../services/egress-gateway/client-hello.js';
import { identifyClient } from '../../services/egress-gateway/sniff.js';

const CLUSTER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** The first bytes Node's TLS client sends for `servername`. */
async function clientHello(servername: string): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const got = new Promise<Buffer>((resolve) =>
    server.once('connection', (s: Socket) => s.once('data', (d: Buffer) => (resolve(d), s.destroy()))),
  );
  const client = tlsConnect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername });
  client.on('error', () => undefined);
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

describe('agent server names', () => {
  it('round-trips any cluster name, case and all, within DNS limits', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(CLUSTER_NAME),
        fc.constantFrom('config-agent', 'clusterconnect-agent'),
        (cluster, agent) => {
          const sni = agentServerName(agent, cluster);
          expect(sni.length).toBeLessThanOrEqual(253);
          for (const label of sni.split('.')) expect(label).toMatch(/^[a-z0-9-]{1,63}$/);
          expect(parseAgentServerName(sni)).toEqual({ agent, cluster });
          expect(parseAgentServerName(sni.toUpperCase())).toEqual({ agent, cluster });
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });

  it('refuses names that are not an agent’s', () => {
    for (const sni of [
      'broker.arcfleet.internal',
      'agents.arcfleet.internal',
      'x.agents.arcfleet.internal',
      '1!.a.agents.arcfleet.internal',
    ])
      expect(parseAgentServerName(sni), sni).toBeUndefined();
  });
});

describe('reading the ClientHello', () => {
  it("finds the SNI in Node's ClientHello, and asks for more until the record is whole", async () => {
    const sni = agentServerName('config-agent', 'Arc_Cluster.01');
    const hello = await clientHello(sni);
    expect(readClientHello(hello)).toEqual({ kind: 'ok', serverName: sni });
    for (const cut of [1, 4, 5, 40, hello.length - 1])
      expect(readClientHello(hello.subarray(0, cut)).kind).toBe('more');
  });

  it('refuses what is not a ClientHello, or has no SNI, without throwing on any bytes', async () => {
    expect(readClientHello(Buffer.from('CONNECT {"name":"a/b"}\r\n'))).toMatchObject({ kind: 'invalid' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = readClientHello(Buffer.from([22, 3, 1, bytes.length >> 8, bytes.length & 255, ...bytes]));
        expect(['more', 'ok', 'invalid']).toContain(r.kind);
      }),
      { seed: 11, numRuns: 2000 },
    );
  });
});

describe("the gateway's identification of a connection", () => {
  it('takes agent and cluster from the SNI over TLS, and from the CONNECT line in plain TCP', async () => {
    const hello = await clientHello(agentServerName('metrics-agent', 'arc-01'));
    expect(identifyClient(hello)).toEqual({
      kind: 'ok',
      agent: 'metrics-agent',
      cluster: 'arc-01',
      encrypted: true,
    });
    expect(identifyClient(hello.subarray(0, 20)).kind).toBe('more');
    const connect = Buffer.from('CONNECT {"name":"metrics-agent/arc-01","verbose":false}\r\n');
    expect(identifyClient(connect)).toEqual({
      kind: 'ok',
      agent: 'metrics-agent',
      cluster: 'arc-01',
      encrypted: false,
    });
  });

  it("refuses a TLS client whose server name is not an agent's, or names no valid cluster", async () => {
    for (const sni of ['broker.arcfleet.internal', agentServerName('config-agent', '-not-a-cluster')])
      expect(identifyClient(await clientHello(sni)), sni).toMatchObject({ kind: 'invalid' });
  });
});
