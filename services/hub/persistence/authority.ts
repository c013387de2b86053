/**
 * The hub's identity authority key, kept in a KV bucket of its own: every hub (and every restart) signs
 * and checks certificates with the same key, so the agents' certificates stay valid.
 */
import type { KV } from 'nats';
import { IdentityAuthority } from '../../../platform/identity.js';

const AUTHORITY_KEY = 'identity-authority';

export async function loadAuthority(kv: KV): Promise<IdentityAuthority> {
  const existing = await kv.get(AUTHORITY_KEY);
  if (existing && existing.operation === 'PUT' && existing.value.length > 0)
    return new IdentityAuthority(existing.string());
  const pem = IdentityAuthority.generatePem();
  try {
    await kv.create(AUTHORITY_KEY, pem);
    return new IdentityAuthority(pem);
  } catch (err) {
    // Another hub created it first: use theirs. Nothing there: the create itself failed (JetStream
    // unavailable), and a key that is not stored must not sign anything.
    const e = await kv.get(AUTHORITY_KEY);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) throw err;
    return new IdentityAuthority(e.string());
  }
}
