/**
 * Ed25519 keys from their raw bytes, without OpenSSL 3's decoders: importing a PEM or DER key costs
 * ~360 µs there (measured: docs/benchmarks.md, "Onboarding"), a JWK ~40 µs. Every agent connection
 * loads its cluster's key, so 10,000 clusters × 6 agents spent tens of CPU seconds parsing keys.
 * PKCS#8 and SPKI of an Ed25519 key are a fixed DER prefix followed by the 32 key bytes, so the raw
 * bytes are sliced out; anything else goes the standard (slow) way.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/** DER prefix of an Ed25519 PKCS#8 private key; the 32-byte seed follows. */
export const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
/** DER prefix of an Ed25519 SPKI public key; the 32-byte key follows. */
export const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

const PEM = /^-----BEGIN PRIVATE KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PRIVATE KEY-----\s*$/;

/** The 32 bytes after `prefix` in `der`, or undefined when `der` is not exactly that. */
function rawAfter(der: Buffer, prefix: Buffer): Buffer | undefined {
  if (der.length !== prefix.length + 32 || !der.subarray(0, prefix.length).equals(prefix)) return undefined;
  return der.subarray(prefix.length);
}

/** The 32-byte seed of a PKCS#8 PEM Ed25519 private key; undefined for any other key or format. */
export function seedOfPem(pem: string): Buffer | undefined {
  const m = PEM.exec(pem);
  return m ? rawAfter(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64'), PKCS8_ED25519) : undefined;
}

/** The 32-byte public key of a base64 SPKI Ed25519 key; undefined for any other key. */
export function rawPublicKeyOfSpki(spkiBase64: string): Buffer | undefined {
  return rawAfter(Buffer.from(spkiBase64, 'base64'), SPKI_ED25519);
}

/**
 * The private key of a 32-byte seed. A JWK needs the public half (`x`) too; when the caller does not
 * know it, the key is imported once to derive it (OpenSSL computes the public key from `d`).
 */
export function privateKeyFromSeed(seed: Uint8Array, publicKey?: Uint8Array): KeyObject {
  const d = Buffer.from(seed).toString('base64url');
  const x = publicKey
    ? Buffer.from(publicKey).toString('base64url')
    : publicJwkX(createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x: d }, format: 'jwk' }));
  return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x }, format: 'jwk' });
}

/** A private key from PKCS#8 PEM (the agent key pair's format); fast for Ed25519. */
export function privateKeyFromPem(pem: string): KeyObject {
  const seed = seedOfPem(pem);
  return seed ? privateKeyFromSeed(seed) : createPrivateKey(pem);
}

/** A public key from base64 SPKI DER; fast for Ed25519. Throws when it is not a public key. */
export function publicKeyFromSpki(spkiBase64: string): KeyObject {
  const raw = rawPublicKeyOfSpki(spkiBase64);
  if (raw)
    return createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
      format: 'jwk',
    });
  return createPublicKey({ key: Buffer.from(spkiBase64, 'base64'), format: 'der', type: 'spki' });
}

/** The raw public key of an Ed25519 key object (private or public). */
export function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(publicJwkX(key), 'base64url');
}

function publicJwkX(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const { x } = pub.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new Error('not an Ed25519 key');
  return x;
}
