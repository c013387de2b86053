/**
 * `arcfleet trust init`: the hub's HTTPS certificate (from the fleet's own CA) and the token issuer, for
 * fleets whose processes something else runs: compose runs it once before the hub starts. `arcfleet up`
 * does the same itself (fleet/launcher.ts). Idempotent: an existing CA and issuer are kept (tokens and
 * trust stay valid); the hub's certificate is reissued only when a host is added.
 *
 * `--dir` gets the whole trust material in a fleet data dir's layout (`tls/`, `issuer/`), so
 * `arcfleet token --data-dir <dir>` and `arcfleet init --trust-dir <dir>` can use it. `--hub-dir` gets
 * only what the hub may hold: its certificate and key, the CA certificate and the issuer's public keys;
 * not the CA's key, not the issuer's signing key.
 *
 * `--broker-dir` gets the broker's share (NATS over TLS): its certificate from the same CA (naming
 * `broker.arcfleet.internal`, loopback and each `--broker-host`, the nodes' route hosts), its key and the
 * CA certificate. `--ca-dir` gets the CA certificate alone, for every NATS client (the agents).
 *
 * With `--kubernetes-secrets <prefix>` (deploy/kubernetes runs it as a Job) the files end in Secrets:
 * `<prefix>-trust` (everything, flat keys; restored first, so a second run keeps the CA and issuer;
 * written last, so its presence says the others are complete), `<prefix>-hub` (the hub's share) and,
 * with `--broker-dir`, `<prefix>-broker` (the broker's).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { inClusterSecrets, type SecretStore } from '../kubernetes-secrets.js';
import { tlsDir } from '../../fleet/components.js';
import { issuerDir } from '../../fleet/tokens.js';
import { SECRET_FILE_MODE, writeFileAtomically } from '../../platform/atomic-file.js';
import { ensureFleetIssuer, ISSUER_FILES } from '../../platform/fleet-issuer.js';
import { ensureBrokerTls, ensureFleetTls, TLS_FILES } from '../../platform/fleet-tls.js';

export interface TrustInitOptions {
  readonly dir: string;
  readonly hubDir?: string;
  /** Names and addresses the hub's certificate is valid for (besides localhost and 127.0.0.1). */
  readonly hosts: readonly string[];
  /** Keep the files in the Secrets `<prefix>-trust`, `<prefix>-hub` and `<prefix>-broker` (needs `hubDir`). */
  readonly kubernetesSecrets?: string;
  /** Where the broker's certificate, key and the CA go (NATS over TLS); none: no broker certificate. */
  readonly brokerDir?: string;
  /** The broker nodes' route hosts its certificate names besides broker.arcfleet.internal and loopback. */
  readonly brokerHosts?: readonly string[];
  /** Where the CA certificate alone goes: what a NATS client (an agent) trusts. */
  readonly caDir?: string;
}

export const trustSecretNames = (prefix: string) =>
  ({ trust: `${prefix}-trust`, hub: `${prefix}-hub`, broker: `${prefix}-broker` }) as const;

/** The broker's share (NATS over TLS) as `--broker-dir` holds it: file name → mode. */
const BROKER_SHARE: Record<string, number> = {
  [TLS_FILES.brokerCert]: 0o644,
  [TLS_FILES.brokerKey]: SECRET_FILE_MODE,
  [TLS_FILES.ca]: 0o644,
};

/** Every trust file as its Secret key (flat: Secret keys have no directories) → path and mode. */
function trustFiles(dir: string): Record<string, [string, number]> {
  return {
    [TLS_FILES.ca]: [join(tlsDir(dir), TLS_FILES.ca), 0o644],
    [TLS_FILES.caKey]: [join(tlsDir(dir), TLS_FILES.caKey), SECRET_FILE_MODE],
    [TLS_FILES.cert]: [join(tlsDir(dir), TLS_FILES.cert), 0o644],
    [TLS_FILES.key]: [join(tlsDir(dir), TLS_FILES.key), SECRET_FILE_MODE],
    [ISSUER_FILES.key]: [join(issuerDir(dir), ISSUER_FILES.key), SECRET_FILE_MODE],
    [ISSUER_FILES.jwks]: [join(issuerDir(dir), ISSUER_FILES.jwks), 0o644],
  };
}

async function readAll(files: Record<string, [string, number]>): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const [key, [path]] of Object.entries(files)) out[key] = await readFile(path);
  return out;
}

/** `trustInit` with the files kept in Kubernetes Secrets; `secrets` is the pod's own API access by default. */
export async function trustInitWithSecrets(
  o: TrustInitOptions & { readonly kubernetesSecrets: string; readonly hubDir: string },
  print: (text: string) => void,
  secrets: SecretStore = inClusterSecrets(),
): Promise<void> {
  const names = trustSecretNames(o.kubernetesSecrets);
  const dir = resolve(o.dir);
  const files = trustFiles(dir);
  const kept = await secrets.read(names.trust);
  if (kept && Object.keys(files).every((k) => kept[k]))
    for (const [key, [path, mode]] of Object.entries(files))
      await writeFileAtomically(path, kept[key] as Buffer, { mode });
  await trustInit(o, print);
  await secrets.patch(names.hub, await readAll(hubShare(dir)));
  // Issued again on each run from the kept CA: a new certificate of the same CA is trusted the same.
  if (o.brokerDir !== undefined) {
    const brokerDir = resolve(o.brokerDir);
    await secrets.patch(
      names.broker,
      await readAll(Object.fromEntries(Object.keys(BROKER_SHARE).map((f) => [f, [join(brokerDir, f), 0]]))),
    );
  }
  await secrets.patch(names.trust, await readAll(files));
  print(`trust: kept in the secrets ${names.hub} and ${names.trust}`);
}

