/**
 * The hub's `Microsoft.Authorization` API as `az role` uses it: role assignments at a connected cluster
 * or one of its namespaces, and role definitions (the built-in Azure Arc Kubernetes roles and the
 * tenant's custom roles). Requests go through the HubClient's (its token, its ARM errors).
 */
import type { ClusterRef } from '../../contract/index.js';

/** Microsoft.Authorization's api-version the client speaks (what `az role` sends). */
const AUTHORIZATION_API_VERSION = '2022-04-01';
const PROVIDER = 'providers/Microsoft.Authorization';

export interface RoleAssignment {
  readonly id: string;
  readonly name: string;
  readonly properties: {
    readonly roleDefinitionId: string;
    readonly principalId: string;
    readonly principalType: string;
    readonly scope: string;
  };
}

export interface RolePermissionsBody {
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly dataActions: readonly string[];
  readonly notDataActions: readonly string[];
}

export interface RoleDefinition {
  readonly id: string;
  readonly name: string;
  readonly properties: {
    readonly roleName: string;
    readonly type: 'BuiltInRole' | 'CustomRole';
    readonly description: string;
    readonly assignableScopes: readonly string[];
    readonly permissions: readonly RolePermissionsBody[];
  };
}

export interface RoleDefinitionPut {
  readonly roleName: string;
  readonly description?: string;
  readonly permissions: readonly RolePermissionsBody[];
  readonly assignableScopes: readonly string[];
}

/** One ARM call with the HubClient's token and error handling. */
export type ArmSend = (method: string, url: string, body?: unknown) => Promise<Response>;

export class AuthorizationClient {
  constructor(
    private readonly baseUrl: string,
    private readonly send: ArmSend,
    private readonly clusterPath: (ref: ClusterRef) => string,
  ) {}

  /** A cluster's (or one of its namespaces') role assignments path, as Azure RBAC scopes them. */
  roleAssignmentsPath(ref: ClusterRef, namespace?: string): string {
    const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
    return `${this.clusterPath(ref)}${ns}/${PROVIDER}/roleAssignments`;
  }

  /** `az role assignment create` at a cluster or namespace scope; the assignment as ARM answers it. */
  async putRoleAssignment(
    ref: ClusterRef,
    namespace: string | undefined,
    name: string,
    properties: { roleDefinitionId: string; principalId: string; principalType: string },
  ): Promise<RoleAssignment> {
    const path = `${this.roleAssignmentsPath(ref, namespace)}/${encodeURIComponent(name)}`;
    return (await (await this.send('PUT', this.url(path), { properties })).json()) as RoleAssignment;
  }

  /** Every role assignment of a cluster (its namespaces' too), or of one namespace and the cluster. */
  async listRoleAssignments(ref: ClusterRef, namespace?: string): Promise<RoleAssignment[]> {
    const res = await this.send('GET', this.url(this.roleAssignmentsPath(ref, namespace)));
    return ((await res.json()) as { value: RoleAssignment[] }).value;
  }

  /** The status ARM answered: 200 (deleted) or 204 (there was none). */
  async deleteRoleAssignment(ref: ClusterRef, namespace: string | undefined, name: string): Promise<number> {
    const path = `${this.roleAssignmentsPath(ref, namespace)}/${encodeURIComponent(name)}`;
    return this.statusOf(await this.send('DELETE', this.url(path)));
  }

  /** The role definitions a subscription sees, or those of one name (as az looks a role up). */
  async listRoleDefinitions(subscriptionId: string, roleName?: string): Promise<RoleDefinition[]> {
    const filter =
      roleName === undefined ? '' : `&$filter=${encodeURIComponent(`roleName eq '${roleName}'`)}`;
    const res = await this.send('GET', `${this.url(this.definitionsPath(subscriptionId))}${filter}`);
    return ((await res.json()) as { value: RoleDefinition[] }).value;
  }

  async getRoleDefinition(subscriptionId: string, id: string): Promise<RoleDefinition> {
    const path = `${this.definitionsPath(subscriptionId)}/${encodeURIComponent(id)}`;
    return (await (await this.send('GET', this.url(path))).json()) as RoleDefinition;
  }

  /** `az role definition create|update`: PUT at the subscription. */
  async putRoleDefinition(
    subscriptionId: string,
    id: string,
    properties: RoleDefinitionPut,
  ): Promise<RoleDefinition> {
    const path = `${this.definitionsPath(subscriptionId)}/${encodeURIComponent(id)}`;
    const body = { name: id, properties: { ...properties, type: 'CustomRole' } };
    return (await (await this.send('PUT', this.url(path), body)).json()) as RoleDefinition;
  }

  /** The status ARM answered: 200 (deleted) or 204 (there was none). */
  async deleteRoleDefinition(subscriptionId: string, id: string): Promise<number> {
    const path = `${this.definitionsPath(subscriptionId)}/${encodeURIComponent(id)}`;
    return this.statusOf(await this.send('DELETE', this.url(path)));
  }

  private definitionsPath(subscriptionId: string): string {
    return `/subscriptions/${encodeURIComponent(subscriptionId)}/${PROVIDER}/roleDefinitions`;
  }

  private url(path: string): string {
    return `${this.baseUrl}${path}?api-version=${AUTHORIZATION_API_VERSION}`;
  }

  private async statusOf(res: Response): Promise<number> {
    await res.body?.cancel();
    return res.status;
  }
}
