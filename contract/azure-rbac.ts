/**
 * Azure RBAC for Arc-enabled Kubernetes, pure: the four built-in roles with their documented data
 * actions (Azure built-in roles, "Containers"), a Kubernetes request as the data action guard checks,
 * and the decision over a cluster's role assignments. The hub stores the assignments
 * (`Microsoft.Authorization/roleAssignments` under the cluster, or under `<cluster>/namespaces/<ns>`)
 * and custom role definitions (`Microsoft.Authorization/roleDefinitions`); guard decides with them.
 */
import { z } from 'zod';

/** api-versions of Microsoft.Authorization/roleAssignments the hub answers (stable and the previews az uses). */
export const ROLE_ASSIGNMENT_API_VERSIONS: readonly string[] = [
  '2015-07-01',
  '2018-01-01-preview',
  '2020-04-01-preview',
  '2020-10-01',
  '2022-04-01',
];

const K8S = 'Microsoft.Kubernetes/connectedClusters';
/** Every data action guard checks starts with this: the Kubernetes objects of a connected cluster. */
export const K8S_DATA_ACTION_PREFIX = `${K8S}/`;

export interface BuiltInRole {
  /** The role definition's name (a GUID, the same in every subscription). */
  readonly id: string;
  readonly roleName: string;
  readonly description: string;
  readonly dataActions: readonly string[];
}

const read = (r: string): string => `${K8S}/${r}/read`;
const all = (r: string): string => `${K8S}/${r}/*`;

/** Resources every role but Cluster Admin names: the namespaced workload kinds. */
const WORKLOADS = [
  'apps/daemonsets',
  'apps/deployments',
  'apps/replicasets',
  'apps/statefulsets',
  'autoscaling/horizontalpodautoscalers',
  'batch/cronjobs',
  'batch/jobs',
  'configmaps',
  'endpoints',
  'extensions/daemonsets',
  'extensions/deployments',
  'extensions/ingresses',
  'extensions/networkpolicies',
  'extensions/replicasets',
  'networking.k8s.io/ingresses',
  'networking.k8s.io/networkpolicies',
  'persistentvolumeclaims',
  'pods',
  'policy/poddisruptionbudgets',
  'replicationcontrollers',
  'serviceaccounts',
  'services',
];
const ALWAYS_READ = [
  'apps/controllerrevisions',
  'events.k8s.io/events',
  'events',
  'limitranges',
  'namespaces',
  'resourcequotas',
];

const VIEWER: readonly string[] = [...ALWAYS_READ, ...WORKLOADS].map(read);
const WRITER: readonly string[] = [...ALWAYS_READ.map(read), ...WORKLOADS.map(all), all('secrets')];
const ADMIN: readonly string[] = [
  ...WRITER,
  `${K8S}/authorization.k8s.io/localsubjectaccessreviews/write`,
  all('rbac.authorization.k8s.io/rolebindings'),
  all('rbac.authorization.k8s.io/roles'),
];

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  {
    id: '63f0a09d-1495-4db4-a681-037d84835eb4',
    roleName: 'Azure Arc Kubernetes Viewer',
    description: 'Lets you view all resources in cluster/namespace, except secrets.',
    dataActions: VIEWER,
  },
  {
    id: '5b999177-9696-4545-85c7-50de3797e5a1',
    roleName: 'Azure Arc Kubernetes Writer',
    description:
      'Lets you update everything in cluster/namespace, except (cluster)roles and (cluster)role bindings.',
    dataActions: WRITER,
  },
  {
    id: 'dffb1e0c-446f-4dde-a09f-99eb5cc68b96',
    roleName: 'Azure Arc Kubernetes Admin',
    description:
      'Lets you manage all resources under cluster/namespace, except update or delete resource quotas and namespaces.',
    dataActions: ADMIN,
  },
  {
    id: '8393591c-06b9-48a2-a542-1bd6b377f6a2',
    roleName: 'Azure Arc Kubernetes Cluster Admin',
    description: 'Lets you manage all resources in the cluster.',
    dataActions: [`${K8S}/*`],
  },
];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isGuid = (s: string): boolean => GUID.test(s);

export function builtInRole(guid: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((r) => r.id === guid.toLowerCase());
}

