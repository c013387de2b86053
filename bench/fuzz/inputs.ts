/**
 * What the fuzzer throws (fast-check arbitraries): bodies that are almost right (a valid template with
 * one field replaced by junk, removed, or a stray field added), JSON of any shape, text that is not
 * JSON, raw bytes; URL paths that follow a boundary's skeleton with any segment swapped for junk
 * (bad escapes, `..`, wildcards, non-ASCII, over-long names). Almost-right input reaches the deep
 * validators; pure noise checks the outer ones. Pure: no I/O.
 */
import fc from 'fast-check';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = readonly (string | number)[];

/** Values no field expects: wrong types, empty, huge, odd numbers, nested junk. */
export const junkValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom<Json>('', ' ', null, true, 0, -1, 1e308, 2 ** 53 + 1, '☃', '\u0000', '..', '*', '>'),
  fc.integer({ min: 200, max: 20_000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.constant('a'), { maxLength: 200 }),
);

function leafPaths(v: Json, prefix: Path = []): Path[] {
  if (v === null || typeof v !== 'object') return [prefix];
  const entries: Array<[string | number, Json]> = Array.isArray(v)
    ? v.map((x, i) => [i, x])
    : Object.entries(v);
  return [prefix, ...entries.flatMap(([k, x]) => leafPaths(x, [...prefix, k]))];
}

function edit(
  template: Json,
  path: Path,
  change: (parent: Record<string | number, Json>, key: string | number) => void,
): Json {
  const copy = structuredClone(template);
  if (path.length === 0) return copy;
  let node = copy as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, Json>;
  change(node, path.at(-1)!);
  return copy;
}

/** `template` itself, or with one field (at any depth) replaced by junk, removed, or one field added. */
export function mutated(template: Json): fc.Arbitrary<Json> {
  const paths = leafPaths(template);
  const inner = paths.filter((p) => p.length > 0);
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(template) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...paths), junkValue)
        .map(([p, junk]) => (p.length === 0 ? junk : edit(template, p, (o, k) => void (o[k] = junk)))),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...(inner.length > 0 ? inner : [[]]))
        .map((p) =>
          edit(template, p, (o, k) => (Array.isArray(o) ? void o.splice(Number(k), 1) : void delete o[k])),
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.string({ maxLength: 12 }), junkValue)
        .map(([k, junk]) =>
          template !== null && typeof template === 'object' && !Array.isArray(template)
            ? { ...template, [k]: junk }
            : junk,
        ),
    },
  );
}

/** A request or message body: almost-right JSON mostly, then any JSON, non-JSON text, raw bytes. */
export function body(templates: readonly Json[]): fc.Arbitrary<Uint8Array> {
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...templates)
        .chain(mutated)
        .map((v) => text(JSON.stringify(v))),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => text(JSON.stringify(v) ?? 'null')) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(...templates), fc.nat()).map(([t, n]) => {
        const s = JSON.stringify(t);
        return text(s.slice(0, n % Math.max(s.length, 1)));
      }),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map(text) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constant(new Uint8Array()) },
  );
}

/** A path segment no route expects. */
export const junkSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('..', '.', '%', '%zz', '%00', '%2F', '%2e%2e', '%C0%AF', '*', '>', 'rg.*>', '☃', ' ', ''),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  fc.integer({ min: 64, max: 400 }).map((n) => 'n'.repeat(n)),
  fc.webSegment(),
);

/**
 * A path along `skeleton` (each slot a fixed value or a choice), any slot possibly junk, cut at any
 * length (the whole path half the time or more). Characters Node's client refuses in a request line are percent-encoded; the rest go raw, so
 * `%zz`, `..` and `//` reach the server as written.
 */
export function pathAlong(skeleton: ReadonlyArray<string | readonly string[]>): fc.Arbitrary<string> {
  // Junk rarely enough that about half the paths are whole and reach the deep validators.
  const slots = skeleton.map((s) =>
    fc.oneof(
      {
        weight: 4 * skeleton.length,
        arbitrary: typeof s === 'string' ? fc.constant(s) : fc.constantFrom(...s),
      },
      { weight: 3, arbitrary: junkSegment },
    ),
  );
  return fc
    .tuple(
      fc.tuple(...slots),
      fc.oneof(
        { weight: 2, arbitrary: fc.constant(skeleton.length) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: skeleton.length }) },
      ),
    )
    .map(([segments, cut]) => `/${segments.slice(0, Math.max(cut, 1)).join('/')}`)
    .map(rawPath);
}

/** Encodes what http.request refuses (outside U+0021–U+00FF) and leaves the rest as it is. */
export function rawPath(path: string): string {
  return path.replace(/[^\u0021-\u00ff]/gu, (c) => encodeURIComponent(c));
}

/**
 * A query string: each of `required` mostly with a good value (now and then junk or missing), then
 * optional keys with good or junk values, or junk keys.
 */
export function query(
  known: Readonly<Record<string, readonly string[]>>,
  required: readonly string[] = [],
): fc.Arbitrary<string> {
  const good = (k: string): fc.Arbitrary<string> => fc.constantFrom(...(known[k] ?? ['']));
  const must = required.map((k) =>
    fc.oneof(
      { weight: 8, arbitrary: good(k).map((v) => [`${k}=${v}`]) },
      { weight: 1, arbitrary: junkSegment.map((v) => [`${k}=${v}`]) },
      { weight: 1, arbitrary: fc.constant([]) },
    ),
  );
  const optional = Object.keys(known).filter((k) => !required.includes(k));
  const pair = fc.oneof(
    ...(optional.length
      ? [fc.constantFrom(...optional).chain((k) => fc.oneof(good(k), junkSegment).map((v) => `${k}=${v}`))]
      : []),
    fc.tuple(junkSegment, junkSegment).map(([k, v]) => `${k}=${v}`),
  );
  return fc
    .tuple(fc.tuple(...must), fc.array(pair, { maxLength: 2 }))
    .map(([m, extra]) => [...m.flat(), ...extra])
    .map((pairs) => (pairs.length ? `?${rawPath(pairs.join('&'))}` : ''));
}

export const METHODS = ['GET', 'PUT', 'PATCH', 'POST', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** Mostly the real methods; now and then one no server knows. */
export const method: fc.Arbitrary<string> = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...METHODS) },
  { weight: 1, arbitrary: fc.constantFrom('TRACE', 'PROPFIND', 'FOO', 'CONNECTX') },
);

/** Content types a client might send, right and wrong. */
export function contentType(right: readonly string[]): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...right) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        undefined,
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        '*/*',
        'application/',
      ),
    },
  );
}
