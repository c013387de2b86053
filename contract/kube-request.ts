/**
 * What a request to the Kubernetes API asks for, as the apiserver's RequestInfo works it out from the
 * method and the path (`/api/v1/namespaces/<ns>/<resource>/<name>/<subresource>`, `/apis/<group>/<version>/…`),
 * and the SubjectAccessReview an authorizer webhook (guard) is asked with. Pure.
 */
import { z } from 'zod';
import type { KubeRequestAttributes } from './azure-rbac.js';

export type KubeRequestInfo =
  | ({ readonly kind: 'resource' } & KubeRequestAttributes)
  | { readonly kind: 'non-resource'; readonly path: string; readonly verb: string };

const METHOD_VERBS: Readonly<Record<string, string>> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** The request's attributes; a path outside /api and /apis (discovery, /version, /openapi) is non-resource. */
export function kubeRequestInfo(method: string, pathAndQuery: string): KubeRequestInfo {
  const [rawPath = '/', query = ''] = pathAndQuery.split('?', 2);
  const parts = rawPath
    .split('/')
    .filter((p) => p !== '')
    .map(safeDecode);
  const lower = method.toUpperCase();
  const nonResource = (): KubeRequestInfo => ({
    kind: 'non-resource',
    path: rawPath,
    verb: lower === 'GET' || lower === 'HEAD' ? 'get' : (METHOD_VERBS[lower] ?? lower.toLowerCase()),
  });
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else return nonResource();
  let namespace: string | undefined;
  // `namespaces/<ns>/<resource>…` is namespaced; `namespaces/<ns>` alone is the Namespace object itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  if (resource === undefined) return nonResource();
  const watch = new URLSearchParams(query).get('watch');
  const verb =
    lower === 'GET' || lower === 'HEAD'
      ? name === undefined
        ? watch === 'true' || watch === '1'
          ? 'watch'
          : 'list'
        : 'get'
      : lower === 'DELETE' && name === undefined
        ? 'deletecollection'
        : (METHOD_VERBS[lower] ?? lower.toLowerCase());
  // The Namespace object is "in" itself, as the apiserver's RequestInfo has it.
  if (resource === 'namespaces' && group === '' && name !== undefined) namespace = name;
  return {
    kind: 'resource',
    verb,
    group,
    resource,
    ...(subresource === undefined ? {} : { subresource }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The apiserver's words for a request its authorizer denied (`kubectl` prints them). */
export function forbiddenMessage(user: string, a: KubeRequestAttributes, reason: string): string {
  const what = a.subresource === undefined ? a.resource : `${a.resource}/${a.subresource}`;
  const object = a.name === undefined ? what : `${what} "${a.name}"`;
  const where = a.namespace === undefined ? 'at the cluster scope' : `in the namespace "${a.namespace}"`;
  return `${object} is forbidden: User "${user}" cannot ${a.verb} resource "${what}" in API group "${a.group}" ${where}: ${reason}`;
}

const name = z.string().max(253);

/** `authorization.k8s.io/v1` SubjectAccessReview, as an authorizer webhook receives it. */
export const subjectAccessReviewSchema = z.object({
  apiVersion: z.literal('authorization.k8s.io/v1'),
  kind: z.literal('SubjectAccessReview'),
  spec: z.object({
    user: z.string().min(1).max(256),
    groups: z.array(z.string().max(256)).max(200).default([]),
    uid: z.string().max(256).optional(),
    extra: z.record(z.string().max(256), z.array(z.string().max(1024)).max(50)).optional(),
    resourceAttributes: z
      .object({
        namespace: name.optional(),
        verb: z.string().min(1).max(64),
        group: name.default(''),
        version: name.optional(),
        resource: name,
        subresource: name.optional(),
        name: name.optional(),
      })
      .optional(),
    nonResourceAttributes: z.object({ path: z.string().max(4096), verb: z.string().max(64) }).optional(),
  }),
});
export type SubjectAccessReview = z.infer<typeof subjectAccessReviewSchema>;

/** The `extra` key kube-aad-proxy puts the user's object id under (Entra's `oid` claim). */
export const OBJECT_ID_EXTRA = 'oid';
