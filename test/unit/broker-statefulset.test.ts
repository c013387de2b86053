// `arcfleet broker init` for Kubernetes: one nats.conf for every pod of the nats StatefulSet, and the
// trust chain kept in Secrets (deploy/kubernetes runs it as the broker-trust Job).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statefulSetRoutes } from '../../platform/broker-statefulset.js';
import { brokerInit, type BrokerInitOptions } from '../../cli/commands/broker.js';
import { kubernetesSecrets } from '../../cli/kubernetes-secrets.js';
import { memorySecrets } from '../helpers/memory-secrets.js';

/** Secrets in memory, as the API server would keep them (merge patches). */
const base = (root: string, name: string): BrokerInitOptions => ({
  dir: join(root, name, 'broker'),
  hubDir: join(root, name, 'hub'),
  serverDir: '/broker',
  storeDir: '/data/jetstream',
  resolverDir: '/data/resolver',
  host: '0.0.0.0',
  port: 4222,
  monitorPort: 8222,
  nodes: 3,
  routeHostPattern: 'nats-{i}.nats',
  routePort: 6222,
  serverName: '$POD_NAME',
});

describe('broker init for a StatefulSet', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'arcfleet-sts-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('names every replica, itself included, in ordinal order', () => {
    expect(statefulSetRoutes('nats-{i}.nats', 3, 6222)).toEqual([
      'nats-0.nats:6222',
      'nats-1.nats:6222',
      'nats-2.nats:6222',
    ]);
    expect(() => statefulSetRoutes('nats.nats', 3, 6222)).toThrow(/no \{i\}/);
  });

  it('writes one nats.conf every pod can use', async () => {
    const o = base(root, 'plain');
    await brokerInit(o, () => {});
    const conf = await readFile(join(o.dir, 'nats.conf'), 'utf8');
    expect(conf).toContain('server_name: $POD_NAME');
    expect(conf).toContain('no_advertise: true');
    expect(conf).toContain(
      'routes: ["nats-route://nats-0.nats:6222", "nats-route://nats-1.nats:6222", "nats-route://nats-2.nats:6222"]',
    );
    expect(conf).toContain('operator: "/broker/operator.jwt"');
    expect(conf).toMatch(/resolver: \{ type: full, dir: "\/data\/resolver"/);
    // The store is encrypted at rest with the key kept beside the chain; the config is a secret too.
    const key = (await readFile(join(o.dir, 'jetstream.key'), 'utf8')).trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(conf).toContain(
      `jetstream: { store_dir: "/data/jetstream", cipher: chachapoly, key: ${JSON.stringify(key)} }`,
    );
    for (const f of ['nats.conf', 'jetstream.key'])
      expect((await stat(join(o.dir, f))).mode & 0o777, f).toBe(0o600);
    expect((await readdir(join(o.dir, 'resolver'))).filter((f) => f.endsWith('.jwt'))).toHaveLength(3);
    expect((await stat(join(o.hubDir!, 'hub.creds'))).mode & 0o777).toBe(0o600);
  });

  it('refuses several nodes without a route pattern', async () => {
    const { routeHostPattern: _none, ...o } = base(root, 'no-pattern');
    await expect(brokerInit(o, () => {})).rejects.toThrow(/--route-host-pattern/);
  });

  it('keeps the chain in Secrets and restores it on a second run', async () => {
    const secrets = memorySecrets();
    const o = { ...base(root, 'first'), kubernetesSecrets: 'arcfleet-broker' };
    await brokerInit(
      o,
      () => {},
      () => secrets,
    );
    expect([...secrets.data.keys()].sort()).toEqual([
      'arcfleet-broker-hub',
      'arcfleet-broker-server',
      'arcfleet-broker-trust',
    ]);
    const server = secrets.data.get('arcfleet-broker-server')!;
    expect(Object.keys(server).filter((k) => /^A\w+\.jwt$/.test(k))).toHaveLength(3);
    expect(Object.keys(secrets.data.get('arcfleet-broker-hub')!).sort()).toEqual([
      'hub-keys.json',
      'hub.creds',
      'system.creds',
    ]);
    const first = { ...server };
    const storeKey = secrets.data.get('arcfleet-broker-trust')!['jetstream.key']!.toString();
    expect(first['nats.conf']!.toString()).toContain(JSON.stringify(storeKey.trim()));
    const hubCreds = secrets.data.get('arcfleet-broker-hub')!['hub.creds']!.toString();

    // A new pod (empty directories) finds the same chain: same operator, same hub user.
    await brokerInit(
      { ...o, ...base(root, 'second'), kubernetesSecrets: 'arcfleet-broker' },
      () => {},
      () => secrets,
    );
    const again = secrets.data.get('arcfleet-broker-server')!;
    expect(again['operator.jwt']!.toString()).toBe(first['operator.jwt']!.toString());
    // The same store key, or the pods could not read the streams they already hold.
    expect(again['nats.conf']!.toString()).toContain(JSON.stringify(storeKey.trim()));
    expect(secrets.data.get('arcfleet-broker-hub')!['hub.creds']!.toString()).toBe(hubCreds);
    expect(await readFile(join(root, 'second', 'hub', 'hub.creds'), 'utf8')).toBe(hubCreds);
  });

  it('refuses a trust Secret whose hub Secret was emptied', async () => {
    const secrets = memorySecrets();
    const o = { ...base(root, 'broken'), kubernetesSecrets: 'x' };
    await brokerInit(
      o,
      () => {},
      () => secrets,
    );
    secrets.data.delete('x-hub');
    await expect(
      brokerInit(
        { ...base(root, 'broken-2'), kubernetesSecrets: 'x' },
        () => {},
        () => secrets,
      ),
    ).rejects.toThrow(/x-hub lacks hub-keys.json/);
  });
});

describe('Kubernetes Secrets client', () => {
  let server: Server;
  let url: string;
  const seen: { method: string; path: string; auth: string; type: string; body: string }[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          method: req.method ?? '',
          path: req.url ?? '',
          auth: req.headers.authorization ?? '',
          type: req.headers['content-type'] ?? '',
          body,
        });
        if (req.url?.endsWith('/missing')) res.writeHead(404).end('{"reason":"NotFound"}');
        else if (req.url?.endsWith('/empty')) res.writeHead(200).end('{"kind":"Secret"}');
        else
          res
            .writeHead(200)
            .end(JSON.stringify({ data: { 'a.txt': Buffer.from('hello').toString('base64') } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('gets and merge-patches a named Secret with the bearer token', async () => {
    const s = kubernetesSecrets({ baseUrl: url, token: 't0k', namespace: 'arcfleet' });
    expect((await s.read('one'))?.['a.txt']?.toString()).toBe('hello');
    expect(await s.read('empty')).toBeUndefined();
    await expect(s.read('missing')).rejects.toThrow(/HTTP 404/);
    await s.patch('one', { 'b.txt': 'bye' });
    expect(seen[0]).toMatchObject({
      method: 'GET',
      path: '/api/v1/namespaces/arcfleet/secrets/one',
      auth: 'Bearer t0k',
    });
    expect(seen.at(-1)).toMatchObject({ method: 'PATCH', type: 'application/merge-patch+json' });
    expect(JSON.parse(seen.at(-1)!.body)).toEqual({
      data: { 'b.txt': Buffer.from('bye').toString('base64') },
    });
  });
});
