/**
 * NATS subject scheme (`v1` in the subjects; messages carry their own version, PROTOCOL_VERSION). Documented in docs/protocol.md.
 *
 *   arc.v1.<sub>.<rg>.<cluster>.<agent>.<kind>   cluster agent → hub (publish or request)
 *   arcctl.v1.<sub>.<rg>.<cluster>               hub → that cluster's agents (control)
 *
 * The cluster identity is three subject tokens so that per-cluster NATS permissions
 * (`arc.v1.<sub>.<rg>.<cluster>.>`) are possible. Tokens are lower-cased (ARM names are
 * case-insensitive) and escaped: any character outside [a-z0-9-] becomes `_` + two hex digits of
 * each UTF-8 byte. The same encoding makes JetStream KV keys.
 */
/**
 * Message version. 2: the caller's identity is the subject the broker let it publish on (its NATS
 * user, docs/broker-identity.md); v1's per-message `Arc-Identity`/`Arc-Signature` headers are gone.
 */
export const PROTOCOL_VERSION = 2 as const;

export const AGENT_NAMES = [
  'clusteridentityoperator',
  'resource-sync-agent',
  'config-agent',
  'metrics-agent',
  'extension-manager',
  'clusterconnect-agent',
  'cluster-metadata-operator',
  'controller-manager',
  'kube-aad-proxy',
  'flux-logs-agent',
  'guard',
] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

/**
 * Agents that talk only to their own cluster's apiserver, never to Azure: no NATS connection, so no
 * broker user, no CA and nothing through the egress gateway.
 */
export const CLUSTER_LOCAL_AGENTS: readonly AgentName[] = [
  'cluster-metadata-operator',
  'controller-manager',
  'kube-aad-proxy',
];

/** Whether the agent holds a NATS link to the hub (every agent but the cluster-local ones). */
export function agentHasLink(agent: AgentName): boolean {
  return !CLUSTER_LOCAL_AGENTS.includes(agent);
}

/**
 * Agents that hold a link for some clusters only: flux-logs-agent opens it with the cluster's first
 * Flux log line, guard runs only on clusters with Azure RBAC on. The others hold theirs from onboarding.
 */
export const ON_DEMAND_LINK_AGENTS: readonly AgentName[] = ['flux-logs-agent', 'guard'];

export const MESSAGE_KINDS = [
  'register',
  'renew',
  'heartbeat',
  'metadata',
  'agent-health',
  'config-pull',
  'config-status',
  'flux-logs',
  'upgrade-check',
] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

export interface ClusterRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

export function encodeToken(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value.toLowerCase(), 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[a-z0-9-]/.test(ch) ? ch : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

export function decodeToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '_') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** `<sub>.<rg>.<cluster>`: the cluster's subject prefix and its KV key. */
export function clusterKey(ref: ClusterRef): string {
  return `${encodeToken(ref.subscriptionId)}.${encodeToken(ref.resourceGroup)}.${encodeToken(ref.name)}`;
}

/** The cluster a `clusterKey` names; undefined when `key` is not one. */
export function refOfKey(key: string): ClusterRef | undefined {
  const parts = key.split('.');
  if (parts.length !== 3) return undefined;
  const [subscriptionId, resourceGroup, name] = parts.map(decodeToken) as [string, string, string];
  return { subscriptionId, resourceGroup, name };
}

export const subjects = {
  agentToHub(ref: ClusterRef, agent: AgentName, kind: MessageKind): string {
    return `arc.v1.${clusterKey(ref)}.${agent}.${kind}`;
  },
  /** What the hub subscribes to (in queue group `hub`). */
  hubInbound: 'arc.v1.*.*.*.*.*',
  control(ref: ClusterRef): string {
    return `arcctl.v1.${clusterKey(ref)}`;
  },
};

export interface ParsedAgentSubject {
  readonly key: string;
  readonly agent: AgentName;
  readonly kind: MessageKind;
}

/** Parses an inbound subject; undefined when it is not one of ours. */
export function parseAgentSubject(subject: string): ParsedAgentSubject | undefined {
  const parts = subject.split('.');
  if (parts.length !== 7 || parts[0] !== 'arc' || parts[1] !== 'v1') return undefined;
  const agent = parts[5] as AgentName;
  const kind = parts[6] as MessageKind;
  if (!AGENT_NAMES.includes(agent) || !MESSAGE_KINDS.includes(kind)) return undefined;
  return { key: `${parts[2]}.${parts[3]}.${parts[4]}`, agent, kind };
}
