/**
 * Kubernetes URL paths (below `/clusters/<name>`) → what they address. Pure.
 */
import { resourceForPlural, type KubeResource } from '../../contract/index.js';

export type Route =
  | { readonly kind: 'version' }
  | { readonly kind: 'health' }
  | { readonly kind: 'apiVersions' }
  | { readonly kind: 'groupList' }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'resourceList'; readonly group: string; readonly version: string }
  | { readonly kind: 'openapiV2' }
  /** `path` is '' for the v3 index, else `api/v1` or `apis/<group>/<version>`. */
  | { readonly kind: 'openapiV3'; readonly path: string }
  | {
      readonly kind: 'resource';
      readonly resource: KubeResource;
      readonly namespace?: string;
      readonly name?: string;
      readonly subresource?: string;
    }
  | { readonly kind: 'notFound' };

const NOT_FOUND: Route = { kind: 'notFound' };

export function parseRoute(segments: readonly string[]): Route {
  const [head, ...rest] = segments;
  if (segments.length === 1 && head === 'version') return { kind: 'version' };
  if (segments.length === 1 && (head === 'healthz' || head === 'readyz' || head === 'livez'))
    return { kind: 'health' };
  if (head === 'openapi') {
    if (rest.length === 1 && rest[0] === 'v2') return { kind: 'openapiV2' };
    if (rest[0] === 'v3') return { kind: 'openapiV3', path: rest.slice(1).join('/') };
    return NOT_FOUND;
  }
  if (head === 'api') {
    if (rest.length === 0) return { kind: 'apiVersions' };
    if (rest[0] !== 'v1') return NOT_FOUND;
    if (rest.length === 1) return { kind: 'resourceList', group: '', version: 'v1' };
    return resourcePath('', 'v1', rest.slice(1));
  }
  if (head === 'apis') {
    const [group, version] = rest;
    if (group === undefined) return { kind: 'groupList' };
    if (version === undefined) return { kind: 'group', group };
    if (rest.length === 2) return { kind: 'resourceList', group, version };
    return resourcePath(group, version, rest.slice(2));
  }
  return NOT_FOUND;
}

function resourcePath(group: string, version: string, segs: readonly string[]): Route {
  // namespaces/<ns>/<plural>[/<name>[/<sub>]] is a namespaced path; namespaces[/<name>] the namespace itself.
  if (segs[0] === 'namespaces' && segs.length >= 3) {
    const [, namespace, plural, name, sub, ...extra] = segs;
    const r = resourceForPlural(group, version, plural as string);
    if (!r?.namespaced || extra.length > 0) return NOT_FOUND;
    return {
      kind: 'resource',
      resource: r,
      namespace: namespace as string,
      ...(name ? { name } : {}),
      ...(sub ? { subresource: sub } : {}),
    };
  }
  const [plural, name, sub, ...extra] = segs;
  const r = resourceForPlural(group, version, plural as string);
  if (!r || extra.length > 0) return NOT_FOUND;
  // A namespaced kind by name needs its namespace (`pods/<name>` alone is not a path).
  if (r.namespaced && name !== undefined) return NOT_FOUND;
  return { kind: 'resource', resource: r, ...(name ? { name } : {}), ...(sub ? { subresource: sub } : {}) };
}
