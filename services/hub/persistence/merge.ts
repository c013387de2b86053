/**
 * Rebasing one replica's change onto a record another replica wrote meanwhile (a compare-and-set
 * conflict, or a newer revision seen by the watch while a change is unwritten). Pure, plain JSON.
 *
 * What this replica changed since the revision it read (base → ours) is applied to the newer record
 * (theirs), object field by object field: a change the other replica made to another field survives,
 * so no update is lost. Where both changed the same leaf or array, ours wins: it is the write made
 * later, as if the request had been retried after re-reading.
 */

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Json)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Json)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => jsonEqual((a as Json)[k], (b as Json)[k]));
}

/** The three-way merge described above; `base` undefined: ours was never written. */
export function merge3(base: unknown, ours: unknown, theirs: unknown): unknown {
  if (jsonEqual(ours, base)) return theirs;
  if (jsonEqual(theirs, base) || jsonEqual(ours, theirs)) return ours;
  if (!isObject(ours) || !isObject(theirs)) return ours;
  const b = isObject(base) ? base : {};
  const out: Json = {};
  for (const k of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    const v = merge3(b[k], ours[k], theirs[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * Gives `target` the fields of `source`, in place: the hub's objects hold references to the records
 * they are handling (a request waiting for its write), which must see the merged record.
 */
export function replaceContents(target: object, source: object): void {
  const t = target as Json;
  for (const k of Object.keys(t)) if (!(k in source)) delete t[k];
  Object.assign(t, source);
}
