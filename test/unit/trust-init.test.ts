// `arcfleet trust init` (compose's hub-trust one-shot): the whole trust set in a data dir's layout, the
// hub's share elsewhere without any private key but its own, secrets 0600, and a second run keeping
// the CA and issuer (tokens and trust stay valid).
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { trustInit, trustInitWithSecrets } from '../../cli/commands/trust.js';
import { memorySecrets } from '../helpers/memory-secrets.js';
import { BROKER_TLS_NAME } from '../../contract/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcfleet-trust-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

it('writes the trust set and the hub share, and keeps both on a second run', async () => {
  const lines: string[] = [];
  const o = { dir: join(dir, 'trust'), hubDir: join(dir, 'hub'), hosts: ['hub', 'hub-front'] };
  await trustInit(o, (l) => lines.push(l));
  expect((await readdir(join(dir, 'trust', 'tls'))).sort()).toEqual([
    'ca-key.pem',
    'ca.pem',
    'hub-key.pem',
    'hub.pem',
  ]);
  expect((await readdir(join(dir, 'trust', 'issuer'))).sort()).toEqual(['issuer-key.json', 'jwks.json']);
  expect((await readdir(join(dir, 'hub'))).sort()).toEqual(['ca.pem', 'hub-key.pem', 'hub.pem', 'jwks.json']);
  expect(await mode(join(dir, 'hub', 'hub-key.pem'))).toBe(0o600);
  expect(await mode(join(dir, 'trust', 'issuer', 'issuer-key.json'))).toBe(0o600);
  expect(await readFile(join(dir, 'hub', 'jwks.json'), 'utf8')).not.toContain('"d"');
  expect(lines[0]).toContain('hub certificate for localhost, 127.0.0.1, hub, hub-front');
  const ca = await readFile(join(dir, 'hub', 'ca.pem'), 'utf8');
  const jwks = await readFile(join(dir, 'hub', 'jwks.json'), 'utf8');
  await trustInit(o, () => undefined);
  expect(await readFile(join(dir, 'hub', 'ca.pem'), 'utf8')).toBe(ca);
  expect(await readFile(join(dir, 'hub', 'jwks.json'), 'utf8')).toBe(jwks);
});

it('keeps the trust set in Kubernetes Secrets: the hub share apart, restored on the next run', async () => {
  const secrets = memorySecrets();
  const o = (run: string) => ({
    dir: join(dir, run, 'trust'),
    hubDir: join(dir, run, 'hub'),
    hosts: ['hub.arcfleet.svc'],
    kubernetesSecrets: 'arcfleet-fleet',
  });
  await trustInitWithSecrets(o('first'), () => undefined, secrets);
  const hub = secrets.data.get('arcfleet-fleet-hub') ?? {};
  expect(Object.keys(hub).sort()).toEqual(['ca.pem', 'hub-key.pem', 'hub.pem', 'jwks.json']);
  expect(Object.keys(secrets.data.get('arcfleet-fleet-trust') ?? {}).sort()).toEqual([
    'ca-key.pem',
    'ca.pem',
    'hub-key.pem',
    'hub.pem',
    'issuer-key.json',
    'jwks.json',
  ]);
  // A second Job, on a fresh emptyDir: the same CA and issuer come back from the Secret.
  await trustInitWithSecrets(o('second'), () => undefined, secrets);
  expect(await readFile(join(dir, 'second', 'trust', 'tls', 'ca.pem'))).toEqual(hub['ca.pem']);
  expect(secrets.data.get('arcfleet-fleet-hub')?.['jwks.json']).toEqual(hub['jwks.json']);
});

it("shares the broker's certificate (NATS over TLS) and the CA alone, each where its users mount it", async () => {
  const o = {
    dir: join(dir, 'trust'),
    hosts: [],
    brokerDir: join(dir, 'broker-tls'),
    brokerHosts: ['nats-0', 'nats-1'],
    caDir: join(dir, 'fleet-ca'),
  };
  await trustInit(o, () => undefined);
  expect((await readdir(join(dir, 'broker-tls'))).sort()).toEqual(['broker-key.pem', 'broker.pem', 'ca.pem']);
  expect(await mode(join(dir, 'broker-tls', 'broker-key.pem'))).toBe(0o600);
  expect(await readdir(join(dir, 'fleet-ca'))).toEqual(['ca.pem']);
  const ca = new X509Certificate(await readFile(join(dir, 'fleet-ca', 'ca.pem')));
  const broker = new X509Certificate(await readFile(join(dir, 'broker-tls', 'broker.pem')));
  expect(broker.verify(ca.publicKey)).toBe(true);
  for (const host of [BROKER_TLS_NAME, 'nats-0', 'nats-1']) expect(broker.checkHost(host)).toBe(host);
  // The CA's key never leaves the trust directory.
  expect(await readFile(join(dir, 'broker-tls', 'broker-key.pem'), 'utf8')).not.toBe(
    await readFile(join(dir, 'trust', 'tls', 'ca-key.pem'), 'utf8'),
  );
});

it("keeps the broker's share in its own Secret, from the CA kept across runs", async () => {
  const secrets = memorySecrets();
  const o = (run: string) => ({
    dir: join(dir, run, 'trust'),
    hubDir: join(dir, run, 'hub'),
    hosts: [],
    brokerDir: join(dir, run, 'broker'),
    brokerHosts: ['nats-0.nats'],
    kubernetesSecrets: 'arcfleet-fleet',
  });
  await trustInitWithSecrets(o('first'), () => undefined, secrets);
  await trustInitWithSecrets(o('second'), () => undefined, secrets);
  const share = secrets.data.get('arcfleet-fleet-broker') ?? {};
  expect(Object.keys(share).sort()).toEqual(['broker-key.pem', 'broker.pem', 'ca.pem']);
  const ca = new X509Certificate(secrets.data.get('arcfleet-fleet-trust')?.['ca.pem'] ?? '');
  expect(new X509Certificate(share['broker.pem'] ?? '').verify(ca.publicKey)).toBe(true);
  expect(share['ca.pem']).toEqual(secrets.data.get('arcfleet-fleet-trust')?.['ca.pem']);
});
