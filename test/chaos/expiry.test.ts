/**
 * Chaos acceptance 4: a cluster cut (drop) for longer than its certificate validity goes Expired;
 * restoring egress does not help (Expired is sticky, the old identity is refused); delete + connect:
 * Connected. The other clusters renew in the window and stay Connected throughout.
 * Time scale 60: certificate valid 12 simulated minutes (12 real s), renewal from minute 5 to 6.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ENV } from '../../platform/settings.js';
import { TestFleet, fastLinks } from '../helpers/fleet.js';
import { holdsFor, waitFor } from '../helpers/wait.js';

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await TestFleet.start({
    clusters: 3,
    gateway: true,
    env: {
      [ENV.certValidity]: '12m',
      [ENV.certRenewAfter]: '5m',
      [ENV.certRenewJitter]: '1m',
      ...fastLinks(),
    },
  });
  await fleet.waitAll('Connected').catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
});

afterAll(async () => {
  await fleet?.stop();
});

it('a cut longer than the certificate validity: Expired, still Expired after restore, Connected after delete + connect', async () => {
  const [doomed, ...others] = fleet.clusters.map((c) => c.name) as [string, ...string[]];
  const first = await fleet.get(doomed);
  const expiresAt = Date.parse(first.properties.managedIdentityCertificateExpirationTime ?? '');
  const cut = await fleet.gatewayApi('PUT', `/v1/clusters/${doomed}/mode`, { mode: { kind: 'drop' } });
  expect(cut.status).toBe(200);

  await fleet.waitStatus(doomed, 'Offline', 15_000);
  const expired = await fleet.waitStatus(doomed, 'Expired', 30_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
  expect(fleet.clock.now()).toBeGreaterThanOrEqual(expiresAt);
  expect(expired.properties.managedIdentityCertificateExpirationTime).toBe(
    first.properties.managedIdentityCertificateExpirationTime,
  );
  for (const n of others) expect((await fleet.get(n)).properties.connectivityStatus, n).toBe('Connected');

  // Restore: the broker refuses the agents' expired user (and the hub their identity); still Expired.
  expect((await fleet.gatewayApi('DELETE', `/v1/clusters/${doomed}/mode`)).status).toBe(200);
  await holdsFor(
    () => fleet.get(doomed),
    (c) => c.properties.connectivityStatus === 'Expired',
    3000,
    { message: `${doomed} Expired after restore` },
  );

  // Delete + connect: a new identity, Connected. The broker refuses the expired cluster user, so its
  // agents never hear the `disconnect`: connect replaces their onboarding secret, as a reinstall would.
  expect((await fleet.arm.deleteAndWait(fleet.ref(doomed))).final.status).toBe(204);
  const put = await fleet.connect(doomed);
  expect(put.status).toBe(201);
  const back = await fleet.waitStatus(doomed, 'Connected', 30_000).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${fleet.diagnostics()}`);
  });
  expect(Date.parse(back.properties.managedIdentityCertificateExpirationTime ?? '')).toBeGreaterThan(
    fleet.clock.now(),
  );
  await waitFor(() => fleet.waitAll('Connected'), { message: 'whole fleet Connected', timeoutMs: 20_000 });
});
