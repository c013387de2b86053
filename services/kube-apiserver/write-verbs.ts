/**
 * Why this file: the write verbs (create, update, patch, delete) and the rules that guard them.
 * Derived objects (nodes, the Arc agents' pods and deployments, the Arc secret and config map) are
 * read-only; the Arc agents' namespace cannot be deleted; a create needs its namespace. Every write
 * is persisted before it is answered; a dry run (`dryRun=All`) is checked the same way and stores
 * nothing. Unknown fields are handled by `fieldValidation` (openapi/field-validation.ts).
 */
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { parse as parseYaml } from 'yaml';
import { KUBE_RESOURCES, groupVersion, type KubeResource } from '../../contract/index.js';
import type { ClusterHandle } from './clusters.js';
import { ARC_NAMESPACE } from './derived.js';
import { definitionName } from './openapi/documents.js';
import { checkFields, unknownFields, type FieldValidation } from './openapi/field-validation.js';
import { DEFINITIONS, takesStrategicMerge } from './openapi/schemas-kinds.js';
import { recordUpdate, serverSideApply, type OwnershipContext } from './openapi/server-side-apply.js';
import { strategicMergePatch } from './openapi/strategic-merge.js';
import { kubeTime } from './object-store.js';
import { jsonPatch, mergePatch } from './patch.js';
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

function ownership(r: KubeResource, opts: WriteOptions): OwnershipContext {
  return {
    defs: DEFINITIONS,
    definition: definitionName(r),
    apiVersion: groupVersion(r),
    manager: opts.manager,
    now: kubeTime(Date.now()),
  };
}

/** Sets `obj`'s managedFields for a non-apply write over `before`. */
function own(r: KubeResource, before: KubeObject | undefined, obj: KubeObject, opts: WriteOptions): void {
  const fields = recordUpdate(before, obj, ownership(r, opts));
  if (fields.length > 0) obj.metadata['managedFields'] = fields;
  else delete obj.metadata['managedFields'];
}

/** Unknown fields of `obj` by the directive; `before` (a patch's target) excuses those it already had. */
function validateFields(r: KubeResource, obj: unknown, opts: WriteOptions, before?: unknown): void {
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
  if (r.group === '' && r.plural === 'nodes')
    throw new KubeStatusError(
      'MethodNotAllowed',
      'nodes are derived from the node pools of the cluster (cluster.json) and cannot be created',
      {
        kind: 'nodes',
      },
    );
  if (r.namespaced && namespace === undefined)
    throw KubeStatusError.badRequest(
      `${r.plural} are namespaced: create them under /namespaces/<namespace>/${r.plural}`,
    );
  const parsed = parseJsonBody(body);
  validateFields(r, parsed, opts);
  const obj = validateObject(r, parsed, { namespace });
  if (namespace !== undefined && !(await namespaceExists(cluster, namespace)))
    throw KubeStatusError.notFound('namespaces', namespace);
  if ((await derivedOf(cluster, r, namespace)).some((o) => o.metadata.name === obj.metadata.name))
    throw KubeStatusError.alreadyExists(r.plural, obj.metadata.name, r.group);
  own(r, undefined, obj, opts);
  const created = cluster.objects.create(r, obj, { dryRun: opts.dryRun });
  if (!opts.dryRun) await cluster.persist();
  return created;
}

async function checkStoredOrReadonly(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
): Promise<KubeObject> {
  const current = cluster.objects.get(r, namespace, name);
  if (current) return current;
  if ((await derivedOf(cluster, r, namespace)).some((o) => o.metadata.name === name))
    throw readonlyError(r, name);
  throw KubeStatusError.notFound(r.plural, name, r.group);
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
  const updated = cluster.objects.update(r, obj, { dryRun: opts.dryRun });
  if (!opts.dryRun) await cluster.persist();
  return updated;
}

export async function patch(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
  contentType: string,
  body: Buffer | undefined,
  opts: WriteOptions,
): Promise<KubeObject> {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/apply-patch+yaml')
    return applyConfiguration(cluster, r, namespace, name, body, opts);
  const apply = patcherOf(r, type);
  const patchBody = parseJsonBody(body);
  const current = await checkStoredOrReadonly(cluster, r, namespace, name);
  const patched = apply(current, patchBody);
  validateFields(r, patched, opts, current);
  const obj = validateObject(r, patched, { namespace, name });
  // A patch is applied to what it read: it conflicts only when it names a resourceVersion itself.
  const wanted = (patchBody as { metadata?: { resourceVersion?: unknown } } | undefined)?.metadata
    ?.resourceVersion;
  obj.metadata.resourceVersion = typeof wanted === 'string' ? wanted : current.metadata.resourceVersion;
  own(r, current, obj, opts);
  const updated = cluster.objects.update(r, obj, { dryRun: opts.dryRun });
  if (!opts.dryRun) await cluster.persist();
  return updated;
}

/**
 * Server-side apply (openapi/server-side-apply.ts): creates the object when it does not exist (the
 * reply is then 201: `created`), else merges the configuration into it by field ownership.
 */
async function applyConfiguration(
  cluster: ClusterHandle,
  r: KubeResource,
  namespace: string | undefined,
  name: string,
  body: Buffer | undefined,
  opts: WriteOptions,
): Promise<KubeObject & { created?: true }> {
  if (!opts.explicitManager)
    throw KubeStatusError.badRequest('PATCH requests with apply patch type must specify fieldManager');
  let config: unknown;
  try {
    config = parseYaml(body?.toString('utf8') ?? '');
  } catch (err) {
    throw KubeStatusError.badRequest(
      `the apply configuration is not valid YAML: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const applied = validateObject(r, config, { namespace, name });
  validateFields(r, config, opts);
  const stored = cluster.objects.get(r, namespace, name);
  if (!stored && (await derivedOf(cluster, r, namespace)).some((o) => o.metadata.name === name))
    throw readonlyError(r, name);
  const merged = serverSideApply(stored, applied, { ...ownership(r, opts), force: opts.force, resource: r });
  const obj = validateObject(r, merged, { namespace, name });
  if (stored) {
    obj.metadata.resourceVersion = applied.metadata.resourceVersion ?? stored.metadata.resourceVersion;
    const updated = cluster.objects.update(r, obj, { dryRun: opts.dryRun });
    if (!opts.dryRun) await cluster.persist();
    return updated;
  }
  if (namespace !== undefined && !(await namespaceExists(cluster, namespace)))
    throw KubeStatusError.notFound('namespaces', namespace);
  const created = cluster.objects.create(r, obj, { dryRun: opts.dryRun });
  if (!opts.dryRun) await cluster.persist();
  return Object.defineProperty({ ...created }, 'created', { value: true, enumerable: false });
}

/** The patch a content type names, for this kind (custom resources take no strategic merge patch). */
function patcherOf(r: KubeResource, type: string): (target: unknown, patch: unknown) => unknown {
  const strategic = takesStrategicMerge(r.group);
  if (type === 'application/merge-patch+json') return mergePatch;
  if (type === 'application/json-patch+json') return jsonPatch;
  if (type === 'application/strategic-merge-patch+json' && strategic)
    return (target, patch) => strategicMergePatch(target, patch, DEFINITIONS, definitionName(r));
  const accepted = [
    'application/apply-patch+yaml',
    'application/json-patch+json',
    'application/merge-patch+json',
    ...(strategic ? ['application/strategic-merge-patch+json'] : []),
  ];
  throw new KubeStatusError(
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
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
