/**
 * Why this file: applying a strategic merge patch (what `kubectl apply`, `edit` and `patch` send for
 * built-in kinds) the way the apiserver does, with the patch strategies of the schemas: lists with a
 * merge key are merged element by element, sets are unioned, other lists replaced; and the patch's
 * directives are obeyed rather than stored: `$patch` (replace, delete, merge), `$retainKeys`,
 * `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`. Pure.
 */
import { KubeStatusError } from '../status.js';
import type { Definitions, Field } from './schema-kit.js';

type Json = unknown;
type JsonObject = Record<string, Json>;

const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVES = '$deleteFromPrimitiveList/';

function isObject(v: Json): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What is known about a value's schema while walking: the struct's fields, or a list's strategy. */
class Schema {
  constructor(
    private readonly defs: Definitions,
    private readonly field: Field | undefined,
  ) {}

  static ofDefinition(defs: Definitions, name: string): Schema {
    return new Schema(defs, { t: 'ref', name, d: '' });
  }

  /** The schema of property `key` of an object. */
  property(key: string): Schema {
    const f = this.field;
    if (f?.t === 'ref') return new Schema(this.defs, this.defs[f.name]?.props[key]);
    if (f?.t === 'map') return new Schema(this.defs, f.of);
    return new Schema(this.defs, undefined);
  }

  /** The schema of a list's elements. */
  element(): Schema {
    return new Schema(this.defs, this.field?.t === 'list' ? this.field.of : undefined);
  }

  /** The patch merge key when the list merges by key. */
  get mergeKey(): string | undefined {
    return this.field?.t === 'list' ? this.field.keys?.[0] : undefined;
  }

  get mergesAsSet(): boolean {
    return this.field?.t === 'list' && this.field.set === true;
  }
}

function bad(message: string): KubeStatusError {
  return KubeStatusError.badRequest(`strategic merge patch: ${message}`);
}

/** A patch value for a key absent from the original: itself, with its directives resolved. */
function fresh(patch: Json, schema: Schema): Json {
  if (isObject(patch)) return mergeObject({}, patch, schema);
  if (Array.isArray(patch)) return mergeList([], patch, schema);
  return patch;
}

function mergeObject(original: JsonObject, patch: JsonObject, schema: Schema): Json {
  const directive = patch['$patch'];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const { $patch: _p, ...rest } = patch;
    return fresh(rest, schema);
  }
  if (directive !== undefined && directive !== 'merge')
    throw bad(`unknown $patch directive ${JSON.stringify(directive)}`);
  const out: JsonObject = { ...original };
  const orders = new Map<string, Json[]>();
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys') continue;
    if (key.startsWith(SET_ORDER)) {
      if (!Array.isArray(value)) throw bad(`${key} must be a list`);
      orders.set(key.slice(SET_ORDER.length), value);
      continue;
    }
    if (key.startsWith(DELETE_PRIMITIVES)) {
      const listKey = key.slice(DELETE_PRIMITIVES.length);
      if (!Array.isArray(value)) throw bad(`${key} must be a list`);
      const current = out[listKey];
      if (Array.isArray(current)) out[listKey] = current.filter((x) => !value.some((v) => deepEqual(v, x)));
      continue;
    }
    const sub = schema.property(key);
    if (value === null) delete out[key];
    else if (!(key in out) || out[key] === null) {
      const added = fresh(value, sub);
      if (added === undefined) delete out[key];
      else out[key] = added;
    } else if (isObject(value) && isObject(out[key])) {
      const merged = mergeObject(out[key] as JsonObject, value, sub);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value) && Array.isArray(out[key]))
      out[key] = mergeList(out[key] as Json[], value, sub);
    else out[key] = fresh(value, sub);
  }
  for (const [listKey, order] of orders) {
    const list = out[listKey];
    if (Array.isArray(list)) out[listKey] = reorder(list, order, schema.property(listKey).mergeKey);
  }
  const retain = patch['$retainKeys'];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw bad('$retainKeys must be a list of keys');
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}

function mergeList(original: Json[], patch: Json[], schema: Schema): Json[] {
  const key = schema.mergeKey;
  // `{$patch: replace}` as an element: the rest of the patch replaces the list.
  if (patch.some((e) => isObject(e) && e['$patch'] === 'replace' && Object.keys(e).length === 1))
    return patch
      .filter((e) => !(isObject(e) && e['$patch'] === 'replace'))
      .map((e) => fresh(e, schema.element()));
  if (key === undefined) {
    if (!schema.mergesAsSet) return patch.map((e) => fresh(e, schema.element()));
    const out = [...original];
    for (const e of patch) if (!out.some((x) => deepEqual(x, e))) out.push(e);
    return out;
  }
  const out = [...original];
  for (const e of patch) {
    if (!isObject(e)) throw bad(`the list merged by "${key}" has an element that is not an object`);
    const at = out.findIndex((x) => isObject(x) && deepEqual(x[key], e[key]));
    if (e['$patch'] === 'delete') {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) {
      const merged = mergeObject(out[at] as JsonObject, e, schema.element());
      if (merged === undefined) out.splice(at, 1);
      else out[at] = merged;
    } else {
      const added = fresh(e, schema.element());
      if (added !== undefined) out.push(added);
    }
  }
  return out;
}

/** `$setElementOrder`: the listed elements in that order, then those the server alone had. */
function reorder(list: Json[], order: Json[], key: string | undefined): Json[] {
  const idOf = (e: Json): Json => (key !== undefined && isObject(e) ? e[key] : e);
  const ordered: Json[] = [];
  for (const o of order) {
    const want = idOf(o);
    const found = list.find((e) => deepEqual(idOf(e), want));
    if (found !== undefined && !ordered.includes(found)) ordered.push(found);
  }
  return [...ordered, ...list.filter((e) => !ordered.includes(e))];
}

function deepEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Applies `patch` to `original`, an object of the definition `definition` (`io.k8s.api.apps.v1.Deployment`). */
export function strategicMergePatch(
  original: Json,
  patch: Json,
  defs: Definitions,
  definition: string,
): Json {
  if (!isObject(patch)) throw bad('the body must be a JSON object');
  const merged = mergeObject(
    isObject(original) ? original : {},
    patch,
    Schema.ofDefinition(defs, definition),
  );
  if (merged === undefined) throw bad('$patch: delete of the whole object is not a patch');
  return merged;
}
