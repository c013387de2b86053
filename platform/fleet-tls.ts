/**
 * The fleet's own certificate authority and the hub's serving certificate: the hub speaks HTTPS by
 * default, as ARM and a cluster-connect endpoint do, so kubectl sends its bearer token and the Azure
 * SDKs accept the endpoint. Made at first start and kept (a CA a user has trusted stays the same):
 *
 *   <dir>/ca.pem        the CA certificate (public; fleet.json names it, kubeconfigs carry it)
 *   <dir>/ca-key.pem    its key, 0600
 *   <dir>/hub.pem       the hub's certificate, signed by the CA
 *   <dir>/hub-key.pem   its key, 0600
 *   <dir>/broker.pem    the broker's certificate (NATS over TLS), an EC P-256 key's (x509-ec.ts)
 *   <dir>/broker-key.pem its key, 0600
 *
 * The hub's certificate names localhost, 127.0.0.1 and ::1 plus the hosts asked for (compose's service
 * names); it is issued again when it lacks one of them or nears its end. RSA 2048 keys from node:crypto;
 * node-forge builds and signs the X.509 structures (node:crypto can read certificates, not make them).
 */
import { X509Certificate, createPrivateKey, generateKeyPair, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { BROKER_TLS_NAME } from '../contract/index.js';
import { SECRET_FILE_MODE, fileExists, writeFileAtomically } from './atomic-file.js';
import { certificateForKey } from './x509-ec.js';

export const TLS_FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  cert: 'hub.pem',
  key: 'hub-key.pem',
  brokerCert: 'broker.pem',
  brokerKey: 'broker-key.pem',
} as const;

/** Paths of the files a hub serves with and a client trusts. */
export interface FleetTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
/** The longest a publicly trusted server certificate may live; clients may hold us to it. */
const SERVER_DAYS = 397;
/** Issued again when fewer days than this are left. */
const RENEW_DAYS = 30;
const DEFAULT_HOSTS = ['localhost', '127.0.0.1', '::1'];
const CA_NAME = [{ name: 'commonName', value: 'arcfleet fleet CA' }];

const generateKeys = promisify(generateKeyPair);

