// Server-side apply and field ownership, pure: which fields an apply owns, conflicts with other
// managers (and force), removal of what a manager stopped applying, and non-apply writes taking
// ownership of what they change.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import {
  fieldSetOf,
  fromFieldsV1,
  pathKey,
  toFieldsV1,
} from '../../services/kube-apiserver/openapi/field-sets.js';
import { DEFINITIONS } from '../../services/kube-apiserver/openapi/schemas-kinds.js';
import {
  describePath,
  recordUpdate,
  serverSideApply,
} from '../../services/kube-apiserver/openapi/server-side-apply.js';
import { KubeStatusError } from '../../services/kube-apiserver/status.js';

const DEPLOYMENT = 'io.k8s.api.apps.v1.Deployment';
const ctx = (manager: string, force = false) => ({
  defs: DEFINITIONS,
  definition: DEPLOYMENT,
  apiVersion: 'apps/v1',
  manager,
  now: '2026-11-30T00:00:00Z',
  force,
  resource: { plural: 'deployments', group: 'apps' },
});

function deployment(image: string, env: { name: string; value: string }[], replicas?: number): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'default', labels: { app: 'api' } },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image, env }] },
      },
    },
  };
}

type Spec = { replicas?: number; template: { spec: { containers: { image: string; env: unknown[] }[] } } };
const specOf = (o: KubeObject): Spec => o['spec'] as Spec;

describe('field sets', () => {
  it('name list elements by their keys and round-trip through fieldsV1', () => {
    const set = fieldSetOf(deployment('x', [{ name: 'A', value: '1' }]), DEFINITIONS, DEPLOYMENT);
    const element = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"api"}'];
    expect(set.has(pathKey([...element, '.']))).toBe(true);
    expect(set.has(pathKey([...element, 'f:image']))).toBe(true);
    expect(set.has(pathKey([...element, 'f:env', 'k:{"name":"A"}', 'f:value']))).toBe(true);
    expect(set.has(pathKey(['f:metadata', 'f:labels', 'f:app']))).toBe(true);
    expect([...set].some((p) => p.includes('f:name"]') && p.startsWith('["f:metadata"'))).toBe(false);
    expect(fromFieldsV1(toFieldsV1(set))).toEqual(set);
    expect(describePath(pathKey([...element, 'f:env', 'k:{"name":"A"}', 'f:value']))).toBe(
      '.spec.template.spec.containers[name="api"].env[name="A"].value',
    );
  });
});

describe('server-side apply', () => {
  it('creates with the applier owning what it applied', () => {
    const created = serverSideApply(
      undefined,
      deployment('nginx:1.25', [{ name: 'A', value: '1' }]),
      ctx('kubectl'),
    );
    const fields = created.metadata['managedFields'] as { manager: string; operation: string }[];
    expect(fields).toHaveLength(1);
    expect(fields[0]).toMatchObject({ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1' });
    expect(specOf(created).template.spec.containers[0]?.image).toBe('nginx:1.25');
  });

  it('removes what the manager no longer applies, whole list elements included', () => {
    const v1 = serverSideApply(
      undefined,
      deployment('nginx:1.25', [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ]),
      ctx('kubectl'),
    );
    const v2 = serverSideApply(v1, deployment('nginx:1.27', [{ name: 'A', value: '1' }]), ctx('kubectl'));
    expect(specOf(v2).template.spec.containers[0]).toEqual({
      name: 'api',
      image: 'nginx:1.27',
      env: [{ name: 'A', value: '1' }],
    });
  });

  it('conflicts with another manager over a different value, shares an equal one, and takes it with force', () => {
    const applied = serverSideApply(undefined, deployment('nginx:1.25', [], 2), ctx('kubectl'));
    // `kubectl scale`-like: another manager changes replicas with an ordinary write.
    const scaled = structuredClone(applied);
    specOf(scaled).replicas = 5;
    scaled.metadata['managedFields'] = recordUpdate(applied, scaled, { ...ctx('kubectl-scale') });
    const err = (() => {
      try {
        serverSideApply(scaled, deployment('nginx:1.25', [], 2), ctx('kubectl'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KubeStatusError);
    expect((err as KubeStatusError).reason).toBe('Conflict');
    expect((err as KubeStatusError).message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas',
    );
    // Agreeing on the value is no conflict: both own it.
    const agreed = serverSideApply(scaled, deployment('nginx:1.25', [], 5), ctx('kubectl'));
    expect(specOf(agreed).replicas).toBe(5);
    const forced = serverSideApply(scaled, deployment('nginx:1.25', [], 3), ctx('kubectl', true));
    expect(specOf(forced).replicas).toBe(3);
    const owners = forced.metadata['managedFields'] as { manager: string }[];
    expect(owners.map((o) => o.manager)).toEqual(['kubectl']);
  });

  it('keeps a field another manager owns when the applier drops it', () => {
    const applied = serverSideApply(undefined, deployment('nginx:1.25', [], 2), ctx('a'));
    const shared = serverSideApply(applied, deployment('nginx:1.25', [], 2), ctx('b'));
    const dropped = serverSideApply(shared, deployment('nginx:1.25', []), ctx('a'));
    expect(specOf(dropped).replicas).toBe(2);
  });
});

describe('ordinary writes', () => {
  it('make the writer own what it changed and the others lose it; a managedFields write is taken as is', () => {
    const created = structuredClone(deployment('nginx:1.25', [], 1));
    created.metadata['managedFields'] = recordUpdate(undefined, created, ctx('kubectl-create'));
    const changed = structuredClone(created);
    specOf(changed).replicas = 4;
    const fields = recordUpdate(created, changed, ctx('kubectl-edit')) as {
      manager: string;
      fieldsV1: Record<string, unknown>;
    }[];
    expect(fields.map((f) => f.manager)).toEqual(['kubectl-create', 'kubectl-edit']);
    expect(fields[1]?.fieldsV1).toEqual({ 'f:spec': { 'f:replicas': {} } });
    expect(JSON.stringify(fields[0]?.fieldsV1)).not.toContain('f:replicas');
    const migrated = structuredClone(created);
    migrated.metadata['managedFields'] = [{ ...fields[0], manager: 'kubectl', operation: 'Apply' }];
    expect(recordUpdate(created, migrated, ctx('kubectl-client-side-apply'))).toMatchObject([
      { manager: 'kubectl', operation: 'Apply' },
    ]);
  });
});
