/**
 * Why this file: the sets of fields server-side apply reasons about (who owns what), as the apiserver's
 * `managedFields[].fieldsV1` writes them: a path is a list of elements `f:<field>`, `k:<json of the
 * list-map keys>` (an element of a list merged by key), `v:<json value>` (a member of a set) and `.`
 * (the element or map itself). Leaves are scalars, atomic lists and free-form objects. Paths are kept
 * as JSON strings so that they can live in a Set. Pure.
 */
import type { Definitions, Field } from './schema-kit.js';

export type FieldPath = readonly string[];
export type FieldSet = Set<string>;

type Json = unknown;
type JsonObject = Record<string, Json>;

function isObject(v: Json): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const pathKey = (p: FieldPath): string => JSON.stringify(p);
export const pathOf = (key: string): string[] => JSON.parse(key) as string[];

/** The list-map key element of `elem` (`k:{"name":"web"}`), keys in schema order. */
export function keyElement(elem: JsonObject, keys: readonly string[]): string {
  return `k:${JSON.stringify(Object.fromEntries(keys.map((k) => [k, elem[k] ?? null])))}`;
}

/** Walks a value with its schema; `undefined` schema = unknown: a leaf. */
export function collectFields(
  value: Json,
  field: Field | undefined,
  defs: Definitions,
  at: string[],
  out: FieldSet,
): void {
  const leaf = (): void => void out.add(pathKey(at));
  if (field?.t === 'ref') {
    const def = defs[field.name];
    if (!def || Object.keys(def.props).length === 0 || !isObject(value)) return leaf();
    if (Object.keys(value).length === 0) return leaf();
    for (const [k, v] of Object.entries(value)) collectFields(v, def.props[k], defs, [...at, `f:${k}`], out);
    return;
  }
  if (field?.t === 'map' && isObject(value)) {
    out.add(pathKey([...at, '.']));
    for (const [k, v] of Object.entries(value)) collectFields(v, field.of, defs, [...at, `f:${k}`], out);
    return;
  }
  if (field?.t === 'list' && Array.isArray(value) && field.keys) {
    const keys = field.keys;
    for (const e of value) {
      if (!isObject(e)) return leaf();
      const element = [...at, keyElement(e, keys)];
      out.add(pathKey([...element, '.']));
      collectFields(e, field.of, defs, element, out);
    }
    if (value.length === 0) leaf();
    return;
  }
  if (field?.t === 'list' && Array.isArray(value) && field.set) {
    for (const e of value) out.add(pathKey([...at, `v:${JSON.stringify(e)}`]));
    if (value.length === 0) leaf();
    return;
  }
  leaf();
}

/** The fields of an object of definition `definition` that apply and ownership cover (not status, not identity). */
export function fieldSetOf(obj: Json, defs: Definitions, definition: string): FieldSet {
  const out: FieldSet = new Set();
  if (!isObject(obj)) return out;
  const def = defs[definition];
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    if (k === 'metadata' && isObject(v)) {
      const meta = defs['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'];
      for (const mk of ['labels', 'annotations', 'finalizers', 'ownerReferences'])
        if (v[mk] !== undefined) collectFields(v[mk], meta?.props[mk], defs, ['f:metadata', `f:${mk}`], out);
      continue;
    }
    collectFields(v, def?.props[k], defs, [`f:${k}`], out);
  }
  return out;
}

/** The value at a path (undefined when absent); `.` is the node itself. */
export function valueAt(obj: Json, path: FieldPath): Json {
  let node: Json = obj;
  for (const pe of path) {
    if (pe === '.') continue;
    if (pe.startsWith('f:')) node = isObject(node) ? node[pe.slice(2)] : undefined;
    else if (pe.startsWith('k:')) {
      const want = JSON.parse(pe.slice(2)) as JsonObject;
      node = Array.isArray(node)
        ? node.find(
            (e) =>
              isObject(e) &&
              Object.entries(want).every(([k, v]) => JSON.stringify(e[k] ?? null) === JSON.stringify(v)),
          )
        : undefined;
    } else if (pe.startsWith('v:')) {
      const want = pe.slice(2);
      node = Array.isArray(node) ? node.find((e) => JSON.stringify(e) === want) : undefined;
    } else return undefined;
    if (node === undefined) return undefined;
  }
  return node;
}

/** Removes what a path names from `obj` (in place); a `.` path removes the element or map itself. */
export function removeAt(obj: Json, path: FieldPath): void {
  const target = path.at(-1) === '.' ? path.slice(0, -1) : path;
  const last = target.at(-1);
  if (last === undefined) return;
  const parent = valueAt(obj, target.slice(0, -1));
  if (last.startsWith('f:') && isObject(parent)) delete parent[last.slice(2)];
  else if (Array.isArray(parent)) {
    const item = valueAt(obj, target);
    const at = parent.indexOf(item);
    if (at >= 0) parent.splice(at, 1);
  }
}

/** A set as `fieldsV1` (the nested `{"f:spec":{"f:replicas":{}}}` form). */
export function toFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  for (const key of [...set].sort()) {
    let node = root;
    for (const pe of pathOf(key)) node = (node[pe] ??= {}) as JsonObject;
  }
  return root;
}

/** `fieldsV1` back to a set: every node without children is a leaf. */
export function fromFieldsV1(fields: Json): FieldSet {
  const out: FieldSet = new Set();
  const walk = (node: Json, at: string[]): void => {
    if (!isObject(node)) return;
    const entries = Object.entries(node);
    if (entries.length === 0 && at.length > 0) out.add(pathKey(at));
    for (const [pe, child] of entries) walk(child, [...at, pe]);
  };
  walk(fields, []);
  return out;
}
