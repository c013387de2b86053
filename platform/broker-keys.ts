/**
 * nkeys backed by node:crypto. A cluster's NATS user key IS its managed-identity key (the Ed25519 key
 * whose public half is `properties.agentPublicKeyCertificate`): the hub names the user from the ARM
 * resource alone and the private half never leaves the cluster. Signing goes through node:crypto
 * because nkeys.js signs in pure JavaScript (~7 ms a signature, docs/broker-identity.md), which would
 * cost a 1,000-cluster onboarding tens of seconds; the JWT encoding stays `@nats-io/jwt`'s.
 */
import { sign, type KeyObject } from 'node:crypto';
import { Prefix, type KeyPair } from '@nats-io/nkeys';
// The seed/public-key codec is not re-exported by the package's entry (it has no `exports` map).
import { Codec } from '@nats-io/nkeys/lib/codec.js';
import { fmtCreds } from '@nats-io/jwt';
import type { Authenticator } from 'nats';
import {
  privateKeyFromPem,
  privateKeyFromSeed as keyOfSeed,
  rawPublicKey,
  rawPublicKeyOfSpki,
  seedOfPem,
} from './ed25519.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The NATS user public key (`U…`) of a base64 SPKI Ed25519 key; throws on anything else. */
export function userPublicKeyFromSpki(spkiBase64: string): string {
  const raw = rawPublicKeyOfSpki(spkiBase64);
  if (!raw) throw new Error('not an Ed25519 SPKI public key');
  return text(Codec.encode(Prefix.User, raw));
}

/** The NATS user seed (`SU…`) of a PKCS#8 PEM Ed25519 private key (for a standard `.creds` file). */
export function userSeedFromPrivateKeyPem(pem: string): string {
  // The seed is the key's last 32 bytes: no key import (OpenSSL's PEM decoding costs ~0.4 ms).
  const seed = seedOfPem(pem) ?? rawSeed(privateKeyFromPem(pem));
  return text(Codec.encodeSeed(Prefix.User, seed));
}

function rawSeed(key: KeyObject): Buffer {
  const { d } = key.export({ format: 'jwk' });
  if (typeof d !== 'string') throw new Error('not an Ed25519 private key');
  return Buffer.from(d, 'base64url');
}

/** Keys by seed: every (re)connection of every link of a cluster signs with the same key. */
const keysBySeed = new Map<string, { key: KeyObject; publicKey: string }>();
/** Clusters an agent process may host, with room: beyond it the cache starts over. */
const KEY_CACHE_LIMIT = 20_000;

function privateKeyFromSeed(seed: string): { key: KeyObject; publicKey: string } {
  const cached = keysBySeed.get(seed);
  if (cached) return cached;
  const { prefix, buf } = Codec.decodeSeed(bytes(seed));
  const key = keyOfSeed(buf);
  const entry = { key, publicKey: text(Codec.encode(prefix, rawPublicKey(key))) };
  if (keysBySeed.size >= KEY_CACHE_LIMIT) keysBySeed.clear();
  keysBySeed.set(seed, entry);
  return entry;
}

/**
 * An nkeys `KeyPair` that signs with node:crypto, for `@nats-io/jwt`'s `signer` option. Only what the
 * JWT encoder calls is real; the rest refuses.
 */
export function fastKeyPair(seed: string): KeyPair {
  const { key, publicKey } = privateKeyFromSeed(seed);
  const refuse = (): never => {
    throw new Error('not supported by the node:crypto key pair');
  };
  return {
    getPublicKey: () => publicKey,
    getPrivateKey: () => new Uint8Array(0),
    getSeed: () => bytes(seed),
    sign: (input: Uint8Array) => new Uint8Array(sign(null, input, key)),
    verify: refuse,
    clear: () => undefined,
    seal: refuse,
    open: refuse,
    getEncryptionKey: refuse,
  } as unknown as KeyPair;
}

/** What a NATS user presents: its JWT and its key (the seed stays in this process). */
export interface UserCredentials {
  readonly jwt: string;
  /** nkey seed `SU…`. */
  readonly seed: string;
}

/** Parses a `.creds` file (the format `nsc` and `nats` use); throws when it is not one. */
export function parseCreds(creds: string): UserCredentials {
  const blocks = [...creds.matchAll(/-{3,}[^\n]*-{3,}\s*\n\s*(\S+)\s*\n\s*-{3,}[^\n]*-{3,}/g)].map(
    (m) => m[1] ?? '',
  );
  const jwt = blocks.find((b) => b.startsWith('eyJ'));
  const seed = blocks.find((b) => b.startsWith('SU'));
  if (!jwt || !seed) throw new Error('not a NATS user credentials file (JWT and SU seed)');
  return { jwt, seed };
}

/**
 * A nats.js authenticator signing the server's nonce with node:crypto. `current` is read at every
 * (re)connect, so a renewed JWT is what the next connection presents.
 */
export function userAuthenticator(current: () => UserCredentials): Authenticator {
  return (nonce?: string) => {
    const creds = current();
    // The process's key cache (privateKeyFromSeed) serves every link and reconnection of a cluster.
    const { key, publicKey } = privateKeyFromSeed(creds.seed);
    const sig = nonce ? sign(null, Buffer.from(nonce), key).toString('base64url') : '';
    return { jwt: creds.jwt, nkey: publicKey, sig };
  };
}

/**
 * A public key as `@nats-io/jwt` takes it without decoding it: its own decoding (nkeys.js `fromPublic`)
 * costs ~5 ms a call, more than the signature.
 */
export function publicKeyOnly(publicKey: string): KeyPair {
  return { getPublicKey: () => publicKey } as unknown as KeyPair;
}

/** A standard `.creds` file (user JWT + seed), as `nsc` writes it and `nats --creds` reads it. */
export function formatUserCreds(userJwt: string, seed: string): string {
  return text(fmtCreds(userJwt, fastKeyPair(seed)));
}
