/**
 * The fleet's CA and the hub's certificate (platform/fleet-tls.ts): made once, kept, issued again only
 * when a host is missing; keys 0600; the hub's certificate is the CA's, for server auth, with the hosts
 * as subject alternative names.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { BROKER_TLS_NAME, agentServerName } from '../../contract/index.js';
import { TLS_FILES, ensureBrokerTls, ensureFleetTls } from '../../platform/fleet-tls.js';
import { brokerTls } from '../../platform/nats.js';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-tls-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cert = async (name: string): Promise<X509Certificate> =>
  new X509Certificate(await readFile(join(dir, name)));

it('makes a CA and a hub certificate it signed, naming the loopback hosts and the ones asked for', async () => {
  const files = await ensureFleetTls(dir, ['hub', 'hub-front']);
  expect(files).toEqual({
    caFile: join(dir, TLS_FILES.ca),
    certFile: join(dir, TLS_FILES.cert),
    keyFile: join(dir, TLS_FILES.key),
  });
  const ca = await cert(TLS_FILES.ca);
  const hub = await cert(TLS_FILES.cert);
  expect(ca.ca).toBe(true);
  expect(hub.ca).toBe(false);
  expect(hub.verify(ca.publicKey)).toBe(true);
  expect(hub.issuer).toBe(ca.subject);
  for (const host of ['localhost', 'hub', 'hub-front']) expect(hub.checkHost(host)).toBe(host);
  for (const ip of ['127.0.0.1', '::1']) expect(hub.checkIP(ip)).toBeDefined();
  expect(hub.checkHost('example.com')).toBeUndefined();
  expect(hub.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  // A positive serial (Go's x509, i.e. kubectl, refuses negative ones).
  expect(Number.parseInt(hub.serialNumber.slice(0, 2), 16)).toBeLessThan(0x80);
  for (const key of [TLS_FILES.caKey, TLS_FILES.key])
    expect((await stat(join(dir, key))).mode & 0o777).toBe(0o600);
});

it('keeps both on a second start, and re-issues only the hub certificate for a new host', async () => {
  await ensureFleetTls(dir);
  const [ca1, hub1] = [await cert(TLS_FILES.ca), await cert(TLS_FILES.cert)];
  await ensureFleetTls(dir);
  expect((await cert(TLS_FILES.ca)).fingerprint256).toBe(ca1.fingerprint256);
  expect((await cert(TLS_FILES.cert)).fingerprint256).toBe(hub1.fingerprint256);
  await ensureFleetTls(dir, ['hub']);
  const hub2 = await cert(TLS_FILES.cert);
  expect((await cert(TLS_FILES.ca)).fingerprint256).toBe(ca1.fingerprint256);
  expect(hub2.fingerprint256).not.toBe(hub1.fingerprint256);
  expect(hub2.checkHost('hub')).toBe('hub');
});

it('makes a new CA and re-issues the hub certificate when the CA key is gone', async () => {
  await ensureFleetTls(dir);
  const ca1 = await cert(TLS_FILES.ca);
  await unlink(join(dir, TLS_FILES.caKey));
  await ensureFleetTls(dir);
  const ca2 = await cert(TLS_FILES.ca);
  expect(ca2.fingerprint256).not.toBe(ca1.fingerprint256);
  expect((await cert(TLS_FILES.cert)).verify(ca2.publicKey)).toBe(true);
});

it("issues the broker's certificate from the same CA, naming broker.arcfleet.internal, and keeps it", async () => {
  await ensureFleetTls(dir);
  const files = await ensureBrokerTls(dir, ['nats-0']);
  expect(files).toEqual({
    caFile: join(dir, TLS_FILES.ca),
    certFile: join(dir, TLS_FILES.brokerCert),
    keyFile: join(dir, TLS_FILES.brokerKey),
  });
  const ca = await cert(TLS_FILES.ca);
  const broker = await cert(TLS_FILES.brokerCert);
  expect(broker.verify(ca.publicKey)).toBe(true);
  // An EC P-256 key: each handshake's signature is far cheaper for the broker than RSA's.
  expect(broker.publicKey.asymmetricKeyType).toBe('ec');
  expect(broker.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  expect(broker.checkHost(BROKER_TLS_NAME)).toBe(BROKER_TLS_NAME);
  expect(broker.checkIP('127.0.0.1')).toBeDefined();
  expect(broker.checkHost('nats-0')).toBe('nats-0');
  // A client certificate too: the nodes of a NATS cluster dial each other's routes over mutual TLS.
  expect(broker.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
  expect((await stat(files.keyFile)).mode & 0o777).toBe(0o600);
  await ensureBrokerTls(dir, ['nats-0']);
  expect((await cert(TLS_FILES.brokerCert)).fingerprint256).toBe(broker.fingerprint256);
  // The hub's certificate is untouched by the broker's.
  expect((await cert(TLS_FILES.cert)).checkHost(BROKER_TLS_NAME)).toBeUndefined();
});

it("serves TLS with the broker's certificate: a client trusting the fleet CA accepts it as the broker", async () => {
  const files = await ensureBrokerTls(dir);
  const server = createTlsServer(
    { cert: await readFile(files.certFile), key: await readFile(files.keyFile) },
    (s) => s.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const got = await new Promise<string>((resolve, reject) => {
      const options = brokerTls(readFileSync(files.caFile, 'utf8'), agentServerName('config-agent', 'c1'));
      const s = tlsConnect({ host: '127.0.0.1', port, ...(options as object) }, () => undefined);
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    expect(got).toBe('ok');
  } finally {
    server.close();
  }
});
