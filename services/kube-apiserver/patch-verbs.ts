/**
 * Why this file: the PATCH verb, split from write-verbs.ts: the patch a content type names (JSON merge,
 * JSON patch, strategic merge for built-in kinds) applied to the stored object, or server-side apply
 * (openapi/server-side-apply.ts), which may also create it. Checked, owned and persisted as every write.
 */
import { parse as parseYaml } from 'yaml';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import type { KubeResource } from '../../contract/index.js';
import type { ClusterHandle } from './clusters.js';
import { definitionName } from './openapi/documents.js';
import { DEFINITIONS, takesStrategicMerge } from './openapi/schemas-kinds.js';
import { serverSideApply } from './openapi/server-side-apply.js';
import { strategicMergePatch } from './openapi/strategic-merge.js';
import { jsonPatch, mergePatch } from './patch.js';
import { KubeStatusError } from './status.js';
import { parseJsonBody, validateObject } from './validate.js';
import {
  checkStoredOrReadonly,
  own,
  ownership,
  storedUnlessDerived,
  storeNew,
  storeReplacement,
  validateFields,
  type WriteOptions,
} from './write-verbs.js';

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
  return storeReplacement(cluster, r, obj, opts);
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
  const stored = await storedUnlessDerived(cluster, r, namespace, name);
  const merged = serverSideApply(stored, applied, { ...ownership(r, opts), force: opts.force, resource: r });
  const obj = validateObject(r, merged, { namespace, name });
  if (stored) {
    obj.metadata.resourceVersion = applied.metadata.resourceVersion ?? stored.metadata.resourceVersion;
    return storeReplacement(cluster, r, obj, opts);
  }
  const created = await storeNew(cluster, r, namespace, obj, opts);
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
