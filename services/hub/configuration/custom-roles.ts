/**
 * The tenant's custom role definitions, one KV entry each in the hub's roles bucket (the rules and
 * shapes are role-definitions.ts'). Synchronous like ARM's own: 201 on create, 200 on update. Whether
 * a role is still assigned, and telling guard of a change, are the configuration service's (the
 * assignments live in the clusters' documents); the routes ask it.
 */
import { ArcError, BUILT_IN_ROLES, ERROR_CODES } from '../../../contract/index.js';
import type { Clock } from '../../../platform/clock.js';
import type { Logger } from '../../../platform/log.js';
import type { ProjectionStore } from '../persistence/projection-store.js';
import { visibleIn, type RoleDefinitionInput, type RoleDefinitionRecord } from './role-definitions.js';

export interface CustomRolesDeps {
  store: ProjectionStore<RoleDefinitionRecord>;
  clock: Clock;
  logger: Logger;
}

export class CustomRoles {
  constructor(private readonly deps: CustomRolesDeps) {}

  get(id: string): RoleDefinitionRecord | undefined {
    return this.deps.store.get(id.toLowerCase());
  }

  /** The custom roles a subscription sees, by name. */
  visibleIn(subscriptionId: string): RoleDefinitionRecord[] {
    return [...this.deps.store.values()]
      .filter((r) => visibleIn(r, subscriptionId))
      .sort((a, b) => a.roleName.localeCompare(b.roleName));
  }

  put(
    id: string,
    input: RoleDefinitionInput,
    caller: string,
  ): { record: RoleDefinitionRecord; created: boolean } {
    const name = input.roleName.toLowerCase();
    const twin =
      BUILT_IN_ROLES.some((r) => r.roleName.toLowerCase() === name) ||
      [...this.deps.store.values()].some((r) => r.key !== id && r.roleName.toLowerCase() === name);
    if (twin)
      throw new ArcError(
        ERROR_CODES.RoleDefinitionWithSameNameExists,
        'A custom role with the same name already exists in this directory. Use a different name.',
        { status: 409, target: 'properties.roleName' },
      );
    const existing = this.get(id);
    const nowIso = new Date(this.deps.clock.now()).toISOString();
    const record: RoleDefinitionRecord = {
      v: 1,
      key: id,
      ...input,
      createdOn: existing?.createdOn ?? nowIso,
      createdBy: existing?.createdBy ?? caller,
      updatedOn: nowIso,
      updatedBy: caller,
    };
    this.deps.store.set(record);
    this.deps.logger.info(
      {
        event: existing ? 'role_definition.updated' : 'role_definition.created',
        id,
        roleName: record.roleName,
      },
      `custom role '${record.roleName}' ${existing ? 'updated' : 'created'}`,
    );
    return { record, created: existing === undefined };
  }

  /** The deleted role; undefined when there was none (ARM answers 204). */
  async delete(id: string): Promise<RoleDefinitionRecord | undefined> {
    const existing = this.get(id);
    if (!existing) return undefined;
    await this.deps.store.delete(existing.key);
    this.deps.logger.info(
      { event: 'role_definition.deleted', id, roleName: existing.roleName },
      `custom role '${existing.roleName}' deleted`,
    );
    return existing;
  }
}
