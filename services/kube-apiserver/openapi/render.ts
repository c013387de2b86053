/**
 * Why this file: schema-kit's definitions as OpenAPI schema objects, in the dialect of each document
 * (v3 wraps references in allOf and names components; v2 references definitions directly), with the
 * Kubernetes extensions clients read: list types and keys, patch strategies and merge keys, the
 * group/version/kind of each served kind. Pure.
 */
import { patchStrategy, type Definition, type Definitions, type Field } from './schema-kit.js';

export type Dialect = 'v2' | 'v3';

function refPath(dialect: Dialect, name: string): string {
  return dialect === 'v3' ? `#/components/schemas/${name}` : `#/definitions/${name}`;
}

function withDescription(o: Record<string, unknown>, d: string): Record<string, unknown> {
  return d === '' ? o : { ...o, description: d };
}

export function renderField(f: Field, defs: Definitions, dialect: Dialect): Record<string, unknown> {
  switch (f.t) {
    case 'string':
    case 'integer':
    case 'boolean':
    case 'number':
      return withDescription({ type: f.t, ...(f.format ? { format: f.format } : {}) }, f.d);
    case 'ref': {
      const $ref = refPath(dialect, f.name);
      const isStruct = Object.keys(defs[f.name]?.props ?? {}).length > 0;
      const base = dialect === 'v3' ? { ...(isStruct ? { default: {} } : {}), allOf: [{ $ref }] } : { $ref };
      const strategy = patchStrategy(f);
      return withDescription(strategy ? { ...base, 'x-kubernetes-patch-strategy': strategy } : base, f.d);
    }
    case 'map':
      return withDescription({ type: 'object', additionalProperties: renderField(f.of, defs, dialect) }, f.d);
    case 'list': {
      const out: Record<string, unknown> = { type: 'array', items: renderField(f.of, defs, dialect) };
      if (f.keys) {
        out['x-kubernetes-list-map-keys'] = [...f.keys];
        out['x-kubernetes-list-type'] = 'map';
        out['x-kubernetes-patch-merge-key'] = f.keys[0];
      } else out['x-kubernetes-list-type'] = f.set ? 'set' : 'atomic';
      const strategy = patchStrategy(f);
      if (strategy) out['x-kubernetes-patch-strategy'] = strategy;
      return withDescription(out, f.d);
    }
    case 'free':
      return withDescription({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, f.d);
    case 'intOrString':
      // Swagger 2.0 has no anyOf: the apiserver's v2 documents name the type by its format.
      return withDescription(
        dialect === 'v2'
          ? { type: 'string', format: 'int-or-string' }
          : { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
        f.d,
      );
  }
}

export function renderDefinition(
  def: Definition,
  defs: Definitions,
  dialect: Dialect,
): Record<string, unknown> {
  const props = Object.entries(def.props);
  // A definition without properties is a scalar type (meta/v1 Time).
  if (props.length === 0) return { type: 'string', format: 'date-time', description: def.d };
  return {
    type: 'object',
    description: def.d,
    properties: Object.fromEntries(props.map(([k, f]) => [k, renderField(f, defs, dialect)])),
    ...(def.required ? { required: [...def.required] } : {}),
    ...(def.open ? { 'x-kubernetes-preserve-unknown-fields': true } : {}),
    ...(def.gvk ? { 'x-kubernetes-group-version-kind': [{ ...def.gvk }] } : {}),
  };
}

/** The definitions `roots` need, themselves included (what one document's components carry). */
export function closure(roots: readonly string[], defs: Definitions): string[] {
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name) || !defs[name]) return;
    seen.add(name);
    for (const f of Object.values(defs[name].props)) visitField(f);
  };
  const visitField = (f: Field): void => {
    if (f.t === 'ref') visit(f.name);
    if (f.t === 'map' || f.t === 'list') visitField(f.of);
  };
  for (const r of roots) visit(r);
  return [...seen].sort();
}
