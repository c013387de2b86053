/**
 * Why this file: the emulated apiserver's schemas are written once, as small data (schemas-*.ts), in
 * this vocabulary; openapi-v3.ts and openapi-v2.ts render them, strategic-merge.ts reads the patch
 * strategies from them and field-validation.ts the known fields. Pure.
 *
 * The definition names are the real apiserver's (`io.k8s.api.core.v1.Pod`), so clients that look a
 * schema up by name or by `x-kubernetes-group-version-kind` find it; the descriptions are our own.
 */

/** A field's schema. */
export type Field =
  | {
      readonly t: 'string' | 'integer' | 'boolean' | 'number';
      readonly d: string;
      readonly format?: string;
    }
  /** Another definition, by name. */
  | { readonly t: 'ref'; readonly name: string; readonly d: string; readonly retainKeys?: true }
  /** An object of string keys to values of one schema (labels, data, capacity). */
  | { readonly t: 'map'; readonly of: Field; readonly d: string }
  | {
      readonly t: 'list';
      readonly of: Field;
      readonly d: string;
      /** A list merged by key (x-kubernetes-list-type map); the first key is the patch merge key. */
      readonly keys?: readonly string[];
      /** A list of primitives merged as a set. */
      readonly set?: true;
      readonly retainKeys?: true;
    }
  /** Free-form: any JSON object is accepted and kept (x-kubernetes-preserve-unknown-fields). */
  | { readonly t: 'free'; readonly d: string }
  /** int-or-string (targetPort, maxSurge). */
  | { readonly t: 'intOrString'; readonly d: string };

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface Definition {
  readonly d: string;
  readonly props: Readonly<Record<string, Field>>;
  readonly required?: readonly string[];
  /** Set for a kind the apiserver serves. */
  readonly gvk?: GroupVersionKind;
  /** Unknown properties are kept rather than reported (a custom resource's open spec). */
  readonly open?: true;
}

export type Definitions = Readonly<Record<string, Definition>>;

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
export const CORE = 'io.k8s.api.core.v1.';
export const APPS = 'io.k8s.api.apps.v1.';

export const str = (d: string): Field => ({ t: 'string', d });
export const int = (d: string, format = 'int32'): Field => ({ t: 'integer', d, format });
export const bool = (d: string): Field => ({ t: 'boolean', d });
export const time = (d: string): Field => ({ t: 'ref', name: `${META}Time`, d });
export const ref = (name: string, d: string): Field => ({ t: 'ref', name, d });
export const strMap = (d: string): Field => ({ t: 'map', of: str(''), d });
export const quantities = (d: string): Field => ({ t: 'map', of: { t: 'intOrString', d: '' }, d });
export const strList = (d: string): Field => ({ t: 'list', of: str(''), d });
export const free = (d: string): Field => ({ t: 'free', d });
export const listOf = (name: string, d: string, keys?: readonly string[]): Field => ({
  t: 'list',
  of: ref(name, ''),
  d,
  ...(keys ? { keys } : {}),
});

/**
 * Fields the emulator accepts and keeps without looking into them (space-separated names): the
 * schema knows they exist, so field validation does not call them unknown.
 */
export function freeFields(names: string): Record<string, Field> {
  return Object.fromEntries(
    names.split(' ').map((n) => [n, free('Accepted and kept as written; not used by the emulator.')]),
  );
}

/** A list or struct whose patch strategy is retainKeys (one-of fields: volume sources, strategy). */
export const retainingKeys = (f: Field): Field => ({ ...f, retainKeys: true }) as Field;

/** `apiVersion`, `kind` and `metadata`: the head of every kind. */
export function kindHead(): Record<string, Field> {
  return {
    apiVersion: str('The versioned schema of this object: group/version, or v1 for the core group.'),
    kind: str('The kind of this object, in CamelCase.'),
    metadata: ref(`${META}ObjectMeta`, 'Standard object metadata.'),
  };
}

/** A status condition (type, status, reason, message, last transition) of a kind. */
export const condition = (of: string): Definition => ({
  d: `One condition of a ${of}.`,
  props: {
    type: str("The condition's type."),
    status: str('True, False or Unknown.'),
    lastTransitionTime: time('When the status last changed.'),
    reason: str('A short CamelCase reason for the last transition.'),
    message: str('A human-readable message about the last transition.'),
  },
  required: ['type', 'status'],
});

/** A served kind with a spec and a status (Pod, Node, Deployment, the custom resources). */
export function specStatusKind(gvk: GroupVersionKind, d: string, spec: Field, status: Field): Definition {
  return { d, props: { ...kindHead(), spec, status }, gvk };
}

/** The definition a field's schema names, when it names one. */
export function refName(f: Field | undefined): string | undefined {
  return f?.t === 'ref' ? f.name : undefined;
}

/** The patch strategy a list or struct field declares (x-kubernetes-patch-strategy). */
export function patchStrategy(f: Field): string | undefined {
  if (f.t === 'list') {
    const s = [f.keys || f.set ? 'merge' : undefined, f.retainKeys ? 'retainKeys' : undefined].filter(
      Boolean,
    );
    return s.length > 0 ? s.join(',') : undefined;
  }
  return f.t === 'ref' && f.retainKeys ? 'retainKeys' : undefined;
}

/** The definition of a served kind, by group/version/kind. */
export function definitionOf(
  defs: Definitions,
  gvk: GroupVersionKind,
): { name: string; def: Definition } | undefined {
  for (const [name, def] of Object.entries(defs))
    if (
      def.gvk &&
      def.gvk.group === gvk.group &&
      def.gvk.version === gvk.version &&
      def.gvk.kind === gvk.kind
    )
      return { name, def };
  return undefined;
}
