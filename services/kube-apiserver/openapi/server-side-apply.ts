/**
 * Why this file: server-side apply and field ownership (`metadata.managedFields`), as the apiserver
 * keeps them. An apply (`PATCH` with `application/apply-patch+yaml` and a `fieldManager`) merges the
 * applied configuration into the live object, fails with 409 Conflict naming each field another
 * manager owns with a different value (unless `force=true`, which takes them), and removes the fields
 * the manager applied last time and no longer does, when nobody else owns them. Every other write
 * makes its manager (`fieldManager`, else the user agent's product) the owner of the fields it changed.
 * Pure.
 */
import type { KubeObject } from '../../../agent-runtime/kube-client.js';
import { KubeStatusError, type StatusCause } from '../status.js';
import {
  fieldSetOf,
  fromFieldsV1,
  pathKey,
  pathOf,
  removeAt,
  toFieldsV1,
  valueAt,
  type FieldSet,
} from './field-sets.js';
import type { Definitions, Field } from './schema-kit.js';

type Json = unknown;
type JsonObject = Record<string, Json>;

function isObject(v: Json): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Owner {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  set: FieldSet;
}

/** What a write needs to know about its schema and its writer. */
export interface OwnershipContext {
  readonly defs: Definitions;
  /** The kind's definition name. */
  readonly definition: string;
  readonly apiVersion: string;
  readonly manager: string;
  /** `metadata.managedFields[].time` (RFC 3339). */
  readonly now: string;
}

function ownersOf(obj: Json): Owner[] {
  const entries = isObject(obj) && isObject(obj['metadata']) ? obj['metadata']['managedFields'] : undefined;
  if (!Array.isArray(entries)) return [];
  const out: Owner[] = [];
  for (const e of entries) {
    if (!isObject(e) || typeof e['manager'] !== 'string') continue;
    out.push({
      manager: e['manager'],
      operation: e['operation'] === 'Apply' ? 'Apply' : 'Update',
      apiVersion: typeof e['apiVersion'] === 'string' ? e['apiVersion'] : '',
      time: typeof e['time'] === 'string' ? e['time'] : '',
      set: fromFieldsV1(e['fieldsV1']),
    });
  }
  return out;
}

function managedFields(owners: readonly Owner[]): JsonObject[] {
  return owners
    .filter((o) => o.set.size > 0)
    .map((o) => ({
      manager: o.manager,
      operation: o.operation,
      apiVersion: o.apiVersion,
      time: o.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(o.set),
    }));
}

function same(a: Json, b: Json): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** `.spec.template.spec.containers[name="web"].image`, as the apiserver names a conflicting field. */
export function describePath(key: string): string {
  return pathOf(key)
    .filter((pe) => pe !== '.')
    .map((pe) => {
      if (pe.startsWith('f:')) return `.${pe.slice(2)}`;
      if (pe.startsWith('k:'))
        return `[${Object.entries(JSON.parse(pe.slice(2)) as JsonObject)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      return `[=${pe.slice(2)}]`;
    })
    .join('');
}

function subField(defs: Definitions, f: Field | undefined, key: string): Field | undefined {
  if (f?.t === 'ref') return defs[f.name]?.props[key];
  if (f?.t === 'map') return f.of;
  return undefined;
}

/** The applied configuration merged into the live value: maps and structs by key, keyed lists by key, sets unioned. */
function mergeApplied(live: Json, applied: Json, f: Field | undefined, defs: Definitions): Json {
  const structured = f?.t === 'map' || (f?.t === 'ref' && Object.keys(defs[f.name]?.props ?? {}).length > 0);
  if (isObject(applied) && structured) {
    const out: JsonObject = isObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied))
      out[k] = mergeApplied(out[k], v, subField(defs, f, k), defs);
    return out;
  }
  if (Array.isArray(applied) && f?.t === 'list' && f.keys && Array.isArray(live)) {
    const keys = f.keys;
    const out = [...live];
    for (const e of applied) {
      const at = isObject(e) ? out.findIndex((x) => isObject(x) && keys.every((k) => same(x[k], e[k]))) : -1;
      if (at >= 0) out[at] = mergeApplied(out[at], e, f.of, defs);
      else out.push(e);
    }
    return out;
  }
  if (Array.isArray(applied) && f?.t === 'list' && f.set && Array.isArray(live))
    return [...live, ...applied.filter((e) => !live.some((x) => same(x, e)))];
  return structuredClone(applied);
}

function conflictError(
  r: { plural: string; group: string },
  name: string,
  conflicts: { manager: string; path: string }[],
  apiVersion: string,
): KubeStatusError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with "${c.manager}" using ${apiVersion}`,
    field: describePath(c.path),
  }));
  const n = conflicts.length;
  const list = causes.map((c) => `- ${c.message}: ${c.field ?? ''}`).join('\n');
  return new KubeStatusError(
    'Conflict',
    `Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${n === 1 ? `${causes[0]?.message}: ${causes[0]?.field}` : `\n${list}`}`,
    {
      name,
      group: r.group,
      kind: r.plural,
      causes,
    },
  );
}

