// The emulated apiserver's schemas, pure: the OpenAPI documents kubectl reads, the strategic merge
// patch it sends for built-in kinds, and server-side field validation.
import { describe, expect, it } from 'vitest';
import { KUBE_RESOURCES } from '../../contract/index.js';
import {
  definitionName,
  gvPath,
  openApiV2,
  openApiV3,
  openApiV3Root,
} from '../../services/kube-apiserver/openapi/documents.js';
import {
  checkFields,
  parseFieldValidation,
  unknownFields,
} from '../../services/kube-apiserver/openapi/field-validation.js';
import { DEFINITIONS } from '../../services/kube-apiserver/openapi/schemas-kinds.js';
import { strategicMergePatch } from '../../services/kube-apiserver/openapi/strategic-merge.js';
import { KubeStatusError } from '../../services/kube-apiserver/status.js';

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, unknown> };
        parameters?: { name: string; in: string }[];
        'x-kubernetes-group-version-kind'?: unknown;
      }
    >
  >;
  components: { schemas: Record<string, Record<string, unknown>> };
};

const DEPLOYMENT = 'io.k8s.api.apps.v1.Deployment';

function smp(original: unknown, patch: unknown, def = DEPLOYMENT): unknown {
  return strategicMergePatch(original, patch, DEFINITIONS, def);
}

describe('OpenAPI documents', () => {
  it('index every group/version below the prefix the client reached, with a content hash', () => {
    const root = openApiV3Root('/arcfleet/v1/clusterconnect/s/rg/c') as {
      paths: Record<string, { serverRelativeURL: string }>;
    };
    const wanted = [...new Set(KUBE_RESOURCES.map(gvPath))].sort();
    expect(Object.keys(root.paths).sort()).toEqual(wanted);
    const core = root.paths['api/v1']?.serverRelativeURL ?? '';
    expect(core).toMatch(
      /^\/arcfleet\/v1\/clusterconnect\/s\/rg\/c\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/,
    );
    expect(core.split('hash=')[1]).toBe(openApiV3('api/v1')?.hash);
    expect(openApiV3('apis/nope/v1')).toBeUndefined();
  });

  it('describe a PATCH per served kind, with fieldValidation, and strategic merge only for built-in kinds', () => {
    for (const r of KUBE_RESOURCES) {
      const doc = JSON.parse(openApiV3(gvPath(r))?.body ?? '{}') as Doc;
      const patches = Object.values(doc.paths)
        .map((p) => p['patch'])
        .filter((op) => {
          const gvk = op?.['x-kubernetes-group-version-kind'] as { kind?: string } | undefined;
          return gvk?.kind === r.kind;
        });
      expect(patches, r.kind).toHaveLength(1);
      const op = patches[0];
      expect(op?.parameters?.some((p) => p.name === 'fieldValidation' && p.in === 'query')).toBe(true);
      const types = Object.keys(op?.requestBody?.content ?? {});
      expect(types).toContain('application/apply-patch+yaml');
      expect(types.includes('application/strategic-merge-patch+json')).toBe(
        r.group === '' || r.group === 'apps',
      );
      const schema = doc.components.schemas[definitionName(r)];
      expect(schema?.['x-kubernetes-group-version-kind']).toEqual([
        { group: r.group, version: r.version, kind: r.kind },
      ]);
    }
  });

  it('carry the patch strategies and list keys kubectl computes patches with, and resolve every reference', () => {
    const doc = JSON.parse(openApiV3('api/v1')?.body ?? '{}') as Doc;
    const podSpec = doc.components.schemas['io.k8s.api.core.v1.PodSpec'] as {
      properties: Record<string, Record<string, unknown>>;
    };
    expect(podSpec.properties['containers']).toMatchObject({
      type: 'array',
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    expect(podSpec.properties['volumes']?.['x-kubernetes-patch-strategy']).toBe('merge,retainKeys');
    for (const text of [openApiV3('api/v1')?.body ?? '', openApiV3('apis/apps/v1')?.body ?? '']) {
      const schemas = (JSON.parse(text) as Doc).components.schemas;
      for (const [, target] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
        expect(schemas[target as string], target).toBeDefined();
    }
    const v2 = JSON.parse(openApiV2()) as { swagger: string; definitions: Record<string, unknown> };
    expect(v2.swagger).toBe('2.0');
    for (const r of KUBE_RESOURCES) expect(v2.definitions[definitionName(r)], r.kind).toBeDefined();
  });
});

describe('strategic merge patch', () => {
  const live = {
    spec: {
      replicas: 1,
      template: {
        spec: {
          containers: [
            {
              name: 'web',
              image: 'nginx:1.25',
              ports: [{ containerPort: 80 }],
              env: [{ name: 'A', value: '1' }],
            },
            { name: 'side', image: 'busybox' },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
    metadata: { finalizers: ['a'], labels: { x: '1', y: '2' } },
  };

  it('merges lists by their merge key and keeps what the patch does not mention', () => {
    const out = smp(live, {
      spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
    }) as typeof live;
    expect(out.spec.template.spec.containers).toEqual([
      { name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }], env: [{ name: 'A', value: '1' }] },
      { name: 'side', image: 'busybox' },
    ]);
  });

  it('obeys $setElementOrder, $patch: delete in a list, and null to remove a key', () => {
    const out = smp(live, {
      metadata: { labels: { y: null } },
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }],
            containers: [{ name: 'web', env: [{ name: 'A', $patch: 'delete' }] }],
          },
        },
      },
    }) as typeof live;
    expect(out.spec.template.spec.containers.map((c) => c.name)).toEqual(['side', 'web']);
    expect(out.spec.template.spec.containers[1]?.env).toEqual([]);
    expect(out.metadata.labels).toEqual({ x: '1' });
    expect(JSON.stringify(out)).not.toContain('$');
  });

  it('unions sets, deletes from primitive lists, honours $retainKeys and $patch: replace', () => {
    const out = smp(live, {
      metadata: { finalizers: ['b', 'a'], '$deleteFromPrimitiveList/finalizers': ['a'] },
      spec: {
        template: {
          spec: {
            volumes: [{ name: 'data', $retainKeys: ['name', 'configMap'], configMap: { name: 'cm' } }],
          },
        },
        replicas: 3,
      },
    }) as typeof live;
    expect(out.metadata.finalizers).toEqual(['b']);
    expect(out.spec.template.spec.volumes).toEqual([{ name: 'data', configMap: { name: 'cm' } }]);
    expect(out.spec.replicas).toBe(3);
    const replaced = smp(live, {
      spec: { template: { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } } },
    }) as typeof live;
    expect(replaced.spec.template.spec.containers).toEqual([{ name: 'only', image: 'x' }]);
  });

  it('replaces lists without a merge strategy, and refuses unknown directives', () => {
    const cm = smp({ data: { a: '1' }, spec: {} }, { data: { b: '2' } }, 'io.k8s.api.core.v1.ConfigMap');
    expect(cm).toEqual({ data: { a: '1', b: '2' }, spec: {} });
    const tolerations = smp(
      { spec: { tolerations: [{ key: 'a' }] } },
      { spec: { tolerations: [{ key: 'b' }] } },
      'io.k8s.api.core.v1.Pod',
    );
    expect(tolerations).toEqual({ spec: { tolerations: [{ key: 'b' }] } });
    expect(() => smp(live, { $patch: 'explode' })).toThrow(KubeStatusError);
  });
});

