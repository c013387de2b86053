import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  privateKeyFromPem,
  privateKeyFromSeed,
  publicKeyFromSpki,
  rawPublicKey,
  seedOfPem,
} from '../../platform/ed25519.js';
import { userPublicKeyFromSpki } from '../../platform/broker-keys.js';
import { isValidPublicKey } from '../../platform/identity.js';

function ed25519(): { pem: string; spki: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    spki: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

describe('Ed25519 keys from raw bytes (no OpenSSL decoder)', () => {
  it('loads a PEM key that signs exactly as the key OpenSSL decodes', () => {
    const { pem, spki } = ed25519();
    const fast = privateKeyFromPem(pem);
    const slow = createPrivateKey(pem);
    // Ed25519 signatures are deterministic: the same key gives the same bytes.
    expect(sign(null, Buffer.from('nonce'), fast)).toEqual(sign(null, Buffer.from('nonce'), slow));
    expect(rawPublicKey(fast)).toEqual(Buffer.from(spki, 'base64').subarray(12));
    expect(createPublicKey(fast).export({ type: 'spki', format: 'der' }).toString('base64')).toBe(spki);
  });

  it('takes the public half when given, and derives it when not', () => {
    const { pem, spki } = ed25519();
    const seed = seedOfPem(pem) as Buffer;
    expect(seed).toHaveLength(32);
    const raw = Buffer.from(spki, 'base64').subarray(12);
    expect(rawPublicKey(privateKeyFromSeed(seed, raw))).toEqual(raw);
    expect(rawPublicKey(privateKeyFromSeed(seed))).toEqual(raw);
  });

  it('verifies with a public key from SPKI what the private key signed', () => {
    const { pem, spki } = ed25519();
    const sig = sign(null, Buffer.from('claims'), privateKeyFromPem(pem));
    expect(verify(null, Buffer.from('claims'), publicKeyFromSpki(spki), sig)).toBe(true);
    expect(verify(null, Buffer.from('other'), publicKeyFromSpki(spki), sig)).toBe(false);
  });

  it('leaves other keys to OpenSSL, and refuses what is no key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(seedOfPem(pem)).toBeUndefined();
    expect(privateKeyFromPem(pem).asymmetricKeyType).toBe('ec');
    const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(publicKeyFromSpki(spki).asymmetricKeyType).toBe('ec');
    expect(() => publicKeyFromSpki(Buffer.from('not a key').toString('base64'))).toThrow();
    expect(() =>
      privateKeyFromPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
    ).toThrow();
  });

  it('accepts as an agent key exactly the SPKI bytes of an Ed25519 key, which the broker can name', () => {
    const { spki } = ed25519();
    expect(isValidPublicKey(spki)).toBe(true);
    expect(userPublicKeyFromSpki(spki)).toMatch(/^U[A-Z2-7]{55}$/);
    // OpenSSL reads the key with a byte after it; the broker-user codec does not: refused up front
    // (the fuzzer found a PUT with one answered 500).
    const trailing = Buffer.concat([Buffer.from(spki, 'base64'), Buffer.from([0])]).toString('base64');
    expect(
      createPublicKey({ key: Buffer.from(trailing, 'base64'), format: 'der', type: 'spki' })
        .asymmetricKeyType,
    ).toBe('ed25519');
    expect(isValidPublicKey(trailing)).toBe(false);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(isValidPublicKey(ec.export({ type: 'spki', format: 'der' }).toString('base64'))).toBe(false);
  });
});
