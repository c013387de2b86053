/**
 * The hub's model as one object: the connectedClusters resources (connected-clusters/) with the agent
 * protocol over the same records (agent-bus/agent-protocol.ts). main.ts builds one; the ARM routes,
 * cluster connect and the live page see it as ConnectedClusters, the agent bus as AgentMessages.
 */
import type {
  AckReply,
  AgentHealth,
  Heartbeat,
  IdentityReply,
  MetadataReport,
  RegisterRequest,
} from '../../contract/index.js';
import type { CertificateClaims, IdentityAuthority } from '../../platform/identity.js';
import { AgentProtocol, type AgentMessages } from './agent-bus/agent-protocol.js';
import { ConnectedClusters, type ConnectedClustersDeps } from './connected-clusters/connected-clusters.js';
import type { ClusterRecord } from './connected-clusters/projection.js';

export interface HubDeps extends ConnectedClustersDeps {
  /** Issues and checks the agents' identity certificates. */
  authority: IdentityAuthority;
}

export class Hub extends ConnectedClusters implements AgentMessages {
  private readonly agents: AgentProtocol;

  constructor(deps: HubDeps) {
    super(deps);
    this.agents = new AgentProtocol({ ...deps, clusters: this });
  }

  register(
    key: string,
    req: RegisterRequest,
    subject: string,
    payload: Uint8Array,
    signature: string | undefined,
  ): IdentityReply {
    return this.agents.register(key, req, subject, payload, signature);
  }

  authenticate(
    key: string,
    certificate: string | undefined,
    signature: string | undefined,
    subject: string,
    payload: Uint8Array,
  ): { record: ClusterRecord; claims: CertificateClaims } {
    return this.agents.authenticate(key, certificate, signature, subject, payload);
  }

  renew(record: ClusterRecord, claims: CertificateClaims): IdentityReply {
    return this.agents.renew(record, claims);
  }

  heartbeat(record: ClusterRecord, message: Heartbeat): void {
    this.agents.heartbeat(record, message);
  }

  metadata(record: ClusterRecord, report: MetadataReport): AckReply {
    return this.agents.metadata(record, report);
  }

  agentHealth(record: ClusterRecord, report: AgentHealth): AckReply {
    return this.agents.agentHealth(record, report);
  }
}
