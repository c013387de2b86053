/**
 * The hub speaks HTTPS by default with a certificate from the fleet's own CA (platform/fleet-tls.ts),
 * and serves the live page, its feed and /metrics on plain loopback HTTP too, nothing else
 * (services/hub/arm/plain-listener.ts). `plainHttp` turns HTTPS off.
 */
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFleetFile } from '../../fleet/fleet-file.js';
import { TestFleet } from '../helpers/fleet.js';

/** What a client that does not trust the fleet's CA gets: node:https with the public roots only. */
function untrustedGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: 5000 }, (res) => {
      res.resume();
      resolve(`HTTP ${res.statusCode}`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.on('timeout', () => reject(new Error('timeout')));
    req.end();
  });
}

describe('an HTTPS hub (the default)', () => {
  let fleet: TestFleet;
  beforeAll(async () => {
    fleet = await TestFleet.start({ clusters: 1, agents: false });
  }, 60_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('serves the ARM API on HTTPS with a certificate from the CA fleet.json names', async () => {
    const file = await readFleetFile(fleet.dataDir);
    expect(file?.hubUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(file?.caFile).toBe(join(fleet.dataDir, 'tls', 'ca.pem'));
    const ca = new X509Certificate(await readFile(file?.caFile ?? ''));
    expect(ca.ca).toBe(true);
    const hubCert = new X509Certificate(await readFile(join(fleet.dataDir, 'tls', 'hub.pem')));
    expect(hubCert.verify(ca.publicKey)).toBe(true);
    expect(hubCert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(hubCert.checkHost('localhost')).toBe('localhost');
    // Keys are secrets: 0600.
    for (const key of ['ca-key.pem', 'hub-key.pem'])
      expect((await stat(join(fleet.dataDir, 'tls', key))).mode & 0o777).toBe(0o600);
    // This process trusts the fleet's CA (the launcher added it): the ARM API answers.
    const list = await fleet.arm.listSubscription(fleet.subscriptionId);
    expect(list.value).toHaveLength(1);
    // A client that does not know the CA refuses the certificate.
    expect(await untrustedGet(`${fleet.hubUrl}/healthz`)).toMatch(
      /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/,
    );
  });

  it('returns kubeconfigs that carry the CA and point at the HTTPS endpoint', async () => {
    const c = fleet.clusters[0];
    if (!c) throw new Error('no cluster');
    const text = await fleet.hubClient.clusterUserKubeconfig(c, 'alice');
    const kc = parse(text) as { clusters: { cluster: Record<string, string> }[] };
    const cluster = kc.clusters[0]?.cluster ?? {};
    expect(cluster['server']).toMatch(/^https:\/\//);
    expect(Buffer.from(cluster['certificate-authority-data'] ?? '', 'base64').toString()).toBe(
      await readFile(join(fleet.dataDir, 'tls', 'ca.pem'), 'utf8'),
    );
  });

  it('serves the page, its data and /metrics on plain loopback HTTP, and refuses the ARM API there', async () => {
    const file = await readFleetFile(fleet.dataDir);
    const page = file?.pageUrl ?? '';
    expect(page).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const html = await fetch(`${page}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toContain('text/html');
    await html.body?.cancel();
    const metrics = await fetch(`${page}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('arcfleet_');
    const arm = await fetch(
      `${page}/subscriptions/${fleet.subscriptionId}/providers/Microsoft.Kubernetes/connectedClusters?api-version=2024-01-01`,
    );
    expect(arm.status).toBe(403);
    const body = (await arm.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('HttpsRequired');
    expect(body.error.message).toContain(fleet.hubUrl);
    const connect = await fetch(`${page}/arcfleet/v1/clusterconnect/x/y/z/api`);
    expect(connect.status).toBe(403);
    await connect.body?.cancel();
  });
});

describe('a plain-HTTP hub (plainHttp)', () => {
  let fleet: TestFleet;
  beforeAll(async () => {
    fleet = await TestFleet.start({ clusters: 1, agents: false, plainHttp: true });
  }, 60_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('serves everything on one plain port, with no CA in fleet.json or the kubeconfig', async () => {
    const file = await readFleetFile(fleet.dataDir);
    expect(file?.hubUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(file?.pageUrl).toBe(file?.hubUrl);
    expect(file?.caFile).toBeUndefined();
    const c = fleet.clusters[0];
    if (!c) throw new Error('no cluster');
    const kc = parse(await fleet.hubClient.clusterUserKubeconfig(c, 'alice')) as {
      clusters: { cluster: Record<string, string> }[];
    };
    expect(kc.clusters[0]?.cluster['server']).toMatch(/^http:\/\//);
    expect(kc.clusters[0]?.cluster['certificate-authority-data']).toBeUndefined();
  });
});
