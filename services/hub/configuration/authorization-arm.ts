/**
 * The role assignments' ARM operations on a cluster's configuration document (role-assignments.ts
 * has the rules). A write nudges the cluster's agents like any configuration write, so guard pulls
 * the new assignments at once.
 */
import { PROTOCOL_VERSION, type ClusterRef } from '../../../contract/index.js';
import { ConfigurationDocuments } from './documents.js';
import type { RoleDefinitionRecord } from './role-definitions.js';
import type { ClusterConfigRecord } from './records.js';
import {
  checkRoleAssignable,
  notFoundAssignment,
  putAssignment,
  scopeOf,
  type RoleAssignmentInput,
  type RoleAssignmentRecord,
} from './role-assignments.js';

const assignmentsOf = (doc: ClusterConfigRecord): Record<string, RoleAssignmentRecord> =>
  (doc.roleAssignments ??= {});

export abstract class AuthorizationArm extends ConfigurationDocuments {
  /** The cluster's assignments: all of them (`namespace` undefined), or those at one scope. */
  listRoleAssignments(ref: ClusterRef, namespace?: string | null): RoleAssignmentRecord[] {
    const all = Object.values(assignmentsOf(this.doc(ref)));
    return namespace === undefined ? all : all.filter((r) => r.namespace === namespace);
  }

  getRoleAssignment(ref: ClusterRef, namespace: string | null, name: string): RoleAssignmentRecord {
    const r = assignmentsOf(this.doc(ref))[name];
    if (!r || r.namespace !== namespace) throw notFoundAssignment(name);
    return r;
  }

  putRoleAssignment(
    ref: ClusterRef,
    namespace: string | null,
    name: string,
    input: RoleAssignmentInput,
    caller: string,
  ): { record: RoleAssignmentRecord; created: boolean } {
    checkRoleAssignable(input.roleId, scopeOf(ref, { namespace }), (id) => this.customRole(id));
    const doc = this.writableDoc(ref);
    const nowIso = new Date(this.deps.clock.now()).toISOString();
    const result = putAssignment(assignmentsOf(doc), name, namespace, input, { nowIso, caller });
    if (result.created) this.commit(doc, `role assignment ${name} created`);
    return result;
  }

  protected customRole(id: string): RoleDefinitionRecord | undefined {
    return this.deps.customRole?.(id);
  }

  /** The clusters with an assignment of a role: a custom role in use cannot be deleted. */
  clustersAssigning(roleId: string): ClusterRef[] {
    const out: ClusterRef[] = [];
    for (const doc of this.deps.store.values())
      if (this.owned(doc) && Object.values(doc.roleAssignments ?? {}).some((r) => r.roleId === roleId))
        out.push(doc.ref);
    return out;
  }

  /** A custom role's permissions changed: guard on every cluster assigning it pulls the grants again. */
  roleChanged(roleId: string): void {
    for (const ref of this.clustersAssigning(roleId))
      this.deps.publishControl(ref, {
        v: PROTOCOL_VERSION,
        type: 'control',
        action: 'config-changed',
        reason: `role definition ${roleId} changed`,
      });
  }

  /** The deleted assignment; undefined when there was none (ARM answers 204). */
  deleteRoleAssignment(
    ref: ClusterRef,
    namespace: string | null,
    name: string,
  ): RoleAssignmentRecord | undefined {
    const doc = this.writableDoc(ref);
    const all = assignmentsOf(doc);
    const r = all[name];
    if (!r || r.namespace !== namespace) return undefined;
    delete all[name];
    this.commit(doc, `role assignment ${name} deleted`);
    return r;
  }
}
