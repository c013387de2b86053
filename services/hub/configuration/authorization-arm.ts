/**
 * The role assignments' ARM operations on a cluster's configuration document (role-assignments.ts
 * has the rules). A write nudges the cluster's agents like any configuration write, so guard pulls
 * the new assignments at once.
 */
import type { ClusterRef } from '../../../contract/index.js';
import { ConfigurationDocuments } from './documents.js';
import type { ClusterConfigRecord } from './records.js';
import {
  notFoundAssignment,
  putAssignment,
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
    const doc = this.writableDoc(ref);
    const nowIso = new Date(this.deps.clock.now()).toISOString();
    const result = putAssignment(assignmentsOf(doc), name, namespace, input, { nowIso, caller });
    if (result.created) this.commit(doc, `role assignment ${name} created`);
    return result;
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
