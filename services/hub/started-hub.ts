/**
 * What the hub's routes serve from once it has started (startup.ts opens it): the objects main.ts
 * builds after NATS and the projections are loaded.
 */
import type { NatsConnection } from 'nats';
import type { IdentityAuthority } from '../../platform/identity.js';
import type { Consistency } from './arm/durable-writes.js';
import type { BrokerUsers } from './broker/broker-users.js';
import type { CustomRoles } from './configuration/custom-roles.js';
import type { ConfigurationService } from './configuration/service.js';
import type { ConnectedClusters } from './connected-clusters/connected-clusters.js';
import type { FluxLogs } from './flux-logs/flux-logs.js';
import type { AgentReleases } from './releases/agent-releases.js';
import type { ExtensionReleases } from './releases/extension-releases.js';
import type { ResourceGroups } from './resource-groups/resource-groups.js';

export interface StartedHub {
  clusters: ConnectedClusters;
  configuration: ConfigurationService;
  nc: NatsConnection;
  authority: IdentityAuthority;
  /** Mints and revokes the clusters' broker users; undefined for a broker without accounts. */
  broker: BrokerUsers | undefined;
  /** Replicas: the ARM API's read-your-writes across them; undefined for a lone hub. */
  consistency: Consistency;
  resourceGroups: ResourceGroups;
  fluxLogs: FluxLogs;
  releases: AgentReleases;
  extensionReleases: ExtensionReleases;
  customRoles: CustomRoles;
}
