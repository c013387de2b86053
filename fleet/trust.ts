/**
 * This process trusts the CAs of the fleets it talks to (the hub speaks HTTPS with a certificate from
 * its fleet's own CA: platform/fleet-tls.ts). Node's fetch takes its TLS settings from undici's global
 * dispatcher, so one dispatcher that knows the public roots plus every fleet CA seen here serves the CLI,
 * the fleet library, the tests and the bench, with `fetch(hubUrl)` unchanged. Node 20 cannot add a CA at
 * run time otherwise (NODE_EXTRA_CA_CERTS is read at start).
 */
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';

const trusted = new Set<string>();

/** Adds a CA certificate (PEM) to what this process's fetch trusts. */
export function trustCa(pem: string): void {
  const ca = pem.trim();
  if (trusted.has(ca)) return;
  trusted.add(ca);
  setGlobalDispatcher(new Agent({ connect: { ca: [...rootCertificates, ...trusted] } }));
}

/** Trusts the CA in `caFile` (a fleet's `tls/ca.pem`); nothing when there is none (a plain-HTTP fleet). */
export async function trustCaFile(caFile: string | undefined): Promise<void> {
  if (caFile) trustCa(await readFile(caFile, 'utf8'));
}
