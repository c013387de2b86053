/**
 * The contract between the host and an agent: what an agent instance is told about its cluster and
 * what it may use. Kept apart from the host so an agent (and its tests) depend on these few types,
 * not on the polling machinery.
 */
import type {
  AgentName,
  ClusterRef,
  ClusterState,
  ControlMessage,
  IdentitySecret,
  OnboardingSecret,
} from '../contract/index.js';
import type { Logger } from '../platform/log.js';
import type { AgentLink, LinkCredentials } from './agent-link.js';
import type { ClusterStore } from './cluster-store.js';

/** What an instance knows about its cluster. `state` is always present for a running instance. */
export interface ClusterSnapshot {
  readonly name: string;
  readonly state: ClusterState;
  readonly onboarding: OnboardingSecret | undefined;
  readonly identity: IdentitySecret | undefined;
}

export interface ClusterChanges {
  /** The cluster state's generation changed. */
  readonly state: boolean;
  /** The onboarding secret was written or deleted. */
  readonly onboarding: boolean;
  /** The identity secret was written or deleted. */
  readonly identity: boolean;
  /** The emulated apiserver's stored objects changed (read them through the apiserver). */
  readonly kube: boolean;
}

/**
 * Why an instance closes: its agent was stopped for the cluster (`stoppedAgents`), the cluster was
 * removed, or the process is shutting down.
 */
/** Why an instance closes: stopped for the cluster, cluster removed, process shutting down, or a new agent version. */
export type CloseReason = 'stopped' | 'removed' | 'shutdown' | 'upgrade';

export interface AgentInstance {
  /** Called after the files changed; must not throw (errors are logged by the host if it does). */
  update(snapshot: ClusterSnapshot, changes: ClusterChanges): void;
  /** Stops timers and closes the link; safe to call twice. */
  close(reason?: CloseReason): Promise<void>;
  /** Reports waiting to be sent (an outbox), for the metrics. */
  outboxDepth?(): number;
}

export interface OpenLinkOptions {
  readonly onControl?: (message: ControlMessage) => void;
  readonly signal?: AbortSignal;
  readonly maxReplyBytes?: number;
}

export interface AgentContext {
  readonly agentName: AgentName;
  readonly clusterName: string;
  /** Child logger with `cluster` and `agent` bound. */
  readonly logger: Logger;
  readonly store: ClusterStore;
  /** Opens this pair's own NATS connection through the host's connection gate. */
  openLink(ref: ClusterRef, credentials: LinkCredentials, options?: OpenLinkOptions): Promise<AgentLink>;
}

export type AgentFactory = (ctx: AgentContext, snapshot: ClusterSnapshot) => AgentInstance;
