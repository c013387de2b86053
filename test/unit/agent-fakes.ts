/**
 * Driving one agent instance without processes or NATS: a fake link at the `AgentContext.openLink`
 * seam that records what the agent sends (and with which credentials) and answers requests from a
 * script; certificates from a real IdentityAuthority; log lines captured as objects.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { AgentContext, ClusterSnapshot } from '../../agent-runtime/agent-instance.js';
import type { AgentLink, LinkCredentials, RequestResult } from '../../agent-runtime/agent-link.js';
import type { ClusterStore } from '../../agent-runtime/cluster-store.js';
import {
  PROTOCOL_VERSION,
  clusterKey,
  type AgentMessage,
  type AgentName,
  type ClusterRef,
  type ClusterState,
  type ControlMessage,
  type HubReply,
  type IdentitySecret,
  type MessageKind,
  type OnboardingSecret,
} from '../../contract/index.js';
import { IdentityAuthority, generateAgentKeyPair, type AgentKeyPair } from '../../platform/identity.js';
import { clusterState as fixtureState, nodePool } from '../helpers/fixtures.js';

export const REF: ClusterRef = { subscriptionId: 'sub-1', resourceGroup: 'rg-1', name: 'c1' };
export const DAY = 86_400_000;

export function clusterState(generation = 0, nodeCount = 3): ClusterState {
  return fixtureState(REF.name, {
    subscriptionId: REF.subscriptionId,
    resourceGroup: REF.resourceGroup,
    location: 'eastus',
    nodePools: [nodePool({ nodeImageVersion: 'x', count: nodeCount })],
    generation,
    changedAt: `2026-01-01T00:00:0${generation % 10}.000Z`,
  });
}

/** The hub's certificate authority, for certificates the agents accept. */
export class FakeAuthority {
  private readonly authority = new IdentityAuthority(IdentityAuthority.generatePem());

  issue(keys: AgentKeyPair, nowMs: number, validityMs = 90 * DAY): IdentitySecret {
    const { certificate, claims } = this.authority.issue(clusterKey(REF), keys.publicKey, nowMs, validityMs);
    return {
      certificate,
      'azure-identity-certificate-expiration-time': new Date(claims.exp).toISOString(),
      issuedAt: new Date(claims.nbf).toISOString(),
      state: 'Valid',
      // Stands in for the cluster's NATS user JWT, one per certificate (what a link presents).
      natsUserJwt: `jwt.${certificate.slice(-24)}`,
    };
  }

  reply(keys: AgentKeyPair, nowMs: number, validityMs = 90 * DAY): HubReply {
    const secret = this.issue(keys, nowMs, validityMs);
    return {
      v: PROTOCOL_VERSION,
      type: 'identity',
      certificate: secret.certificate,
      notBefore: secret.issuedAt,
      notAfter: secret['azure-identity-certificate-expiration-time'],
      issuerPublicKey: this.authority.publicKeySpki(),
      ...(secret.natsUserJwt ? { natsUserJwt: secret.natsUserJwt } : {}),
    };
  }
}

export function onboardingSecret(
  keys: AgentKeyPair = generateAgentKeyPair(),
  token = 'token-1',
): OnboardingSecret {
  return {
    resourceId: 'r',
    privateKeyPem: keys.privateKeyPem,
    publicKey: keys.publicKey,
    bootstrapToken: token,
    hubUrl: 'http://hub',
  };
}

export function snapshotOf(
  state: ClusterState,
  onboarding: OnboardingSecret | undefined,
  identity: IdentitySecret | undefined,
): ClusterSnapshot {
  return { name: REF.name, state, onboarding, identity };
}

export interface Sent {
  readonly op: 'publish' | 'request';
  readonly kind: MessageKind;
  readonly message: AgentMessage;
  /** The broker JWT of the connection the message went over (none: the bootstrap-less fake). */
  readonly natsUserJwt: string | undefined;
}

export type Responder = (kind: MessageKind, message: AgentMessage) => RequestResult | Promise<RequestResult>;

export const ack = (): RequestResult => ({ ok: true, reply: { v: PROTOCOL_VERSION, type: 'ack' } });
export const refuse = (code: string, message = code): RequestResult => ({
  ok: true,
  reply: { v: PROTOCOL_VERSION, type: 'error', code, message },
});
export const fail = (reason: 'timeout' | 'closed' | 'no-responders'): RequestResult => ({
  ok: false,
  reason,
  error: new Error(reason),
});

/** One opened link: what went over it, and its control subject. */
export class FakeLink {
  readonly sent: Sent[] = [];
  closed = false;
  /** false: publishes fail and requests time out, as while NATS reconnects. */
  connected = true;

  constructor(
    public credentials: LinkCredentials,
    private readonly responder: () => Responder,
    private readonly onControl: ((message: ControlMessage) => void) | undefined,
  ) {}

  control(message: ControlMessage): void {
    this.onControl?.(message);
  }

  asLink(): AgentLink {
    const link = {
      publish: (kind: MessageKind, message: AgentMessage): boolean => {
        if (this.closed || !this.connected) return false;
        this.sent.push({ op: 'publish', kind, message, natsUserJwt: this.credentials.natsUserJwt });
        return true;
      },
      request: async (kind: MessageKind, message: AgentMessage): Promise<RequestResult> => {
        if (this.closed) return fail('closed');
        if (!this.connected) return fail('timeout');
        this.sent.push({ op: 'request', kind, message, natsUserJwt: this.credentials.natsUserJwt });
        return this.responder()(kind, message);
      },
      setCredentials: (credentials: LinkCredentials): void => {
        this.credentials = credentials;
      },
      close: (): Promise<void> => {
        this.closed = true;
        return Promise.resolve();
      },
    };
    return link as unknown as AgentLink;
  }
}

/** An `AgentContext` whose links are `FakeLink`s answering with `respond` (changeable at any time). */
export function fakeContext(agentName: AgentName, store: ClusterStore, logger: Logger) {
  const links: FakeLink[] = [];
  const hub = { respond: ((): RequestResult => ack()) as Responder };
  const ctx: AgentContext = {
    agentName,
    clusterName: REF.name,
    logger,
    store,
    openLink: (_ref, credentials, options = {}) => {
      options.signal?.throwIfAborted();
      const link = new FakeLink(credentials, () => hub.respond, options.onControl);
      links.push(link);
      return Promise.resolve(link.asLink());
    },
  };
  /** Every message sent over any link, in order. */
  const sent = (): Sent[] => links.flatMap((l) => l.sent);
  return { ctx, links, hub, sent };
}

/** A logger whose lines are kept as objects (`event` field and all). */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}
