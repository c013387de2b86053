/**
 * The broker's files kept in three Kubernetes Secrets instead of a volume (deploy/kubernetes):
 *
 *   <prefix>-trust   trust.json: every signing key, and jetstream.key; read by this command alone
 *   <prefix>-server  nats.conf (it holds the store key), operator.jwt, <account>.jwt: mounted into the nats pods
 *   <prefix>-hub     hub-keys.json, hub.creds, system.creds: mounted into the hub pods
 *
 * A chain already in the Secrets is restored to disk first, so a second run keeps it (the same
 * operator, the same hub users); the trust Secret is written last, so its presence says the other two
 * are complete, as trust.json does on disk.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECRET_FILE_MODE, writeFileAtomically } from '../../platform/atomic-file.js';
import { BROKER_FILES } from '../../platform/broker-files.js';
import type { SecretStore } from '../kubernetes-secrets.js';

export const brokerSecretNames = (prefix: string) =>
  ({ trust: `${prefix}-trust`, server: `${prefix}-server`, hub: `${prefix}-hub` }) as const;

const HUB_FILES = [BROKER_FILES.hubKeys, BROKER_FILES.hubCreds, BROKER_FILES.systemCreds];

async function readFiles(dir: string, names: readonly string[]): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const name of names) files[name] = await readFile(join(dir, name));
  return files;
}

/** Restores a chain from the Secrets into `dir`/`hubDir`, runs `generate`, stores the result. */
export async function withBrokerSecrets(
  secrets: SecretStore,
  prefix: string,
  o: { readonly dir: string; readonly hubDir: string },
  generate: () => Promise<void>,
): Promise<void> {
  const names = brokerSecretNames(prefix);
  const kept = await secrets.read(names.trust);
  const trust = kept?.[BROKER_FILES.trust];
  if (trust) {
    const hub = (await secrets.read(names.hub)) ?? {};
    const missing = HUB_FILES.filter((f) => !hub[f]);
    if (missing.length)
      throw new Error(
        `secret ${names.trust} holds a trust chain but ${names.hub} lacks ${missing.join(', ')}: ` +
          `empty ${names.trust} to start a new chain (every cluster must then onboard again)`,
      );
    const secret = { mode: SECRET_FILE_MODE };
    for (const f of HUB_FILES) await writeFileAtomically(join(o.hubDir, f), hub[f]!, secret);
    await writeFileAtomically(join(o.dir, BROKER_FILES.trust), trust, secret);
    // The store key of a chain from before it existed is made now (nats-server encrypts the old store).
    const storeKey = kept[BROKER_FILES.storeKey];
    if (storeKey) await writeFileAtomically(join(o.dir, BROKER_FILES.storeKey), storeKey, secret);
  }
  await generate();
  const resolverDir = join(o.dir, BROKER_FILES.resolver);
  const accounts = (await readdir(resolverDir)).filter((f) => f.endsWith('.jwt'));
  await secrets.patch(names.hub, await readFiles(o.hubDir, HUB_FILES));
  await secrets.patch(names.server, {
    ...(await readFiles(o.dir, [BROKER_FILES.config, BROKER_FILES.operatorJwt])),
    ...(await readFiles(resolverDir, accounts)),
  });
  await secrets.patch(names.trust, await readFiles(o.dir, [BROKER_FILES.trust, BROKER_FILES.storeKey]));
}
