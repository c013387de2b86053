/**
 * Why this file: the write verbs (create, update, delete; patch is in patch-verbs.ts) and the rules
 * that guard every write.
 * Derived objects (nodes, the Arc agents' pods and deployments, the Arc secret and config map) are
 * read-only; the Arc agents' namespace cannot be deleted; a create needs its namespace. Every write
 * is persisted before it is answered; a dry run (`dryRun=All`) is checked the same way and stores
 * nothing. Unknown fields are handled by `fieldValidation` (openapi/field-validation.ts).
 */
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { KUBE_RESOURCES, groupVersion, type KubeResource } from '../../contract/index.js';
import type { ClusterHandle } from './clusters.js';
import { ARC_NAMESPACE } from './derived.js';
import { definitionName } from './openapi/documents.js';
import { checkFields, unknownFields, type FieldValidation } from './openapi/field-validation.js';
import { DEFINITIONS } from './openapi/schemas-kinds.js';
import { recordUpdate, type OwnershipContext } from './openapi/server-side-apply.js';
import { kubeTime } from './object-store.js';
import { derivedOf, getObject } from './read-verbs.js';
import { KubeStatusError, successStatus, type KubeStatus } from './status.js';
import { parseJsonBody, validateObject } from './validate.js';

const NAMESPACED = KUBE_RESOURCES.filter((r) => r.namespaced);

/** How a write is made (query parameters `dryRun` and `fieldValidation`), and what it warns about. */
export interface WriteOptions {
  /** Validate and answer, store nothing (`dryRun=All`: kubectl diff, --dry-run=server). */
  readonly dryRun: boolean;
  readonly fieldValidation: FieldValidation;
  /** Filled with what the reply's `Warning` header says (unknown fields under Warn). */
  readonly warnings: string[];
  /** Who writes: `fieldManager`, else the user agent's product (`kubectl`); owner of what it changes. */
  readonly manager: string;
  /** Whether `fieldManager` was given (server-side apply requires it). */
  readonly explicitManager: boolean;
  /** Server-side apply only: take the fields other managers own. */
  readonly force: boolean;
}

export function ownership(r: KubeResource, opts: WriteOptions): OwnershipContext {
  return {
    defs: DEFINITIONS,
    definition: definitionName(r),
    apiVersion: groupVersion(r),
    manager: opts.manager,
    now: kubeTime(Date.now()),
  };
}

/** Sets `obj`'s managedFields for a non-apply write over `before`. */
export function own(
  r: KubeResource,
  before: KubeObject | undefined,
  obj: KubeObject,
  opts: WriteOptions,
): void {
  const fields = recordUpdate(before, obj, ownership(r, opts));
  if (fields.length > 0) obj.metadata['managedFields'] = fields;
  else delete obj.metadata['managedFields'];
}

/** Unknown fields of `obj` by the directive; `before` (a patch's target) excuses those it already had. */
export function validateFields(r: KubeResource, obj: unknown, opts: WriteOptions, before?: unknown): void {
  const name = definitionName(r);
  const had = before === undefined ? [] : unknownFields(before, DEFINITIONS, name);
  const found = unknownFields(obj, DEFINITIONS, name).filter((p) => !had.includes(p));
  opts.warnings.push(...checkFields(opts.fieldValidation, found, r));
}

function readonlyError(r: KubeResource, name: string): KubeStatusError {
  const what = r.group === '' ? r.plural : `${r.plural}.${r.group}`;
  return new KubeStatusError(
    'MethodNotAllowed',
    `${what} "${name}" is derived by the emulator from the cluster store and is read-only`,
    { name, group: r.group, kind: r.plural },
  );
}

async function namespaceExists(cluster: ClusterHandle, namespace: string): Promise<boolean> {
  const nsResource = KUBE_RESOURCES.find((x) => x.group === '' && x.plural === 'namespaces') as KubeResource;
  return (await getObject(cluster, nsResource, undefined, namespace)) !== undefined;
}

export async function create(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  body: Buffer | undefined,
  opts: WriteOptions,
): Promise<KubeObject> {
  if (r.namespaced && namespace === undefined)
    throw KubeStatusError.badRequest(
      `${r.plural} are namespaced: create them under /namespaces/<namespace>/${r.plural}`,
    );
  const parsed = parseJsonBody(body);
  validateFields(r, parsed, opts);
  const obj = validateObject(r, parsed, { namespace });
  if ((await derivedOf(cluster, r, namespace)).some((o) => o.metadata.name === obj.metadata.name))
    throw KubeStatusError.alreadyExists(r.plural, obj.metadata.name, r.group);
  own(r, undefined, obj, opts);
  return storeNew(cluster, r, namespace, obj, opts);
}

/** Stores a new object, whose namespace must exist; durable before it returns, unless a dry run. */
export async function storeNew(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  obj: KubeObject,
  opts: Pick<WriteOptions, 'dryRun'>,
): Promise<KubeObject> {
  if (namespace !== undefined && !(await namespaceExists(cluster, namespace)))
    throw KubeStatusError.notFound('namespaces', namespace);
  const created = cluster.objects.create(r, obj, { dryRun: opts.dryRun });
  if (!opts.dryRun) await cluster.persist();
  return created;
}

/** Replaces a stored object; durable before it returns, unless a dry run. */
export async function storeReplacement(
  cluster: ClusterHandle,
  r: KubeResource,
  obj: KubeObject,
  opts: Pick<WriteOptions, 'dryRun'>,
): Promise<KubeObject> {
  const updated = cluster.objects.update(r, obj, { dryRun: opts.dryRun });
  if (!opts.dryRun) await cluster.persist();
  return updated;
}

/** The stored object, or undefined when there is none; a derived one of that name is read-only (405). */
export async function storedUnlessDerived(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
): Promise<KubeObject | undefined> {
  const current = cluster.objects.get(r, namespace, name);
  if (current) return current;
  if ((await derivedOf(cluster, r, namespace)).some((o) => o.metadata.name === name))
    throw readonlyError(r, name);
  return undefined;
}

export async function checkStoredOrReadonly(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
): Promise<KubeObject> {
  const current = await storedUnlessDerived(cluster, r, namespace, name);
  if (!current) throw KubeStatusError.notFound(r.plural, name, r.group);
  return current;
}

export async function update(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
  body: Buffer | undefined,
  opts: WriteOptions,
): Promise<KubeObject> {
  const parsed = parseJsonBody(body);
  validateFields(r, parsed, opts);
  const obj = validateObject(r, parsed, { namespace, name });
  own(r, await checkStoredOrReadonly(cluster, r, namespace, name), obj, opts);
  return storeReplacement(cluster, r, obj, opts);
}

export async function remove(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
  opts: Pick<WriteOptions, 'dryRun'>,
): Promise<KubeStatus> {
  if (r.group === '' && r.plural === 'namespaces' && name === ARC_NAMESPACE)
    throw new KubeStatusError(
      'Forbidden',
      `namespaces "${name}" is forbidden: the Arc agents' namespace cannot be deleted`,
      {
        name,
        kind: 'namespaces',
      },
    );
  const current = await checkStoredOrReadonly(cluster, r, namespace, name);
  if (opts.dryRun)
    return successStatus({
      name,
      group: r.group,
      kind: r.plural,
      ...(current.metadata.uid ? { uid: current.metadata.uid } : {}),
    });
  const gone = cluster.objects.delete(r, namespace, name, NAMESPACED);
  await cluster.persist();
  return successStatus({
    name,
    group: r.group,
    kind: r.plural,
    ...(gone.metadata.uid ? { uid: gone.metadata.uid } : {}),
  });
}