/** The hub's share of the trust material, as file name → [source, mode]. */
function hubShare(dir: string): Record<string, [string, number]> {
  return {
    [TLS_FILES.cert]: [join(tlsDir(dir), TLS_FILES.cert), 0o644],
    [TLS_FILES.key]: [join(tlsDir(dir), TLS_FILES.key), 0o600],
    [TLS_FILES.ca]: [join(tlsDir(dir), TLS_FILES.ca), 0o644],
    [ISSUER_FILES.jwks]: [join(issuerDir(dir), ISSUER_FILES.jwks), 0o644],
  };
}

export async function trustInit(o: TrustInitOptions, print: (text: string) => void): Promise<void> {
  const dir = resolve(o.dir);
  await ensureFleetIssuer(issuerDir(dir));
  const tls = await ensureFleetTls(tlsDir(dir), o.hosts);
  print(`trust: CA ${tls.caFile}, hub certificate for ${['localhost', '127.0.0.1', ...o.hosts].join(', ')}`);
  await shareBrokerTls(o, dir, print);
  if (o.hubDir === undefined) return;
  const hubDir = resolve(o.hubDir);
  for (const [name, [source, mode]] of Object.entries(hubShare(dir)))
    await writeFileAtomically(join(hubDir, name), await readFile(source), { mode });
  print(`trust: the hub's certificate, key, CA and issuer keys in ${hubDir}`);
}

/** The broker's certificate (made or kept) and the CA certificate, copied where their users see them. */
async function shareBrokerTls(
  o: TrustInitOptions,
  dir: string,
  print: (text: string) => void,
): Promise<void> {
  if (o.brokerDir !== undefined) {
    const broker = await ensureBrokerTls(tlsDir(dir), o.brokerHosts ?? []);
    const to = resolve(o.brokerDir);
    const source: Record<string, string> = {
      [TLS_FILES.brokerCert]: broker.certFile,
      [TLS_FILES.brokerKey]: broker.keyFile,
      [TLS_FILES.ca]: broker.caFile,
    };
    for (const [name, mode] of Object.entries(BROKER_SHARE))
      await writeFileAtomically(join(to, name), await readFile(source[name] ?? ''), { mode });
    print(`trust: the broker's certificate, key and CA in ${to}`);
  }
  if (o.caDir !== undefined) {
    const to = resolve(o.caDir);
    await writeFileAtomically(join(to, TLS_FILES.ca), await readFile(join(tlsDir(dir), TLS_FILES.ca)));
    print(`trust: the CA certificate in ${to}`);
  }
}

interface TrustInitCli {
  dir: string;
  hubDir?: string;
  host: string[];
  kubernetesSecrets?: string;
  brokerDir?: string;
  brokerHost: string[];
  caDir?: string;
}

export function registerTrustCommands(program: Command, print: (text: string) => void): void {
  const trust = program.command('trust').description("the hub's HTTPS certificate and the token issuer");
  trust
    .command('init')
    .description('make the fleet CA, the hub certificate and the token issuer (kept when present)')
    .requiredOption('--dir <dir>', 'where the trust material goes (tls/, issuer/)')
    .option('--hub-dir <dir>', "copy the hub's share (certificate, key, CA, issuer public keys) here")
    .option(
      '--host <name>',
      'a host name or address the hub certificate covers (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--kubernetes-secrets <prefix>',
      'keep the files in the Secrets <prefix>-trust, <prefix>-hub (and <prefix>-broker with --broker-dir)',
    )
    .option(
      '--broker-dir <dir>',
      "make the broker's certificate (NATS over TLS); copy it, its key and the CA here",
    )
    .option(
      '--broker-host <name>',
      "a broker node's route host its certificate names (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--ca-dir <dir>', 'copy the CA certificate alone here (what NATS clients trust)')
    .action(async (o: TrustInitCli) => {
      const base = {
        dir: o.dir,
        hosts: o.host,
        brokerHosts: o.brokerHost,
        ...(o.brokerDir ? { brokerDir: o.brokerDir } : {}),
        ...(o.caDir ? { caDir: o.caDir } : {}),
      };
      if (o.kubernetesSecrets === undefined)
        return trustInit({ ...base, ...(o.hubDir ? { hubDir: o.hubDir } : {}) }, print);
      if (!o.hubDir) throw new Error('--kubernetes-secrets needs --hub-dir (where the hub share is made)');
      return trustInitWithSecrets(
        { ...base, hubDir: o.hubDir, kubernetesSecrets: o.kubernetesSecrets },
        print,
      );
    });
}
