/**
 * Speaking the agent protocol by hand, with the real `nats` client and the real signing code from
 * shared/: for tests that must present a foreign, expired or missing identity, or malformed messages,
 * which the real agents never send.
 */
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { userAuthenticator, type UserCredentials } from '../../platform/broker-keys.js';
import {
  HEADER_IDENTITY,
  HEADER_SIGNATURE,
  MessageSigner,
  type AgentKeyPair,
} from '../../platform/identity.js';
import {
  encodeMessage,
  PROTOCOL_VERSION,
  subjects,
  type AgentName,
  type ClusterRef,
  type MessageKind,
} from '../../contract/index.js';

export interface WireReply {
  v?: number;
  type?: string;
  code?: string;
  message?: string;
  certificate?: string;
  notAfter?: string;
  generation?: number;
}

export interface Proof {
  /** Arc-Identity header (omit for none). */
  readonly certificate?: string;
  /** Signs with this key (omit for no Arc-Signature). */
  readonly privateKeyPem?: string;
}

/**
 * A connection that speaks for any cluster. The broker refuses anonymous clients, so it connects as the
 * cloud side's user (the hub's account), where the hub's subscription hears it as it hears agents.
 */
export async function connectWire(fleet: {
  nats: { url: string };
  natsCredentials(): Promise<UserCredentials>;
}): Promise<NatsConnection> {
  const creds = await fleet.natsCredentials();
  return connect({
    servers: fleet.nats.url,
    name: 'integration-test-wire',
    authenticator: userAuthenticator(() => creds),
  });
}

export function agentSubject(ref: ClusterRef, agent: AgentName, kind: MessageKind): string {
  return subjects.agentToHub(ref, agent, kind);
}

/** Request with the given payload and proof; returns the hub's decoded reply. */
export async function requestRaw(
  nc: NatsConnection,
  subject: string,
  payload: Uint8Array,
  proof: Proof = {},
  timeoutMs = 5000,
): Promise<WireReply> {
  const h = natsHeaders();
  if (proof.certificate !== undefined) h.set(HEADER_IDENTITY, proof.certificate);
  if (proof.privateKeyPem !== undefined)
    h.set(HEADER_SIGNATURE, new MessageSigner(proof.privateKeyPem).sign(subject, payload));
  const msg = await nc.request(subject, payload, { timeout: timeoutMs, headers: h });
  return JSON.parse(new TextDecoder().decode(msg.data)) as WireReply;
}

export function request(
  nc: NatsConnection,
  subject: string,
  body: object,
  proof: Proof = {},
): Promise<WireReply> {
  return requestRaw(nc, subject, encodeMessage(body), proof);
}

export function heartbeatBody(agent: AgentName = 'resource-sync-agent', sentAt = new Date()): object {
  return {
    v: PROTOCOL_VERSION,
    type: 'heartbeat',
    agent,
    agentVersion: '1.21.10',
    sentAt: sentAt.toISOString(),
  };
}

/** Registers the agent key with the one-time bootstrap token, as clusteridentityoperator does. */
export function register(
  nc: NatsConnection,
  ref: ClusterRef,
  keys: AgentKeyPair,
  bootstrapToken: string,
): Promise<WireReply> {
  return request(
    nc,
    agentSubject(ref, 'clusteridentityoperator', 'register'),
    {
      v: PROTOCOL_VERSION,
      type: 'register',
      agent: 'clusteridentityoperator',
      bootstrapToken,
      agentPublicKey: keys.publicKey,
      agentVersion: '1.21.10',
      sentAt: new Date().toISOString(),
    },
    { privateKeyPem: keys.privateKeyPem },
  );
}

/** A signed heartbeat request (the hub acks requests): what resource-sync-agent sends. */
export function heartbeat(nc: NatsConnection, ref: ClusterRef, proof: Proof): Promise<WireReply> {
  return request(nc, agentSubject(ref, 'resource-sync-agent', 'heartbeat'), heartbeatBody(), proof);
}