async function rsaKey(): Promise<{
  forgeKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  pem: string;
}> {
  const { privateKey, publicKey } = await generateKeys('rsa', { modulusLength: 2048 });
  return {
    forgeKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function newCertificate(publicKey: forge.pki.rsa.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive (leading byte < 0x80) and unique: Go's x509 (kubectl) refuses a negative serial.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * DAY_MS);
  return cert;
}

async function makeCa(dir: string): Promise<void> {
  const key = await rsaKey();
  const ca = newCertificate(key.publicKey, CA_DAYS);
  ca.setSubject(CA_NAME);
  ca.setIssuer(CA_NAME);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(key.forgeKey, forge.md.sha256.create());
  // The key first: a CA file without its key would never sign again.
  await writeFileAtomically(join(dir, TLS_FILES.caKey), key.pem, { mode: SECRET_FILE_MODE });
  await writeFileAtomically(join(dir, TLS_FILES.ca), forge.pki.certificateToPem(ca));
}

/** Whether the hub's certificate names every host and has more than RENEW_DAYS left. */
async function serverCertCovers(path: string, hosts: readonly string[]): Promise<boolean> {
  if (!(await fileExists(path))) return false;
  const cert = new X509Certificate(await readFile(path));
  if (Date.parse(cert.validTo) - Date.now() < RENEW_DAYS * DAY_MS) return false;
  return hosts.every((h) => (isIP(h) ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
}

interface ServerCertFiles {
  readonly commonName: string;
  readonly cert: string;
  readonly key: string;
  /** Also a client certificate: a broker node dials its peers' routes with it (mutual TLS). */
  readonly clientAuth?: boolean;
  /** An EC P-256 key (x509-ec.ts): cheap handshakes where connections are many (the broker). */
  readonly ec?: boolean;
}

const HUB_CERT: ServerCertFiles = { commonName: 'arcfleet hub', cert: TLS_FILES.cert, key: TLS_FILES.key };
const BROKER_CERT: ServerCertFiles = {
  commonName: 'arcfleet broker',
  cert: TLS_FILES.brokerCert,
  key: TLS_FILES.brokerKey,
  clientAuth: true,
  ec: true,
};

async function makeServerCert(dir: string, hosts: readonly string[], files: ServerCertFiles): Promise<void> {
  const caCert = forge.pki.certificateFromPem(await readFile(join(dir, TLS_FILES.ca), 'utf8'));
  const caKeyPem = await readFile(join(dir, TLS_FILES.caKey), 'utf8');
  // An EC key's certificate is laid out around the CA's own public key, then given the EC key's.
  const key = files.ec ? undefined : await rsaKey();
  const cert = newCertificate(key?.publicKey ?? (caCert.publicKey as forge.pki.rsa.PublicKey), SERVER_DAYS);
  cert.setSubject([{ name: 'commonName', value: files.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    // An ECDSA key signs the handshake; an RSA key may also encipher (RSA key exchange).
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: !files.ec, critical: true },
    { name: 'extKeyUsage', serverAuth: true, ...(files.clientAuth ? { clientAuth: true } : {}) },
    {
      name: 'subjectAltName',
      altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })),
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  let keyPem: string;
  let certPem: string;
  if (key) {
    cert.sign(forge.pki.privateKeyFromPem(caKeyPem), forge.md.sha256.create());
    [keyPem, certPem] = [key.pem, forge.pki.certificateToPem(cert)];
  } else {
    const ec = await generateKeys('ec', { namedCurve: 'P-256' });
    keyPem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const spki = ec.publicKey.export({ type: 'spki', format: 'der' });
    certPem = certificateForKey(cert, spki, createPrivateKey(caKeyPem));
  }
  await writeFileAtomically(join(dir, files.key), keyPem, { mode: SECRET_FILE_MODE });
  await writeFileAtomically(join(dir, files.cert), certPem);
}

/** Makes the CA in `dir` unless both its files are there; true when it made one. */
async function ensureCa(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const newCa =
    !(await fileExists(join(dir, TLS_FILES.ca))) || !(await fileExists(join(dir, TLS_FILES.caKey)));
  if (newCa) await makeCa(dir);
  return newCa;
}

/** Makes or keeps the CA in `dir` and a server certificate of it for `hosts`: its files. */
async function ensureServerCert(
  dir: string,
  hosts: readonly string[],
  cert: ServerCertFiles,
): Promise<FleetTls> {
  const newCa = await ensureCa(dir);
  const files: FleetTls = {
    caFile: join(dir, TLS_FILES.ca),
    certFile: join(dir, cert.cert),
    keyFile: join(dir, cert.key),
  };
  const wanted = [...new Set(hosts)];
  if (newCa || !(await serverCertCovers(files.certFile, wanted))) await makeServerCert(dir, wanted, cert);
  return files;
}

/** Makes or keeps the CA and the hub's certificate in `dir`; `hosts` beyond the loopback names. */
export function ensureFleetTls(dir: string, hosts: readonly string[] = []): Promise<FleetTls> {
  return ensureServerCert(dir, [...DEFAULT_HOSTS, ...hosts], HUB_CERT);
}

/**
 * Makes or keeps the broker's certificate beside the fleet CA in `dir` (the CA too when missing): it
 * names BROKER_TLS_NAME, the name every NATS client checks whatever host it dials, and the loopback
 * names, so one certificate serves the gateway's path, compose's service names and 127.0.0.1. It is a
 * client certificate too, and names `hosts` (the nodes' route hosts: compose's `nats-0`, …): the nodes
 * of a NATS cluster dial each other's routes over mutual TLS, checking the host they dialled.
 */
export function ensureBrokerTls(dir: string, hosts: readonly string[] = []): Promise<FleetTls> {
  return ensureServerCert(dir, [BROKER_TLS_NAME, ...DEFAULT_HOSTS, ...hosts], BROKER_CERT);
}
