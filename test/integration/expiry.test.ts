/**
 * Certificate expiry: with renewal stopped for one cluster (its clusteridentityoperator scaled to
 * zero) the cluster goes Expired when managedIdentityCertificateExpirationTime passes; Expired is
 * sticky (restarting the agents does not help, its expired identity is refused) until DELETE +
 * connect. The other clusters renew in the window and stay Connected.
 *
 * Time scale 60: certificate valid 12 simulated minutes (12 real s), renewal from minute 5 to 6.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NatsConnection } from 'nats';
import { connectRefusal, connectWire, heartbeat } from '../helpers/agent-wire.js';
import { TestFleet } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

let fleet: TestFleet;
let nc: NatsConnection;

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 3,
    env: {
      ARCFLEET_CERT_VALIDITY: '12m',
      ARCFLEET_CERT_RENEW_AFTER: '5m',
      ARCFLEET_CERT_RENEW_JITTER: '1m',
    },
  });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
  nc = await connectWire(fleet);
});

afterAll(async () => {
  await nc?.close();
  await fleet?.stop();
});

it('expires without renewal, stays Expired until delete + connect, while the others renew', async () => {
  const [doomed, ...others] = fleet.clusters.map((c) => c.name) as [string, ...string[]];
  await fleet.stopAgents(doomed, ['clusteridentityoperator']);
  const first = await fleet.get(doomed);
  const expiresAt = Date.parse(first.properties.managedIdentityCertificateExpirationTime ?? '');
  expect(expiresAt).toBeGreaterThan(fleet.clock.now());
  const othersBefore = new Map<string, number>();
  for (const n of others)
    othersBefore.set(
      n,
      Date.parse((await fleet.get(n)).properties.managedIdentityCertificateExpirationTime ?? ''),
    );

  const expired = await fleet.waitStatus(doomed, 'Expired', 30_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
  expect(fleet.clock.now()).toBeGreaterThanOrEqual(expiresAt);
  expect(expired.properties.managedIdentityCertificateExpirationTime).toBe(
    first.properties.managedIdentityCertificateExpirationTime,
  );

  // The others renewed in the window (their expiration moved forward) and stayed Connected.
  for (const n of others) {
    const c = await fleet.get(n);
    expect(c.properties.connectivityStatus, n).toBe('Connected');
    expect(Date.parse(c.properties.managedIdentityCertificateExpirationTime ?? ''), n).toBeGreaterThan(
      othersBefore.get(n) ?? Infinity,
    );
  }

  // The broker refuses the cluster's user (its JWT expired with the certificate), and the hub refuses
  // anything on an Expired cluster's subjects.
  // (The broker compares `exp` in whole seconds: within the second of the expiry it may still admit.)
  const expiredCreds = await fleet.clusterCredentials(doomed);
  await waitFor(() => connectRefusal(fleet, expiredCreds), {
    timeoutMs: 3000,
    until: (code) => code === 'AUTHORIZATION_VIOLATION',
    message: `the broker refusing ${doomed}'s expired user`,
  });
  const rejectedBefore = await fleet.metric('arcfleet_hub_rejected_messages_total', {
    reason: 'ClusterExpired',
  });
  const refused = await heartbeat(nc, fleet.ref(doomed));
  expect(refused).toMatchObject({ type: 'error', code: 'ClusterExpired' });
  expect(
    await fleet.metric('arcfleet_hub_rejected_messages_total', { reason: 'ClusterExpired' }),
  ).toBeGreaterThanOrEqual(rejectedBefore + 1);

  // Sticky: all agents running again for several heartbeat intervals, still Expired.
  await fleet.startAgents(doomed);
  await holdsFor(
    () => fleet.get(doomed),
    (c) => c.properties.connectivityStatus === 'Expired',
    3000,
    { message: `${doomed} Expired after its agents restarted` },
  );

  // Arc features stop: cluster connect and configuration writes refuse the Expired cluster.
  const cred = await fleet.hubClient.clusterUserCredential(fleet.ref(doomed), 'alice@contoso.com');
  const viaConnect = await fetch(`${cred.server}/api/v1/namespaces`, {
    headers: { authorization: `Bearer ${cred.token}` },
  });
  expect(viaConnect.status).toBe(403);
  expect(await viaConnect.json()).toMatchObject({ kind: 'Status', reason: 'ClusterExpired' });
  const extension = await fleet.arm.request(
    'PUT',
    `${fleet.arm.clusterPath(fleet.ref(doomed))}/providers/Microsoft.KubernetesConfiguration/extensions/flux`,
    { apiVersion: '2023-05-01', body: { properties: { extensionType: 'microsoft.flux' } } },
  );
  expect({ status: extension.status, body: extension.body }).toMatchObject({
    status: 403,
    body: { error: { code: 'ClusterExpired' } },
  });

  // Delete + connect again: a new identity, Connected.
  const del = await fleet.arm.deleteAndWait(fleet.ref(doomed));
  expect([del.first.status, del.final.status]).toEqual([202, 204]);
  expect((await fleet.arm.get(fleet.ref(doomed))).status).toBe(404);
  const put = await fleet.connect(doomed);
  expect(put.status).toBe(201);
  expect(put.resource.properties.connectivityStatus).toBe('Connecting');
  const back = await fleet.waitStatus(doomed, 'Connected', 30_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
  // The PUT's operation completes on its own clock, not with the agents: maybe just after Connected.
  await waitFor(() => fleet.arm.cluster(fleet.ref(doomed)), {
    until: (c) => c.properties.provisioningState === 'Succeeded',
    message: `${doomed} Succeeded`,
  });
  expect(Date.parse(back.properties.managedIdentityCertificateExpirationTime ?? '')).toBeGreaterThan(
    fleet.clock.now(),
  );
  // The old (expired, revoked) user stays refused.
  expect(await connectRefusal(fleet, expiredCreds)).toBe('AUTHORIZATION_VIOLATION');
  await waitFor(() => fleet.waitAll('Connected'), { message: 'whole fleet Connected', timeoutMs: 20_000 });
});
