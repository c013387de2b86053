/**
 * Why this file: the OpenAPI documents of the emulated apiserver, built from contract/kube-resources.ts
 * (what is served) and schemas-kinds.ts (what it looks like):
 *
 * - `/openapi/v3`: the index of group/version documents, each with a `serverRelativeURL` carrying a
 *   content hash, as kubectl 1.27+ expects (it caches by that URL);
 * - `/openapi/v3/<api/v1 | apis/<group>/<version>>`: paths and component schemas of one group/version;
 * - `/openapi/v2`: one Swagger 2.0 document for everything, as JSON or as gnostic's protobuf.
 *
 * kubectl reads the PATCH operations: their `x-kubernetes-group-version-kind`, the `fieldValidation`
 * parameter (the server validates fields, so kubectl does not need the v2 schema to) and whether
 * `application/strategic-merge-patch+json` is accepted (built-in kinds; custom resources get a JSON
 * merge patch, as on a real cluster). Pure; documents are built once and cached.
 */
import { createHash } from 'node:crypto';
import { KUBE_RESOURCES, collectionPath, groupVersion, type KubeResource } from '../../../contract/index.js';
import { closure, renderDefinition, type Dialect } from './render.js';
import { definitionOf } from './schema-kit.js';
import { DEFINITIONS, takesStrategicMerge } from './schemas-kinds.js';
import { encodeOpenApiV2 } from './v2-protobuf.js';

const PATCH_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
] as const;

/** The path of a group/version's v3 document below /openapi/v3 (`api/v1`, `apis/apps/v1`). */
export function gvPath(r: Pick<KubeResource, 'group' | 'version'>): string {
  return r.group === '' ? `api/${r.version}` : `apis/${r.group}/${r.version}`;
}

function pascal(s: string): string {
  return s
    .split(/[^A-Za-z0-9]/)
    .filter(Boolean)
    .map((w) => w[0]?.toUpperCase() + w.slice(1))
    .join('');
}

/** The name of a served kind's schema (`io.k8s.api.apps.v1.Deployment`). */
export function definitionName(r: KubeResource): string {
  const found = definitionOf(DEFINITIONS, r);
  if (!found) throw new Error(`no schema for ${groupVersion(r)} ${r.kind}`);
  return found.name;
}

interface QueryParam {
  readonly name: string;
  readonly description: string;
}

const DRY_RUN: QueryParam = { name: 'dryRun', description: 'All: validate and answer without storing.' };
const FIELD_MANAGER: QueryParam = {
  name: 'fieldManager',
  description: 'The name of the writer, for managedFields.',
};
const FIELD_VALIDATION: QueryParam = {
  name: 'fieldValidation',
  description: 'Ignore, Warn (the default) or Strict: what an unknown field in the body gets.',
};
const FORCE: QueryParam = { name: 'force', description: 'Apply only: take fields other managers own.' };
const WRITE_PARAMS = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];

function queryParam(p: QueryParam, dialect: Dialect): Record<string, unknown> {
  const type = p.name === 'force' ? 'boolean' : 'string';
  return dialect === 'v3'
    ? { name: p.name, in: 'query', description: p.description, schema: { type } }
    : { name: p.name, in: 'query', description: p.description, type };
}

function pathParams(names: readonly string[], dialect: Dialect): Record<string, unknown>[] {
  return names.map((name) =>
    dialect === 'v3'
      ? {
          name,
          in: 'path',
          required: true,
          description: `the ${name} of the object`,
          schema: { type: 'string' },
        }
      : { name, in: 'path', required: true, description: `the ${name} of the object`, type: 'string' },
  );
}

function schemaRef(dialect: Dialect, name: string): Record<string, unknown> {
  return { $ref: dialect === 'v3' ? `#/components/schemas/${name}` : `#/definitions/${name}` };
}

function operation(
  r: KubeResource,
  action: string,
  opts: { namespaced: boolean; dialect: Dialect; params?: readonly QueryParam[]; body?: readonly string[] },
): Record<string, unknown> {
  const { dialect } = opts;
  const kindRef = schemaRef(dialect, definitionName(r));
  const group = r.group === '' ? 'Core' : pascal(r.group);
  const ns = opts.namespaced ? 'Namespaced' : '';
  const list = action === 'list';
  const operationId = `${action}${group}${pascal(r.version)}${ns}${r.kind}`;
  const resultSchema = list ? { type: 'object', description: `a ${r.kind}List` } : kindRef;
  const op: Record<string, unknown> = {
    description: `${action} ${list ? `objects of kind ${r.kind}` : `the specified ${r.kind}`}`,
    operationId,
    parameters: (opts.params ?? []).map((p) => queryParam(p, dialect)),
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
  };
  if (dialect === 'v3') {
    op['responses'] = {
      '200': { description: 'OK', content: { 'application/json': { schema: resultSchema } } },
    };
    if (opts.body)
      op['requestBody'] = {
        required: true,
        content: Object.fromEntries(
          opts.body.map((t) => [t, { schema: t === 'application/json' ? kindRef : { type: 'object' } }]),
        ),
      };
  } else {
    op['responses'] = { '200': { description: 'OK', schema: resultSchema } };
    if (opts.body) {
      op['consumes'] = [...opts.body];
      (op['parameters'] as unknown[]).push({
        name: 'body',
        in: 'body',
        required: true,
        schema: opts.body.includes('application/json') ? kindRef : { type: 'object' },
      });
    }
  }
  return op;
}

