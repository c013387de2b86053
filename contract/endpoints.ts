/**
 * The endpoint classes a real Arc cluster reaches (ARC-FACTS "Network"), and the agents that reach
 * each: what an egress rule for one class blocks. arcfleet's agents all leave through one NATS
 * connection each, so a class is the set of agents whose traffic goes to it. Pure.
 */
import type { AgentName } from './subjects.js';

/**
 * - `identity`: `*.his.arc.azure.com` and the login endpoints (the MSI certificate, its renewal);
 * - `data-plane`: `<region>.dp.kubernetesconfiguration.azure.com` (configurations, extensions, Flux logs);
 * - `metrics`: where metrics-agent sends the agents' health;
 * - `relay`: the cluster-connect relay (`*.servicebus.windows.net`, websockets);
 * - `arm`: `management.azure.com`, which the heartbeat and the metadata sync reach.
 */
export const ENDPOINT_CLASSES = ['identity', 'data-plane', 'metrics', 'relay', 'arm'] as const;
export type EndpointClass = (typeof ENDPOINT_CLASSES)[number];

export const ENDPOINT_AGENTS: Readonly<Record<EndpointClass, readonly AgentName[]>> = {
  identity: ['clusteridentityoperator'],
  'data-plane': ['config-agent', 'extension-manager', 'flux-logs-agent'],
  metrics: ['metrics-agent'],
  relay: ['clusterconnect-agent'],
  arm: ['resource-sync-agent'],
};

/** The agents behind some endpoint classes and agent names (deduplicated, in AGENT order). */
export function agentsOf(
  endpoints: readonly EndpointClass[],
  agents: readonly AgentName[] = [],
): AgentName[] {
  const chosen = new Set<AgentName>(agents);
  for (const e of endpoints) for (const a of ENDPOINT_AGENTS[e]) chosen.add(a);
  return [...chosen].sort();
}
