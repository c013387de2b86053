/**
 * Managed-identity certificates: the agent key pair, and the certificate the hub issues for it
 * (`base64url(JSON claims) "." base64url(Ed25519 signature by the hub)`, binding the cluster key, the
 * agent public key and a validity window in simulated time). The real Arc agents hold an MSI
 * certificate; here it dates the identity (`managedIdentityCertificateExpirationTime`), while the
 * broker authenticates each connection with the same key (docs/broker-identity.md).
 */
import {
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { z } from 'zod';
import { ERROR_CODES, IdentityError } from '../contract/index.js';
import { privateKeyFromPem, publicKeyFromSpki, rawPublicKeyOfSpki } from './ed25519.js';

export interface AgentKeyPair {
  /** base64 SPKI DER: the value of `properties.agentPublicKeyCertificate`. */
  readonly publicKey: string;
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
}

export function generateAgentKeyPair(): AgentKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function publicKeyFromBase64(spkiBase64: string): KeyObject {
  return publicKeyFromSpki(spkiBase64);
}

/**
 * Exactly a base64 SPKI Ed25519 key (the 44 DER bytes `crypto` exports). OpenSSL alone is not the test:
 * it reads a key with trailing bytes, which the broker-user codec (rawPublicKeyOfSpki) then refuses.
 */
export function isValidPublicKey(spkiBase64: string): boolean {
  if (rawPublicKeyOfSpki(spkiBase64) === undefined) return false;
  try {
    return publicKeyFromBase64(spkiBase64).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

export function newBootstrapToken(): string {
  return randomBytes(24).toString('base64url');
}

export const certificateClaimsSchema = z.strictObject({
  v: z.literal(1),
  iss: z.string(),
  /** Cluster key `<sub>.<rg>.<cluster>` (see subjects.ts). */
  sub: z.string(),
  /** base64 SPKI of the agent key the certificate vouches for. */
  spki: z.string(),
  serial: z.string(),
  /** Simulated epoch ms. */
  nbf: z.number(),
  exp: z.number(),
});
export type CertificateClaims = z.infer<typeof certificateClaimsSchema>;

/** The hub's signing authority. Its key is persisted by the hub so that restarts keep certificates valid. */
export class IdentityAuthority {
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  constructor(privateKeyPem: string) {
    this.privateKey = privateKeyFromPem(privateKeyPem);
    this.publicKey = createPublicKey(this.privateKey);
  }

  /** base64 SPKI DER of the hub's public key: agents verify what the hub signs with it. */
  publicKeySpki(): string {
    return this.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  }

  /** `base64url(JSON claims) "." base64url(Ed25519 signature)`: the certificate format, for other claims. */
  signClaims(claims: object): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${sign(null, Buffer.from(body), this.privateKey).toString('base64url')}`;
  }

  static generatePem(): string {
    return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  issue(
    key: string,
    spki: string,
    nowMs: number,
    validityMs: number,
  ): { certificate: string; claims: CertificateClaims } {
    const claims: CertificateClaims = {
      v: 1,
      iss: 'arcfleet-hub',
      sub: key,
      spki,
      serial: randomUUID(),
      nbf: nowMs,
      exp: nowMs + validityMs,
    };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const sig = sign(null, Buffer.from(body), this.privateKey).toString('base64url');
    return { certificate: `${body}.${sig}`, claims };
  }

  /** Checks the hub's signature and shape; NOT expiry or revocation (the caller knows the time and the cluster). */
  verifyCertificate(certificate: string): CertificateClaims {
    const dot = certificate.indexOf('.');
    if (dot <= 0) throw new IdentityError(ERROR_CODES.IdentityInvalid, 'identity certificate is malformed');
    const body = certificate.slice(0, dot);
    const sig = Buffer.from(certificate.slice(dot + 1), 'base64url');
    if (!verify(null, Buffer.from(body), this.publicKey, sig))
      throw new IdentityError(ERROR_CODES.IdentityInvalid, 'identity certificate was not issued by this hub');
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new IdentityError(ERROR_CODES.IdentityInvalid, 'identity certificate is malformed');
    }
    const result = certificateClaimsSchema.safeParse(parsed);
    if (!result.success)
      throw new IdentityError(ERROR_CODES.IdentityInvalid, 'identity certificate is malformed');
    return result.data;
  }
}

/**
 * Checks a `signClaims` token against the signer's public key (base64 SPKI); returns the parsed JSON
 * claims, or undefined when the token is malformed or the signature does not match.
 */
export function verifySignedClaims(token: string, signerSpki: string): unknown {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return undefined;
  const body = token.slice(0, dot);
  try {
    const ok = verify(
      null,
      Buffer.from(body),
      publicKeyFromBase64(signerSpki),
      Buffer.from(token.slice(dot + 1), 'base64url'),
    );
    if (!ok) return undefined;
    return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Decodes claims without verifying; for agents reading their own certificate. */
export function readCertificateClaims(certificate: string): CertificateClaims {
  const body = certificate.split('.')[0] ?? '';
  return certificateClaimsSchema.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
}
