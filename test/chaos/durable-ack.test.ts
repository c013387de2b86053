/**
 * Nothing acknowledged is lost (issue 17, point 1): a burst of PUT / PATCH / DELETE of connected
 * clusters and PUTs of their extensions, with the hub SIGKILLed at a seeded random point of it (and, separately, nats-server then the
 * hub). After both are back, every change that was answered 2xx is there: a PUT's resource exists, a
 * PATCH's tag is on it, an extension PUT's extension exists, a DELETE's resource is gone or still
 * Deleting. Writes the broker could not take
 * in time are answered 503, which promises nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ClusterRef } from '../../contract/index.js';
import { createRng } from '../../fleet/generator.js';
import { ENV } from '../../platform/settings.js';
import { generateAgentKeyPair } from '../../platform/identity.js';
import { TestFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/wait.js';

const NAMES = 90;
const CONCURRENCY = 12;
let fleet: TestFleet;
const publicKey = generateAgentKeyPair().publicKey;

beforeAll(async () => {
  // The hub and the broker only: nothing here needs agents.
  fleet = await TestFleet.start({
    clusters: 1,
    agents: false,
    connect: false,
    env: { [ENV.hubWriteAckTimeout]: '2s' },
  });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
});

interface Acked {
  put: boolean;
  patched: boolean;
  /** An extension PUT on the cluster (a configuration resource: another bucket). */
  extension: boolean;
  /** The DELETE was sent: unanswered, it may still have been applied (and completed after the restart). */
  deleteSent: boolean;
  deleted: boolean;
}

const extensionPath = (ref: ClusterRef): string =>
  `${fleet.arm.clusterPath(ref)}/providers/Microsoft.KubernetesConfiguration/extensions/flux`;

/**
 * Each name: PUT, PATCH (tag `burst`), and for every third name DELETE, in that order; names run
 * CONCURRENCY at a time. `onAck` sees the running count of 2xx answers (to pick the moment to kill).
 */
async function burst(run: string, onAck: (count: number) => void): Promise<Map<string, Acked>> {
  const acked = new Map<string, Acked>();
  let count = 0;
  const ack = (): void => onAck(++count);
  const ok = (status: number | undefined): boolean => status !== undefined && status >= 200 && status < 300;
  const names = Array.from({ length: NAMES }, (_, i) => `${run}-${i}`);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < names.length; i = next++) {
      const name = names[i] as string;
      const ref: ClusterRef = {
        subscriptionId: fleet.subscriptionId,
        resourceGroup: fleet.clusters[0]!.resourceGroup,
        name,
      };
      const a: Acked = { put: false, patched: false, extension: false, deleteSent: false, deleted: false };
      acked.set(name, a);
      const put = await fleet.arm
        .put(ref, { location: 'westeurope', properties: { agentPublicKeyCertificate: publicKey } })
        .catch(() => undefined);
      if (!ok(put?.status)) continue;
      a.put = true;
      ack();
      const patch = await fleet.arm.patch(ref, { tags: { burst: run } }).catch(() => undefined);
      if (!ok(patch?.status)) continue;
      a.patched = true;
      ack();
      if (i % 2 === 0) {
        const ext = await fleet.arm
          .request('PUT', extensionPath(ref), {
            apiVersion: '2023-05-01',
            body: { properties: { extensionType: 'microsoft.flux' } },
          })
          .catch(() => undefined);
        if (!ok(ext?.status)) continue;
        a.extension = true;
        ack();
      }
      if (i % 3 !== 0) continue;
      a.deleteSent = true;
      const del = await fleet.arm.delete(ref).catch(() => undefined);
      if (ok(del?.status)) {
        a.deleted = true;
        ack();
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return acked;
}

/** Every acknowledged change of the burst, read back from the restarted hub. */
async function expectNothingLost(acked: Map<string, Acked>): Promise<number> {
  let checked = 0;
  for (const [name, a] of acked) {
    if (!a.put) continue;
    checked++;
    const ref: ClusterRef = {
      subscriptionId: fleet.subscriptionId,
      resourceGroup: fleet.clusters[0]!.resourceGroup,
      name,
    };
    const res = await waitFor(() => fleet.arm.get(ref), {
      until: (r) => r.status !== 503,
      timeoutMs: 20_000,
    });
    if (a.deleted) {
      if (res.status === 200) expect(res.body.properties.provisioningState, name).toBe('Deleting');
      else expect(res.status, name).toBe(404);
      continue;
    }
    // Sent but unanswered: applied or not, both are correct; nothing was promised.
    if (a.deleteSent && (res.status === 404 || res.body.properties?.provisioningState === 'Deleting'))
      continue;
    expect(res.status, `${name} (acknowledged PUT) after the restart: ${res.text}`).toBe(200);
    if (a.patched) expect(res.body.tags?.['burst'], `${name}: acknowledged PATCH`).toBe(name.split('-')[0]);
    if (a.extension) {
      const ext = await fleet.arm.request('GET', extensionPath(ref), { apiVersion: '2023-05-01' });
      expect(ext.status, `${name}: acknowledged extension PUT`).toBe(200);
    }
  }
  return checked;
}

const ROUNDS = 3;

it('a hub SIGKILLed at seeded random points of a burst loses no acknowledged PUT, PATCH or DELETE', async () => {
  const rng = createRng('durable-ack-hub');
  for (let round = 1; round <= ROUNDS; round++) {
    const killAt = 20 + Math.floor(rng() * 120);
    let killed = false;
    const acked = await burst(`hubkill${round}`, (count) => {
      if (!killed && count >= killAt) {
        killed = true;
        fleet.handle.kill('hub', 'SIGKILL');
      }
    });
    expect(killed, `round ${round}: the hub was killed after ${killAt} acknowledgements`).toBe(true);
    await fleet.handle.restart('hub');
    expect(await expectNothingLost(acked)).toBeGreaterThanOrEqual(10);
  }
}, 180_000);

it('nats-server then the hub SIGKILLed at seeded random points: no acknowledged change lost', async () => {
  const rng = createRng('durable-ack-broker');
  const broker = fleet.handle.process('nats-server') ? 'nats-server' : 'nats-server-0';
  for (let round = 1; round <= ROUNDS; round++) {
    const killAt = 20 + Math.floor(rng() * 120);
    let killed = false;
    const acked = await burst(`natskill${round}`, (count) => {
      if (!killed && count >= killAt) {
        killed = true;
        fleet.handle.kill(broker, 'SIGKILL');
        // The hub dies a moment later, holding whatever the broker did not take.
        setTimeout(() => fleet.handle.kill('hub', 'SIGKILL'), 300);
      }
    });
    expect(killed, `round ${round}: the broker was killed after ${killAt} acknowledgements`).toBe(true);
    await fleet.handle.restart(broker);
    await fleet.handle.restart('hub');
    expect(await expectNothingLost(acked)).toBeGreaterThanOrEqual(10);
  }
}, 180_000);