/**
 * Server-side apply of `applied` onto `live` (undefined: the apply creates the object). Returns the
 * object to store, managedFields included; throws 409 on conflicts unless `force`.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  applied: JsonObject,
  ctx: OwnershipContext & { readonly force: boolean; readonly resource: { plural: string; group: string } },
): KubeObject {
  const { defs, definition, manager } = ctx;
  const { status: _ignored, ...config } = applied;
  const mine = fieldSetOf(config, defs, definition);
  const owners = ownersOf(live);
  const isMe = (o: Owner): boolean => o.manager === manager && o.operation === 'Apply';
  const conflicts: { manager: string; path: string }[] = [];
  for (const o of owners) {
    if (isMe(o)) continue;
    for (const p of mine)
      if (
        o.set.has(p) &&
        pathOf(p).at(-1) !== '.' &&
        !same(valueAt(live, pathOf(p)), valueAt(config, pathOf(p)))
      )
        conflicts.push({ manager: o.manager, path: p });
  }
  const name = isObject(config['metadata']) ? String(config['metadata']['name'] ?? '') : '';
  if (conflicts.length > 0 && !ctx.force) throw conflictError(ctx.resource, name, conflicts, ctx.apiVersion);
  for (const c of conflicts)
    owners.find((o) => o.manager === c.manager && o.set.has(c.path))?.set.delete(c.path);

  const kind: Field = { t: 'ref', name: definition, d: '' };
  const { managedFields: _m, ...liveMeta } = (live?.metadata ?? {}) as JsonObject;
  const base = live ? { ...live, metadata: liveMeta } : {};
  const merged = mergeApplied(base, config, kind, defs) as KubeObject;

  // What this manager applied before and no longer does goes, unless someone else owns it.
  const previous = owners.find(isMe)?.set ?? new Set<string>();
  const kept = new Set<string>(mine);
  for (const o of owners) if (!isMe(o)) for (const p of o.set) kept.add(p);
  const owned = (prefix: string): boolean => {
    const head = prefix.slice(0, -1);
    for (const p of kept) if (p.startsWith(head)) return true;
    return false;
  };
  // Whole elements and maps first (outer before inner), then single fields; a list element's key
  // fields stay while the element does (they are its identity).
  const dropped = [...previous].filter((p) => !kept.has(p));
  const containers = dropped.filter((p) => pathOf(p).at(-1) === '.').sort((a, b) => a.length - b.length);
  for (const p of containers) {
    const path = pathOf(p);
    if (!owned(pathKey(path.slice(0, -1)))) removeAt(merged, path);
  }
  const fields = dropped.filter((p) => pathOf(p).at(-1) !== '.').sort((a, b) => b.length - a.length);
  for (const p of fields) {
    const path = pathOf(p);
    const parent = path.at(-2);
    const field = path.at(-1)?.slice(2) ?? '';
    if (parent?.startsWith('k:') && field in (JSON.parse(parent.slice(2)) as JsonObject)) continue;
    removeAt(merged, path);
  }

  const next = owners.filter((o) => !isMe(o));
  next.push({ manager, operation: 'Apply', apiVersion: ctx.apiVersion, time: ctx.now, set: mine });
  merged.metadata['managedFields'] = managedFields(next);
  return merged;
}

/**
 * The managedFields of a non-apply write from `before` (undefined: a create) to `after`: the writer owns
 * what it changed, the others lose it. A write that sets managedFields itself (kubectl's migration of
 * client-side apply to server-side apply does) is taken as written.
 */
export function recordUpdate(
  before: KubeObject | undefined,
  after: KubeObject,
  ctx: OwnershipContext,
): Json[] {
  const sent = after.metadata['managedFields'];
  if (Array.isArray(sent) && !same(sent, before?.metadata['managedFields'])) {
    const taken = ownersOf(after);
    return managedFields(taken);
  }
  const { defs, definition } = ctx;
  const was = before ? fieldSetOf(before, defs, definition) : new Set<string>();
  const now = fieldSetOf(after, defs, definition);
  const changed = [...now].filter(
    (p) => !was.has(p) || !same(valueAt(before, pathOf(p)), valueAt(after, pathOf(p))),
  );
  const removed = [...was].filter((p) => !now.has(p));
  const owners = ownersOf(before);
  for (const o of owners) for (const p of [...changed, ...removed]) o.set.delete(p);
  if (changed.length > 0) {
    let me = owners.find((o) => o.manager === ctx.manager && o.operation === 'Update');
    if (!me)
      owners.push(
        (me = {
          manager: ctx.manager,
          operation: 'Update',
          apiVersion: ctx.apiVersion,
          time: ctx.now,
          set: new Set(),
        }),
      );
    for (const p of changed) me.set.add(p);
    me.time = ctx.now;
  }
  return managedFields(owners);
}
