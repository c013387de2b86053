import { describe, expect, it } from 'vitest';
import { fromPublic, fromSeed } from '@nats-io/nkeys';
import {
  fastKeyPair,
  formatUserCreds,
  parseCreds,
  userAuthenticator,
  userPublicKeyFromSpki,
  userSeedFromPrivateKeyPem,
} from '../../platform/broker-keys.js';
import { generateAgentKeyPair } from '../../platform/identity.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('a cluster key as its NATS user key', () => {
  it('gives the nkey user whose seed nkeys.js derives the same public key from', () => {
    const keys = generateAgentKeyPair();
    const seed = userSeedFromPrivateKeyPem(keys.privateKeyPem);
    expect(seed.startsWith('SU')).toBe(true);
    expect(fromSeed(bytes(seed)).getPublicKey()).toBe(userPublicKeyFromSpki(keys.publicKey));
  });

  it('refuses a public key that is not Ed25519 SPKI', () => {
    expect(() => userPublicKeyFromSpki(Buffer.from('not a key').toString('base64'))).toThrow(/Ed25519/);
  });

  it('signs with node:crypto what nkeys.js verifies (JWTs, nonces)', () => {
    const seed = userSeedFromPrivateKeyPem(generateAgentKeyPair().privateKeyPem);
    const kp = fastKeyPair(seed);
    const verifier = fromPublic(kp.getPublicKey());
    expect(verifier.verify(bytes('claims'), kp.sign(bytes('claims')))).toBe(true);
    const auth = userAuthenticator(() => ({ jwt: 'eyJx', seed }))('nonce-1') as {
      jwt: string;
      nkey: string;
      sig: string;
    };
    expect(auth.jwt).toBe('eyJx');
    expect(auth.nkey).toBe(kp.getPublicKey());
    expect(verifier.verify(bytes('nonce-1'), Buffer.from(auth.sig, 'base64url'))).toBe(true);
  });

  it('round-trips a standard creds file and refuses anything else', () => {
    const seed = userSeedFromPrivateKeyPem(generateAgentKeyPair().privateKeyPem);
    const creds = formatUserCreds('eyJhbGciOi.eyJzdWIi.c2ln', seed);
    expect(creds).toContain('BEGIN NATS USER JWT');
    expect(parseCreds(creds)).toEqual({ jwt: 'eyJhbGciOi.eyJzdWIi.c2ln', seed });
    expect(() => parseCreds('hello')).toThrow(/credentials/);
  });
});
