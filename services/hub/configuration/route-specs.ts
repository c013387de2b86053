/**
 * What the configuration routes (routes.ts, source-control-routes.ts) share: each resource kind's path,
 * api-versions, per-version shape and name rule, and the request's checked version and name.
 */
import type { FastifyRequest } from 'fastify';
import { apiVersionsOf, type ResourceShape } from '../../../contract/api-versions.js';
import { apiVersionOf, shapeFor } from '../arm/request.js';
import { PARENT_CLUSTER_PATH, type ParentClusterParams } from '../arm/resource-path.js';
import type { ResourceKind } from './documents.js';
import { EXTENSION_NAME, LINKER_NAME, SOURCE_CONTROL_NAME, checkName } from './validation-shared.js';

const CONFIGURATION = 'Microsoft.KubernetesConfiguration';
export const LINKER_API_VERSIONS = ['2022-05-01', '2024-04-01'] as const;

export interface Params extends ParentClusterParams {
  name?: string;
  operationId?: string;
}
export type Req = FastifyRequest<{ Params: Params }>;

export interface KindSpec {
  kind: ResourceKind;
  path: string;
  versions: readonly string[];
  /** The type in Microsoft.KubernetesConfiguration whose per-version shape applies (none: linkers). */
  type?: string;
  name: RegExp;
  nameMax: number;
  nameRule: string;
}

export const SPECS: Record<ResourceKind, KindSpec> = {
  extension: {
    kind: 'extension',
    path: `${PARENT_CLUSTER_PATH}/providers/Microsoft.KubernetesConfiguration/extensions`,
    versions: apiVersionsOf(CONFIGURATION, 'extensions'),
    type: 'extensions',
    name: EXTENSION_NAME,
    nameMax: 253,
    nameRule: "1-253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
  },
  fluxConfiguration: {
    kind: 'fluxConfiguration',
    path: `${PARENT_CLUSTER_PATH}/providers/Microsoft.KubernetesConfiguration/fluxConfigurations`,
    versions: apiVersionsOf(CONFIGURATION, 'fluxConfigurations'),
    type: 'fluxConfigurations',
    name: EXTENSION_NAME,
    nameMax: 253,
    nameRule: "1-253 lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
  },
  sourceControlConfiguration: {
    kind: 'sourceControlConfiguration',
    path: `${PARENT_CLUSTER_PATH}/providers/Microsoft.KubernetesConfiguration/sourceControlConfigurations`,
    versions: apiVersionsOf(CONFIGURATION, 'sourceControlConfigurations'),
    type: 'sourceControlConfigurations',
    name: SOURCE_CONTROL_NAME,
    nameMax: 253,
    nameRule: "1-253 letters, digits, '.', '_' and '-', starting with a letter or digit",
  },
  linker: {
    kind: 'linker',
    path: `${PARENT_CLUSTER_PATH}/providers/Microsoft.ServiceLinker/linkers`,
    versions: LINKER_API_VERSIONS,
    name: LINKER_NAME,
    nameMax: 128,
    nameRule: "1-128 letters, digits, '.', '_' and '-'",
  },
};

/** The request's api-version, checked, and the kind's shape in it (linkers: as they are). */
export function versionOf(
  spec: KindSpec,
  request: Req,
): Pick<ResourceShape, 'apiVersion' | 'project' | 'accept'> {
  if (spec.type) return shapeFor(request, CONFIGURATION, spec.type);
  const apiVersion = apiVersionOf(request, spec.versions);
  return { apiVersion, project: (r) => r, accept: (b) => b };
}

export function nameOf(spec: KindSpec, p: Params): string {
  const name = p.name ?? '';
  checkName(spec.kind, name, spec.name, spec.nameMax, spec.nameRule);
  return name;
}
