/**
 * Builds the `AgentContext` a host hands to each instance: a logger bound to the cluster, the store,
 * and `openLink`, which applies the host-wide settings (gate, limits, reconnect behaviour, metrics)
 * so an agent only names its cluster, its credentials and what it listens for.
 */
import type { AgentName } from '../contract/index.js';
import type { Logger } from '../platform/log.js';
import type { ConnectionGate } from '../platform/limit.js';
import { AgentLink, type LinkConnectionOptions } from './agent-link.js';
import type { AgentContext } from './agent-instance.js';
import type { LinkMetrics } from './agent-metrics.js';
import type { ClusterStore } from './cluster-store.js';

export interface LinkSettings {
  readonly agentName: AgentName;
  readonly natsUrl: string;
  readonly natsCa?: string | undefined;
  readonly maxMessageBytes: number;
  readonly requestTimeoutMs?: number;
  readonly connection?: LinkConnectionOptions;
  readonly linkMetrics?: LinkMetrics;
  readonly gate: ConnectionGate;
  readonly store: ClusterStore;
  readonly logger: Logger;
  /** Every link opened, so the host can count open and connected links. */
  readonly onOpened: (link: AgentLink) => void;
}

export function makeAgentContext(name: string, s: LinkSettings): AgentContext {
  const logger = s.logger.child({ cluster: name, agent: s.agentName });
  const { natsUrl, maxMessageBytes, requestTimeoutMs, agentName, connection, linkMetrics } = s;
  return {
    agentName,
    clusterName: name,
    logger,
    store: s.store,
    openLink: (ref, credentials, options = {}) =>
      AgentLink.open({
        natsUrl,
        ca: s.natsCa,
        agentName,
        ref,
        logger,
        maxMessageBytes,
        credentials,
        gate: s.gate,
        ...(requestTimeoutMs === undefined ? {} : { requestTimeoutMs }),
        ...(connection ? { connection } : {}),
        ...(options.onControl ? { onControl: options.onControl } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.maxReplyBytes === undefined ? {} : { maxReplyBytes: options.maxReplyBytes }),
        ...(linkMetrics ? { metrics: linkMetrics } : {}),
      }).then((link) => {
        s.onOpened(link);
        return link;
      }),
  };
}
