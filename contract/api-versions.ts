/**
 * The published api-versions of the two providers the hub serves, and the shape of each resource type
 * in each version: its top-level fields, its `properties`, and one level below for object properties.
 * The data (api-versions.json) is taken from the public REST specs (Azure/azure-rest-api-specs,
 * specification/hybridkubernetes and specification/kubernetesconfiguration); docs/api-versions.md says
 * what differs. A request is answered in its version's shape: a property the version does not define is
 * not returned by it, and is ignored when written with it. Pure: no I/O.
 */
import data from './api-versions.json' with { type: 'json' };

export type ProviderNamespace = 'Microsoft.Kubernetes' | 'Microsoft.KubernetesConfiguration';

/** One version of one resource type, as the data file records it. */
export interface VersionShapeData {
  readonly status: 'GA' | 'preview';
  readonly resource: readonly string[];
  readonly properties: readonly string[];
  readonly readOnly: readonly string[];
  readonly nested: Readonly<Record<string, readonly string[]>>;
}

/** An entry of a provider's operations list, as ARM answers `GET /providers/<ns>/operations`. */
export interface ProviderOperation {
  readonly name: string;
  readonly display?: {
    readonly provider?: string;
    readonly resource?: string;
    readonly operation?: string;
    readonly description?: string;
  };
  readonly isDataAction?: boolean;
  readonly origin?: string;
}

export interface ApiVersionData {
  readonly source: string;
  readonly providers: Readonly<
    Record<
      ProviderNamespace,
      {
        readonly types: Readonly<Record<string, Readonly<Record<string, VersionShapeData>>>>;
        /** Per type, the properties that are maps (`additionalProperties`): `nested` applies to each value. */
        readonly dictionaries?: Readonly<Record<string, readonly string[]>>;
        /** Per type, `{ older name: newer name }` of a property renamed between versions. */
        readonly renames?: Readonly<Record<string, Readonly<Record<string, string>>>>;
        readonly operations: readonly ProviderOperation[];
      }
    >
  >;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keeps the keys of `value` named in `keys` (each element, for an array of objects). */
function pick(value: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => pick(v, keys));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) if (keys.has(k)) out[k] = v;
  return out;
}

/** A resource type in one api-version: what it returns and what it takes. */
export class ResourceShape {
  private readonly resource: ReadonlySet<string>;
  private readonly properties: ReadonlySet<string>;
  private readonly nested: ReadonlyMap<string, ReadonlySet<string>>;

  constructor(
    readonly apiVersion: string,
    readonly shape: VersionShapeData,
    /** Top-level fields and properties any version of the type defines, and its map properties. */
    private readonly known: {
      readonly resource: ReadonlySet<string>;
      readonly properties: ReadonlySet<string>;
      readonly dictionaries: ReadonlySet<string>;
      readonly renames: ReadonlyMap<string, string>;
    },
  ) {
    this.resource = new Set(shape.resource);
    this.properties = new Set(shape.properties);
    this.nested = new Map(Object.entries(shape.nested).map(([k, v]) => [k, new Set(v)]));
  }

  /** Whether the version defines `properties.<name>`. */
  defines(name: string): boolean {
    return this.properties.has(name);
  }

  /** The resource as this version returns it: fields and properties it does not define are left out. */
  project<T>(resource: T): T {
    if (!isObject(resource)) return resource;
    const out: Json = {};
    for (const [k, v] of Object.entries(resource)) {
      if (!this.resource.has(k)) continue;
      out[k] = k === 'properties' && isObject(v) ? this.projectProperties(v) : v;
    }
    return out as T;
  }

  /**
   * A request body as this version takes it: a field or property that another version defines and this
   * one does not is ignored, as the provider's model for this version has no place for it. Anything no
   * version defines is left for the body's validation to name.
   */
  accept(body: unknown): unknown {
    if (!isObject(body)) return body;
    const out: Json = {};
    for (const [k, v] of Object.entries(body)) {
      if (this.known.resource.has(k) && !this.resource.has(k)) continue;
      if (k !== 'properties' || !isObject(v)) {
        out[k] = v;
        continue;
      }
      const props: Json = {};
      for (const [p, pv] of Object.entries(v))
        if (this.properties.has(p) || !this.known.properties.has(p)) props[p] = pv;
      out[k] = props;
    }
    return out;
  }

  private projectProperties(props: Json): Json {
    const out: Json = {};
    for (const [k, v] of Object.entries(props)) {
      if (!this.properties.has(k)) continue;
      const keys = this.nested.get(k);
      if (!keys) out[k] = v;
      else if (this.known.dictionaries.has(k) && isObject(v))
        out[k] = Object.fromEntries(Object.entries(v).map(([name, item]) => [name, pick(item, keys)]));
      else out[k] = pick(v, keys);
    }
    // A version that knows a property by its older name gets it under that name.
    for (const [older, newer] of this.known.renames)
      if (this.properties.has(older) && !this.properties.has(newer) && props[newer] !== undefined)
        out[older] = props[newer];
    return out;
  }
}

const DATA = data as unknown as ApiVersionData;
const shapes = new Map<string, ResourceShape | undefined>();

/** The api-versions of a resource type, newest first (the order ARM lists them in its errors). */
export function apiVersionsOf(provider: ProviderNamespace, type: string): readonly string[] {
  return Object.keys(DATA.providers[provider].types[type] ?? {}).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** The shape of a resource type in an api-version; undefined when the type has no such version. */
export function shapeOf(
  provider: ProviderNamespace,
  type: string,
  apiVersion: string,
): ResourceShape | undefined {
  const id = `${provider}/${type}@${apiVersion}`;
  if (!shapes.has(id)) {
    const versions = DATA.providers[provider].types[type] ?? {};
    const shape = versions[apiVersion];
    const all = Object.values(versions);
    const known = {
      resource: new Set(all.flatMap((v) => v.resource)),
      properties: new Set(all.flatMap((v) => v.properties)),
      dictionaries: new Set(DATA.providers[provider].dictionaries?.[type] ?? []),
      renames: new Map(Object.entries(DATA.providers[provider].renames?.[type] ?? {})),
    };
    shapes.set(id, shape ? new ResourceShape(apiVersion, shape, known) : undefined);
  }
  return shapes.get(id);
}

/** A provider's operations list (GET /providers/<namespace>/operations). */
export function operationsOf(provider: ProviderNamespace): readonly ProviderOperation[] {
  return DATA.providers[provider].operations;
}