/** The role GUID of a role definition id (`[/subscriptions/<sub>]/providers/Microsoft.Authorization/roleDefinitions/<guid>`). */
export function roleGuidOf(roleDefinitionId: string): string | undefined {
  const m =
    /^(?:\/subscriptions\/[^/]+)?\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)$/i.exec(
      roleDefinitionId,
    );
  return m?.[1] !== undefined && isGuid(m[1]) ? m[1].toLowerCase() : undefined;
}

export const roleDefinitionIdOf = (subscriptionId: string, guid: string): string =>
  `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

/** Largest number of data actions (or not-data actions) in a custom role. */
export const MAX_ROLE_DATA_ACTIONS = 200;
const dataActionList = z.array(z.string().min(1).max(256)).max(MAX_ROLE_DATA_ACTIONS);

/** A role assignment as guard needs it (the desired state it pulls). */
export const roleGrantSchema = z.strictObject({
  /** The assignment's name (a GUID). */
  name: z.string().min(1).max(64),
  principalId: z.string().min(1).max(64),
  roleId: z.string().min(1).max(64),
  /** The namespace of a namespace-scoped assignment; null: the whole cluster. */
  namespace: z.string().min(1).max(63).nullable(),
  /**
   * A custom role's permissions, sent with each grant of it (guard knows the built-in roles itself):
   * its name, what it allows and what it takes out again (Azure's notDataActions).
   */
  custom: z
    .strictObject({
      roleName: z.string().min(1).max(512),
      dataActions: dataActionList,
      notDataActions: dataActionList,
    })
    .optional(),
});
export type RoleGrant = z.infer<typeof roleGrantSchema>;

/** A request to a cluster's apiserver, as Kubernetes' authorizers see it (SubjectAccessReview). */
export interface KubeRequestAttributes {
  readonly verb: string;
  /** '' for the core group. */
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string | undefined;
  /** None for a cluster-scoped resource. */
  readonly namespace?: string | undefined;
  readonly name?: string | undefined;
}

/** The data action a request needs: `Microsoft.Kubernetes/connectedClusters/[<group>/]<resource>/<read|write|delete|<verb>/action>`. */
export function dataActionOf(a: KubeRequestAttributes): string {
  const verb = a.verb.toLowerCase();
  const op =
    verb === 'get' || verb === 'list' || verb === 'watch'
      ? 'read'
      : verb === 'create' || verb === 'update' || verb === 'patch'
        ? 'write'
        : verb === 'delete' || verb === 'deletecollection'
          ? 'delete'
          : `${verb}/action`;
  const resource = a.group === '' ? a.resource : `${a.group}/${a.resource}`;
  return `${K8S}/${resource}/${op}`;
}

/** Whether a data action pattern (`*` matches anything, case-insensitive, as in Azure) covers an action. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
  return re.test(action);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether a role's data actions cover `action` and none of its not-data actions takes it out again. */
export function permits(
  role: { readonly dataActions: readonly string[]; readonly notDataActions?: readonly string[] },
  action: string,
): boolean {
  return (
    role.dataActions.some((p) => actionMatches(p, action)) &&
    !(role.notDataActions ?? []).some((p) => actionMatches(p, action))
  );
}

export interface Principal {
  readonly objectId: string;
  readonly groups: readonly string[];
}

export type RbacDecision =
  { readonly allowed: true; readonly reason: string } | { readonly allowed: false; readonly reason: string };

/** guard's words when no assignment allows a request. */
export const RBAC_DENIED_REASON =
  'User does not have access to the resource in Azure. Update role assignment to allow access.';

/**
 * Allowed when an assignment to the user (or one of its groups) grants a role whose data actions
 * cover the request's (and whose not-data actions do not), at the cluster or at the request's namespace. A namespace-scoped assignment
 * never covers a cluster-scoped resource.
 */
export function authorize(
  grants: readonly RoleGrant[],
  principal: Principal,
  attrs: KubeRequestAttributes,
): RbacDecision {
  const action = dataActionOf(attrs);
  const ids = new Set([principal.objectId, ...principal.groups].map((s) => s.toLowerCase()));
  for (const g of grants) {
    if (!ids.has(g.principalId.toLowerCase())) continue;
    if (g.namespace !== null && g.namespace !== attrs.namespace) continue;
    const role = g.custom ?? builtInRole(g.roleId);
    if (role && permits(role, action))
      return { allowed: true, reason: `allowed by role assignment ${g.name} (${role.roleName})` };
  }
  return { allowed: false, reason: RBAC_DENIED_REASON };
}
