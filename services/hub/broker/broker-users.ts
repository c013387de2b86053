/**
 * The hub's side of broker identity (docs/broker-identity.md): it mints the NATS user JWTs a cluster
 * presents and revokes them. A cluster's NATS user key is its managed-identity key (the public half is
 * `properties.agentPublicKeyCertificate`), so nothing secret crosses the wire: a JWT is useless without
 * the private key, which stays on the cluster.
 *
 * - bootstrap JWT (PUT, with the one-time token): may only send that cluster's register request;
 * - cluster JWT (register and renew replies): that cluster's subjects; `exp` = the certificate's expiry
 *   in real time, so the broker itself ends a cluster that stops renewing;
 * - DELETE revokes the key (revocations.ts).
 */
import type { Clock } from '../../../platform/clock.js';
import { userPublicKeyFromSpki } from '../../../platform/broker-keys.js';
import type { HubKeys } from '../../../platform/broker-files.js';
import {
  bootstrapUserJwt,
  clusterUserJwt,
  clusterUserSigner,
  type ClusterUserSigner,
} from '../../../platform/broker-trust.js';
import type { Revocations } from './revocations.js';

/** Real seconds a bootstrap JWT lives: onboarding normally takes seconds; a later `connect` mints anew. */
export const BOOTSTRAP_LIFETIME_SEC = 3600;

export interface BrokerUsersOptions {
  readonly keys: HubKeys;
  readonly clock: Clock;
  readonly revocations: Revocations;
}

export class BrokerUsers {
  private readonly signer: ClusterUserSigner;

  constructor(private readonly opts: BrokerUsersOptions) {
    this.signer = clusterUserSigner(opts.keys);
  }

  /** The onboarding user of cluster `key` whose agent key is `agentSpki`. */
  bootstrapJwt(key: string, agentSpki: string): Promise<string> {
    return bootstrapUserJwt(this.signer, key, userPublicKeyFromSpki(agentSpki), {
      expiresAtSec: Date.now() / 1000 + BOOTSTRAP_LIFETIME_SEC,
    });
  }

  /** The cluster's user until `notAfterSimMs` (the certificate's expiry, simulated). */
  clusterJwt(key: string, agentSpki: string, notAfterSimMs: number): Promise<string> {
    const { clock } = this.opts;
    const realMs = Date.now() + (notAfterSimMs - clock.now()) / clock.timeScale;
    // Rounded down: the broker compares whole seconds, and the credential must not outlive the
    // certificate (the hub marks the cluster Expired at the certificate's expiry).
    return clusterUserJwt(this.signer, key, userPublicKeyFromSpki(agentSpki), {
      expiresAtSec: Math.floor(realMs / 1000),
    });
  }

  /** Every JWT of this agent key stops working at the broker (resolves once the broker has it). */
  revoke(agentSpki: string): Promise<void> {
    return this.opts.revocations.revoke(userPublicKeyFromSpki(agentSpki));
  }
}
