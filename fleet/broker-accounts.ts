/**
 * The broker's accounts registered on every node before any client connects.
 *
 * nats-server 2.9 registers an account the first time anything needs it, on whichever goroutine asks,
 * with no per-account lock, and an import binds to the account object being built at that moment. HUB
 * and CLUSTERS import from each other, so two first registrations of HUB on one node at once (the hub
 * connecting there twice at once, or while a route asks for HUB) can leave CLUSTERS's service imports
 * bound to a HUB object that then lost the race: the agents' requests on that node never reach the hub
 * listeners there and their replies are lost, for good. Measured on 2.9.10 (the Debian package here):
 * four HUB clients connecting to each fresh node at once broke a node in 15 of 25 starts; with this
 * registration first, 0 of 25 (docs/scale-out.md). nats-server 2.10 fixed it (#5588, #5589).
 *
 * So the launcher does the first registration itself, one node at a time, while nothing else is
 * connected: `GET /connz?acc=<HUB>` looks HUB up, which registers it and CLUSTERS through its imports
 * (`/accountz` only reads). A restarted node registers HUB itself before it takes clients (JetStream
 * recovers HUB's streams first), so this matters on a fresh broker; it is done after every start.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ArcError, ERROR_CODES } from '../contract/index.js';
import { BROKER_FILES } from '../platform/broker-files.js';

const keysSchema = z.object({
  hub: z.object({ publicKey: z.string() }),
  clusters: z.object({ publicKey: z.string() }),
});
const accountzSchema = z.object({ accounts: z.array(z.string()) });

/** HUB's and CLUSTERS's public keys, from the trust chain in the broker directory. */
export async function brokerAccountKeys(brokerDir: string): Promise<{ hub: string; clusters: string }> {
  const trust = keysSchema.parse(JSON.parse(await readFile(join(brokerDir, BROKER_FILES.trust), 'utf8')));
  return { hub: trust.hub.publicKey, clusters: trust.clusters.publicKey };
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`GET ${url} answered ${res.status}`);
  }
  return res.json();
}

/** One registration at a time across the nodes of every fleet this process starts. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Registers HUB (and with it CLUSTERS) on the node behind `monitorUrl`; calls for several nodes run one
 * after another. Throws when the node still does not hold both (its resolver lacks their JWTs).
 */
export function registerBrokerAccounts(
  monitorUrl: string,
  keys: { hub: string; clusters: string },
): Promise<void> {
  const run = queue.then(async () => {
    await getJson(`${monitorUrl}/connz?acc=${keys.hub}&limit=1`);
    const { accounts } = accountzSchema.parse(await getJson(`${monitorUrl}/accountz`));
    for (const [name, key] of Object.entries(keys))
      if (!accounts.includes(key))
        throw new ArcError(
          ERROR_CODES.InternalServerError,
          `the broker node at ${monitorUrl} did not register the ${name.toUpperCase()} account ${key}; see its log`,
        );
  });
  queue = run.catch(() => undefined);
  return run;
}
