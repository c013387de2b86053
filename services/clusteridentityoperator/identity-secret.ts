/**
 * Why this file exists: the identity secret, split out of identity-operator.ts. Adopting a stored
 * one, writing a fresh certificate (after register or renew), marking it expired, and deleting it on
 * `disconnect`: everything clusteridentityoperator writes for the other agents to read.
 */
import type { Context } from '@opentelemetry/api';
import { SECRET_BROKER_CREDENTIALS, SECRET_IDENTITY } from '../../agent-runtime/cluster-store.js';
import { clusterKey, type IdentityReply, type IdentitySecret } from '../../contract/index.js';
import { readCertificateClaims } from '../../platform/identity.js';
import { traceFields } from '../../platform/tracing-propagation.js';
import type { OperatorHost, Session } from './session.js';

/** A stored identity secret for this session's key and cluster, if any. */
export function adoptableIdentity(host: OperatorHost, s: Session): IdentitySecret | undefined {
  const id = host.snapshot().identity;
  if (!id) return undefined;
  try {
    const claims = readCertificateClaims(id.certificate);
    if (claims.spki === s.onboarding.publicKey && claims.sub === clusterKey(s.ref)) return id;
  } catch (err) {
    host.log.warn({ event: 'identity.secret_unreadable', err }, 'ignoring an unreadable identity secret');
  }
  return undefined;
}

/**
 * Writes the identity secret for a fresh certificate and (re)starts the renewal schedule. `onboardingTrace`:
 * the onboarding trace, stored in the secret for the other agents to continue.
 */
export async function acceptIdentity(
  host: OperatorHost,
  s: Session,
  reply: IdentityReply,
  event: string,
  onboardingTrace?: Context,
): Promise<void> {
  const secret: IdentitySecret = {
    certificate: reply.certificate,
    'azure-identity-certificate-expiration-time': reply.notAfter,
    issuedAt: reply.notBefore,
    state: 'Valid',
    ...(reply.issuerPublicKey === undefined ? {} : { issuerPublicKey: reply.issuerPublicKey }),
    ...(reply.natsUserJwt === undefined ? {} : { natsUserJwt: reply.natsUserJwt }),
    ...(onboardingTrace ? traceFields(onboardingTrace) : {}),
  };
  if (reply.natsUserJwt !== undefined)
    await host.ctx.store.writeBrokerCredentials(
      host.ctx.clusterName,
      reply.natsUserJwt,
      s.onboarding.privateKeyPem,
    );
  await host.ctx.store.writeIdentity(host.ctx.clusterName, secret);
  if (s.cancelled) return;
  s.identity = secret;
  s.link?.setCredentials({ privateKeyPem: s.onboarding.privateKeyPem, natsUserJwt: reply.natsUserJwt });
  host.log.info(
    { event, notBefore: reply.notBefore, notAfter: reply.notAfter },
    'identity certificate stored',
  );
  if (event === 'identity.obtained')
    host.startRenewal(s, Date.parse(reply.notBefore), Date.parse(reply.notAfter));
}

export async function markExpired(host: OperatorHost, s: Session, reason: string): Promise<void> {
  const current = s.identity;
  host.log.error(
    {
      event: 'identity.expired',
      reason,
      notAfter: current?.['azure-identity-certificate-expiration-time'],
    },
    'identity certificate expired; no more renewal attempts',
  );
  if (!current || s.cancelled) return;
  const expired: IdentitySecret = { ...current, state: 'Expired' };
  try {
    await host.ctx.store.writeIdentity(host.ctx.clusterName, expired);
    s.identity = expired;
  } catch (err) {
    host.log.error({ event: 'identity.write_failed', err }, 'could not mark the identity secret expired');
  }
}

/** Deletes our secrets; a new onboarding written meanwhile (and its identity) is left alone. */
export async function forgetIdentity(host: OperatorHost, s: Session): Promise<void> {
  const store = host.ctx.store;
  const name = host.ctx.clusterName;
  const id = await store.readIdentity(name).catch(() => undefined);
  if (id) {
    let ours = true;
    try {
      ours = readCertificateClaims(id.certificate).spki === s.onboarding.publicKey;
    } catch {
      // unreadable: ours to remove
    }
    if (ours) {
      await store.deleteSecret(name, SECRET_IDENTITY);
      await store.deleteSecret(name, SECRET_BROKER_CREDENTIALS);
    }
  }
  await store.deleteOnboardingIf(name, s.onboarding.bootstrapToken);
}
