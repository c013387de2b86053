/**
 * Why this file: server-side field validation (`?fieldValidation=`), which the OpenAPI v3 documents
 * advertise so that kubectl leaves it to the server. A field the kind's schema does not define is
 * refused (Strict, what `kubectl apply` asks for: 400 with the real apiserver's "strict decoding
 * error"), reported in a `Warning` header (Warn, the default) or let through (Ignore). Free-form parts
 * (custom resources' specs, probes, volume sources) accept anything. Pure.
 */
import { KubeStatusError } from '../status.js';
import type { Definitions, Field } from './schema-kit.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export function parseFieldValidation(value: string | null): FieldValidation {
  if (value === null || value === '') return 'Warn';
  if (value === 'Ignore' || value === 'Warn' || value === 'Strict') return value;
  throw KubeStatusError.badRequest(
    `fieldValidation must be one of "Ignore", "Warn" or "Strict", not ${JSON.stringify(value)}`,
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Paths (`spec.template.spec.containers[0].imagee`) of the fields `value` has that `definition` does not define. */
export function unknownFields(value: unknown, defs: Definitions, definition: string): string[] {
  const out: string[] = [];
  const walkDefinition = (v: unknown, name: string, path: string): void => {
    const def = defs[name];
    if (!def || !isObject(v) || def.open || Object.keys(def.props).length === 0) return;
    for (const [k, sub] of Object.entries(v)) {
      const at = path === '' ? k : `${path}.${k}`;
      const f = def.props[k];
      if (!f) out.push(at);
      else walkField(sub, f, at);
    }
  };
  const walkField = (v: unknown, f: Field, path: string): void => {
    if (v === null || v === undefined) return;
    if (f.t === 'ref') walkDefinition(v, f.name, path);
    else if (f.t === 'map' && isObject(v))
      for (const [k, sub] of Object.entries(v)) walkField(sub, f.of, `${path}.${k}`);
    else if (f.t === 'list' && Array.isArray(v)) v.forEach((sub, i) => walkField(sub, f.of, `${path}[${i}]`));
  };
  walkDefinition(value, definition, '');
  return out;
}

/**
 * Applies the directive to what `unknownFields` found: throws for Strict, returns the warnings for Warn.
 * `kind`/`version` word the error as the real apiserver does.
 */
export function checkFields(
  directive: FieldValidation,
  unknown: readonly string[],
  what: { kind: string; version: string },
): string[] {
  if (directive === 'Ignore' || unknown.length === 0) return [];
  const messages = unknown.map((p) => `unknown field "${p}"`);
  if (directive === 'Strict')
    throw KubeStatusError.badRequest(
      `${what.kind} in version "${what.version}" cannot be handled as a ${what.kind}: strict decoding error: ${messages.join(', ')}`,
    );
  return messages;
}