/** The paths of one resource: its collection(s) and its item. */
function resourcePaths(r: KubeResource, dialect: Dialect): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  const namespaced = r.namespaced;
  const collection = namespaced
    ? collectionPath(r, '{namespace}').replace('%7Bnamespace%7D', '{namespace}')
    : collectionPath(r);
  const pathNames = namespaced ? ['namespace'] : [];
  const patchTypes = takesStrategicMerge(r.group)
    ? PATCH_TYPES
    : PATCH_TYPES.filter((t) => t !== 'application/strategic-merge-patch+json');
  out[collection] = {
    parameters: pathParams(pathNames, dialect),
    get: operation(r, 'list', { namespaced, dialect }),
    post: operation(r, 'create', { namespaced, dialect, params: WRITE_PARAMS, body: ['application/json'] }),
  };
  out[`${collection}/{name}`] = {
    parameters: pathParams(['name', ...pathNames], dialect),
    get: operation(r, 'read', { namespaced, dialect }),
    put: operation(r, 'replace', { namespaced, dialect, params: WRITE_PARAMS, body: ['application/json'] }),
    patch: operation(r, 'patch', { namespaced, dialect, params: [...WRITE_PARAMS, FORCE], body: patchTypes }),
    delete: operation(r, 'delete', { namespaced, dialect, params: [DRY_RUN] }),
  };
  // Namespaced kinds are also listed across namespaces.
  if (namespaced) out[collectionPath(r)] = { get: operation(r, 'list', { namespaced: false, dialect }) };
  return out;
}

function schemasFor(resources: readonly KubeResource[], dialect: Dialect): Record<string, unknown> {
  const names = closure(resources.map(definitionName), DEFINITIONS);
  return Object.fromEntries(
    names.map((n) => [
      n,
      renderDefinition(DEFINITIONS[n] as (typeof DEFINITIONS)[string], DEFINITIONS, dialect),
    ]),
  );
}

const INFO = { title: 'Kubernetes (arcfleet emulated apiserver)', version: 'v1.32.0' };

function buildV3(path: string): Record<string, unknown> | undefined {
  const resources = KUBE_RESOURCES.filter((r) => gvPath(r) === path);
  if (resources.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const r of resources) Object.assign(paths, resourcePaths(r, 'v3'));
  return { openapi: '3.0.0', info: INFO, paths, components: { schemas: schemasFor(resources, 'v3') } };
}

interface Cached {
  readonly body: string;
  readonly hash: string;
}

const v3Cache = new Map<string, Cached | null>();

/** One group/version's v3 document, serialized, with its hash (undefined when not served). */
export function openApiV3(path: string): Cached | undefined {
  let hit = v3Cache.get(path);
  if (hit === undefined) {
    const doc = buildV3(path);
    const body = doc === undefined ? '' : JSON.stringify(doc);
    hit =
      doc === undefined
        ? null
        : { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase() };
    v3Cache.set(path, hit);
  }
  return hit ?? undefined;
}

/** The v3 index; `prefix` is the path the client reaches this cluster's apiserver at. */
export function openApiV3Root(prefix: string): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const path of new Set(KUBE_RESOURCES.map(gvPath))) {
    const doc = openApiV3(path);
    if (doc) paths[path] = { serverRelativeURL: `${prefix}/openapi/v3/${path}?hash=${doc.hash}` };
  }
  return { paths };
}

let v2Cache: { json: string; protobuf: Buffer } | undefined;

function v2(): { json: string; protobuf: Buffer } {
  if (v2Cache === undefined) {
    const paths: Record<string, unknown> = {};
    for (const r of KUBE_RESOURCES) Object.assign(paths, resourcePaths(r, 'v2'));
    const doc = { swagger: '2.0', info: INFO, paths, definitions: schemasFor(KUBE_RESOURCES, 'v2') };
    v2Cache = { json: JSON.stringify(doc), protobuf: encodeOpenApiV2(doc) };
  }
  return v2Cache;
}

/** The Swagger 2.0 document of everything served. */
export function openApiV2(): string {
  return v2().json;
}

/** The same, as the protobuf client-go asks for (v2-protobuf.ts). */
export function openApiV2Protobuf(): Buffer {
  return v2().protobuf;
}