describe('field validation', () => {
  it('finds fields the schema does not define, not those of free-form parts', () => {
    const found = unknownFields(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'x', labels: { any: 'thing' } },
        spec: {
          replicas: 1,
          replicaz: 2,
          template: { spec: { containers: [{ name: 'a', imagee: 'x', livenessProbe: { whatever: 1 } }] } },
        },
      },
      DEFINITIONS,
      DEPLOYMENT,
    );
    expect(found).toEqual(['spec.replicaz', 'spec.template.spec.containers[0].imagee']);
    const gitRepository = 'io.fluxcd.toolkit.source.v1.GitRepository';
    expect(DEFINITIONS[gitRepository]).toBeDefined();
    expect(unknownFields({ spec: { anything: 1 }, specc: 1 }, DEFINITIONS, gitRepository)).toEqual(['specc']);
  });

  it('refuses under Strict as the real apiserver words it, warns under Warn, ignores under Ignore', () => {
    const what = { kind: 'Deployment', version: 'v1' };
    expect(() => checkFields('Strict', ['spec.x'], what)).toThrow(
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.x"',
    );
    expect(checkFields('Warn', ['spec.x'], what)).toEqual(['unknown field "spec.x"']);
    expect(checkFields('Ignore', ['spec.x'], what)).toEqual([]);
    expect(parseFieldValidation(null)).toBe('Warn');
    expect(() => parseFieldValidation('Loose')).toThrow(KubeStatusError);
  });
});
