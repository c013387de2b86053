/**
 * `Microsoft.Resources/resourceGroups`, as much of it as tools that create their group before the
 * cluster need (docs/arc-parity.md): PUT, GET, HEAD, LIST, PATCH (tags) and an asynchronous DELETE that
 * deletes the connected clusters in the group first. Every call under a group that does not exist is
 * answered 404 ResourceGroupNotFound (routes.ts). Records live in their own KV bucket; no network here.
 */
import { randomUUID } from 'node:crypto';
import { ArcError, ERROR_CODES, encodeToken } from '../../../contract/index.js';
import type { Clock } from '../../../platform/clock.js';
import type { Logger } from '../../../platform/log.js';
import type { ProjectionStore } from '../persistence/projection-store.js';

export const RESOURCE_GROUP_TYPE = 'Microsoft.Resources/resourceGroups';

export interface ResourceGroupRecord {
  v: 1;
  key: string;
  subscriptionId: string;
  /** As first created (ARM keeps the casing of the PUT that created it). */
  name: string;
  location: string;
  tags: Record<string, string>;
  managedBy?: string | undefined;
  createdAt: string;
  provisioningState: 'Succeeded' | 'Deleting';
  /** The running DELETE's operation id. */
  deleteOperation?: string | undefined;
}

export interface ResourceGroupInput {
  location: string;
  tags?: Record<string, string> | undefined;
  managedBy?: string | undefined;
}

/** What deleting a group needs of its connected clusters. */
export interface GroupMembers {
  /** How many connected clusters the group still holds. */
  count(subscriptionId: string, resourceGroup: string): number;
  /** Starts deleting each of them (a no-op for one already being deleted). */
  deleteAll(subscriptionId: string, resourceGroup: string): void;
}

export interface ResourceGroupsDeps {
  store: ProjectionStore<ResourceGroupRecord>;
  clock: Clock;
  logger: Logger;
  members: GroupMembers;
}

export function groupKey(subscriptionId: string, name: string): string {
  return `${encodeToken(subscriptionId.toLowerCase())}.${encodeToken(name.toLowerCase())}`;
}

export function groupNotFound(name: string): ArcError {
  return new ArcError(ERROR_CODES.ResourceGroupNotFound, `Resource group '${name}' could not be found.`, {
    status: 404,
  });
}

export class ResourceGroups {
  constructor(private readonly deps: ResourceGroupsDeps) {}

  get(subscriptionId: string, name: string): ResourceGroupRecord | undefined {
    return this.deps.store.get(groupKey(subscriptionId, name));
  }

  byKey(key: string): ResourceGroupRecord | undefined {
    return this.deps.store.get(key);
  }

  require(subscriptionId: string, name: string): ResourceGroupRecord {
    const group = this.get(subscriptionId, name);
    if (!group) throw groupNotFound(name);
    return group;
  }

  list(subscriptionId: string): ResourceGroupRecord[] {
    const sub = subscriptionId.toLowerCase();
    return [...this.deps.store.values()]
      .filter((g) => g.subscriptionId.toLowerCase() === sub)
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  put(
    subscriptionId: string,
    name: string,
    input: ResourceGroupInput,
  ): { record: ResourceGroupRecord; created: boolean } {
    const existing = this.get(subscriptionId, name);
    if (existing) {
      if (existing.provisioningState === 'Deleting')
        throw new ArcError(
          ERROR_CODES.Conflict,
          `The resource group '${existing.name}' is in deprovisioning state and cannot perform this operation.`,
          { status: 409 },
        );
      if (existing.location.toLowerCase() !== input.location.toLowerCase())
        throw new ArcError(
          ERROR_CODES.InvalidResourceLocation,
          `Invalid resource group location '${input.location}'. The Resource group already exists in location '${existing.location}'.`,
          { status: 409, target: 'location' },
        );
      existing.tags = input.tags ?? {};
      if (input.managedBy !== undefined) existing.managedBy = input.managedBy;
      this.deps.store.set(existing);
      return { record: existing, created: false };
    }
    const record: ResourceGroupRecord = {
      v: 1,
      key: groupKey(subscriptionId, name),
      subscriptionId,
      name,
      location: input.location,
      tags: input.tags ?? {},
      ...(input.managedBy === undefined ? {} : { managedBy: input.managedBy }),
      createdAt: new Date(this.deps.clock.now()).toISOString(),
      provisioningState: 'Succeeded',
    };
    this.deps.store.set(record);
    this.deps.logger.info({ event: 'group.created', key: record.key }, `resource group ${name} created`);
    return { record, created: true };
  }

  patchTags(subscriptionId: string, name: string, tags: Record<string, string>): ResourceGroupRecord {
    const group = this.require(subscriptionId, name);
    group.tags = tags;
    this.deps.store.set(group);
    return group;
  }

  /** Starts deleting the group and everything in it; undefined when there is no such group. */
  beginDelete(subscriptionId: string, name: string): ResourceGroupRecord | undefined {
    const group = this.get(subscriptionId, name);
    if (!group) return undefined;
    if (group.provisioningState !== 'Deleting') {
      group.provisioningState = 'Deleting';
      group.deleteOperation = randomUUID();
      this.deps.store.set(group);
      this.deps.logger.info(
        { event: 'group.deleting', key: group.key },
        `resource group ${group.name} deleting`,
      );
    }
    this.deps.members.deleteAll(group.subscriptionId, group.name);
    return group;
  }

  /** The leader's tick: a deleting group goes once its clusters are gone. */
  tick(): void {
    for (const group of [...this.deps.store.values()]) {
      if (group.provisioningState !== 'Deleting') continue;
      this.deps.members.deleteAll(group.subscriptionId, group.name);
      if (this.deps.members.count(group.subscriptionId, group.name) > 0) continue;
      void this.deps.store.delete(group.key).then(
        () =>
          this.deps.logger.info(
            { event: 'group.deleted', key: group.key },
            `resource group ${group.name} deleted`,
          ),
        (err: unknown) =>
          this.deps.logger.error({ event: 'group.delete_failed', key: group.key, err }, 'delete failed'),
      );
    }
  }
}

/** The ARM resource. */
export function renderGroup(g: ResourceGroupRecord): Record<string, unknown> {
  return {
    id: `/subscriptions/${g.subscriptionId}/resourceGroups/${g.name}`,
    name: g.name,
    type: RESOURCE_GROUP_TYPE,
    location: g.location,
    ...(g.managedBy === undefined ? {} : { managedBy: g.managedBy }),
    tags: g.tags,
    properties: { provisioningState: g.provisioningState },
  };
}
