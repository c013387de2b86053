/**
 * Speaking the agent protocol by hand, with the real `nats` client, as the cloud side's user (it may
 * speak for any cluster): for tests that send what the real agents never send (a used token, a deleted
 * cluster, malformed messages). What a cluster's own user may not do is test/integration/broker-identity.
 */
import { connect, type NatsConnection, type NatsError, type TlsOptions } from 'nats';
import { userAuthenticator, type UserCredentials } from '../../platform/broker-keys.js';
import type { AgentKeyPair } from '../../platform/identity.js';
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

/**
 * A connection that speaks for any cluster. The broker refuses anonymous clients, so it connects as the
 * cloud side's user (the hub's account), where the hub's subscription hears it as it hears agents.
 */
export async function connectWire(fleet: {
  nats: { url: string };
  natsCredentials(): Promise<UserCredentials>;
  natsTls(): Promise<{ tls?: TlsOptions }>;
}): Promise<NatsConnection> {
  const creds = await fleet.natsCredentials();
  return connect({
    servers: fleet.nats.url,
    name: 'integration-test-wire',
    authenticator: userAuthenticator(() => creds),
    ...(await fleet.natsTls()),
  });
}

/** The error code a connection as `creds` is refused with; undefined when the broker accepts it. */
export async function connectRefusal(
  fleet: { nats: { url: string }; natsTls(): Promise<{ tls?: TlsOptions }> },
  creds: UserCredentials,
): Promise<string | undefined> {
  try {
    const nc = await connect({
      servers: fleet.nats.url,
      authenticator: userAuthenticator(() => creds),
      reconnect: false,
      ...(await fleet.natsTls()),
    });
    await nc.close();
    return undefined;
  } catch (err) {
    return (err as NatsError).code;
  }
}

export function agentSubject(ref: ClusterRef, agent: AgentName, kind: MessageKind): string {
  return subjects.agentToHub(ref, agent, kind);
}

/** Request with the given payload; returns the hub's decoded reply. */
export async function requestRaw(
  nc: NatsConnection,
  subject: string,
  payload: Uint8Array,
  timeoutMs = 5000,
): Promise<WireReply> {
  const msg = await nc.request(subject, payload, { timeout: timeoutMs });
  return JSON.parse(new TextDecoder().decode(msg.data)) as WireReply;
}

export function request(nc: NatsConnection, subject: string, body: object): Promise<WireReply> {
  return requestRaw(nc, subject, encodeMessage(body));
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
  return request(nc, agentSubject(ref, 'clusteridentityoperator', 'register'), {
    v: PROTOCOL_VERSION,
    type: 'register',
    agent: 'clusteridentityoperator',
    bootstrapToken,
    agentPublicKey: keys.publicKey,
    agentVersion: '1.21.10',
    sentAt: new Date().toISOString(),
  });
}

/** A heartbeat request (the hub acks requests): what resource-sync-agent sends. */
export function heartbeat(nc: NatsConnection, ref: ClusterRef): Promise<WireReply> {
  return request(nc, agentSubject(ref, 'resource-sync-agent', 'heartbeat'), heartbeatBody());
}
