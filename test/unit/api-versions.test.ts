/**
 * The published api-versions as data (contract/api-versions.json): complete enough for the real
 * clients, each version's shape applied both ways, and the docs' tables in step with the data.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apiVersionsOf, operationsOf, shapeOf, type ProviderNamespace } from '../../contract/api-versions.js';
import { servedOperations } from '../../services/hub/arm/operations.js';

const TYPES: Array<[ProviderNamespace, string]> = [
  ['Microsoft.Kubernetes', 'connectedClusters'],
  ['Microsoft.KubernetesConfiguration', 'extensions'],
  ['Microsoft.KubernetesConfiguration', 'fluxConfigurations'],
];

/** A property the newest version defines and an older one does not, with that older version. */
function propertyAddedLater(provider: ProviderNamespace, type: string): { property: string; older: string } {
  const [newest, ...older] = apiVersionsOf(provider, type);
  const latest = shapeOf(provider, type, newest!)!;
  for (const version of older) {
    const shape = shapeOf(provider, type, version)!;
    const missing = latest.shape.properties.find((p) => !shape.defines(p));
    if (missing) return { property: missing, older: version };
  }
  throw new Error(`every version of ${type} defines the same properties`);
}

describe('api-versions as data', () => {
  it.each(TYPES)('%s/%s: GA and preview versions, newest first, each with its shape', (provider, type) => {
    const versions = apiVersionsOf(provider, type);
    expect(versions.length).toBeGreaterThanOrEqual(5);
    expect([...versions].sort().reverse()).toEqual(versions);
    expect(versions.some((v) => v.endsWith('-preview'))).toBe(true);
    expect(versions.some((v) => !v.endsWith('-preview'))).toBe(true);
    for (const v of versions) {
      expect(v).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
      const shape = shapeOf(provider, type, v)!;
      expect(shape.shape.status).toBe(v.endsWith('-preview') ? 'preview' : 'GA');
      expect(shape.shape.resource).toEqual(expect.arrayContaining(['id', 'name', 'type', 'properties']));
      expect(shape.shape.properties.length).toBeGreaterThanOrEqual(3);
      if (type === 'connectedClusters')
        expect(shape.shape.properties).toEqual(
          expect.arrayContaining(['agentPublicKeyCertificate', 'connectivityStatus', 'provisioningState']),
        );
    }
  });

  it('has the versions the clients in the field pin', () => {
    // @azure/arm-hybridkubernetes 2.1.0 sends 2021-10-01; arcfleet's own clients 2024-01-01 and 2024-11-01.
    expect(apiVersionsOf('Microsoft.Kubernetes', 'connectedClusters')).toEqual(
      expect.arrayContaining(['2020-01-01-preview', '2021-03-01', '2021-10-01', '2024-01-01']),
    );
    for (const type of ['extensions', 'fluxConfigurations'])
      expect(apiVersionsOf('Microsoft.KubernetesConfiguration', type)).toEqual(
        expect.arrayContaining(['2023-05-01']),
      );
    expect(apiVersionsOf('Microsoft.Kubernetes', 'nothing')).toEqual([]);
    expect(shapeOf('Microsoft.Kubernetes', 'connectedClusters', '2019-01-01')).toBeUndefined();
  });

  it.each(TYPES)('%s/%s: a version does not return what it does not define', (provider, type) => {
    const { property, older } = propertyAddedLater(provider, type);
    const newest = apiVersionsOf(provider, type)[0]!;
    const resource = {
      id: 'x',
      name: 'n',
      type: 't',
      properties: { provisioningState: 'Succeeded', [property]: 1 },
    };
    expect(shapeOf(provider, type, newest)!.project(resource).properties).toHaveProperty(property);
    const old = shapeOf(provider, type, older)!.project(resource);
    expect(old.properties).not.toHaveProperty(property);
    expect(old).toHaveProperty('id', 'x');
  });

  it.each(TYPES)(
    '%s/%s: a write ignores what only other versions define, and leaves the unknown to validation',
    (provider, type) => {
      const { property, older } = propertyAddedLater(provider, type);
      const body = { location: 'eastus', properties: { [property]: 1, notAProperty: true } };
      const accepted = shapeOf(provider, type, older)!.accept(body) as {
        properties: Record<string, unknown>;
      };
      expect(accepted.properties).not.toHaveProperty(property);
      expect(accepted.properties).toHaveProperty('notAProperty', true);
      expect(accepted).toHaveProperty('location', 'eastus');
    },
  );

  it('trims nested objects to the fields the version defines', () => {
    const versions = apiVersionsOf('Microsoft.Kubernetes', 'connectedClusters');
    const withProfile = versions.filter(
      (v) => shapeOf('Microsoft.Kubernetes', 'connectedClusters', v)!.shape.nested.arcAgentProfile,
    );
    expect(withProfile.length).toBeGreaterThan(0);
    const shape = shapeOf('Microsoft.Kubernetes', 'connectedClusters', withProfile[0]!)!;
    const fields = shape.shape.nested.arcAgentProfile!;
    const projected = shape.project({
      properties: { arcAgentProfile: { [fields[0]!]: 'kept', notAField: 'dropped' } },
    }) as { properties?: { arcAgentProfile?: Record<string, unknown> } };
    expect(projected.properties?.arcAgentProfile).toEqual({ [fields[0]!]: 'kept' });
  });

  it('trims each value of a map property (Flux kustomizations), keeping its names', () => {
    const flux = (v: string) => shapeOf('Microsoft.KubernetesConfiguration', 'fluxConfigurations', v)!;
    const resource = {
      properties: { kustomizations: { apps: { path: './apps', wait: true, notAField: 1 } } },
    };
    // `wait` arrived in 2023-05-01.
    expect(flux('2023-05-01').project(resource).properties.kustomizations).toEqual({
      apps: { path: './apps', wait: true },
    });
    expect(flux('2022-03-01').project(resource).properties.kustomizations).toEqual({
      apps: { path: './apps' },
    });
  });

  it('gives a version that knows a property by an older name the value under that name', () => {
    const ext = (v: string) => shapeOf('Microsoft.KubernetesConfiguration', 'extensions', v)!;
    const installed = { properties: { currentVersion: '1.14.1', provisioningState: 'Succeeded' } };
    expect(ext('2022-07-01').project(installed).properties).toMatchObject({ installedVersion: '1.14.1' });
    expect(ext('2022-07-01').project(installed).properties).not.toHaveProperty('currentVersion');
    expect(ext('2023-05-01').project(installed).properties).toEqual(installed.properties);
    const flux = shapeOf('Microsoft.KubernetesConfiguration', 'fluxConfigurations', '2022-01-01-preview')!;
    expect(flux.project({ properties: { sourceSyncedCommitId: 'main@sha1:abc' } }).properties).toEqual({
      lastSourceSyncedCommitId: 'main@sha1:abc',
    });
  });

  it('lists each provider’s published operations, trimmed to what the hub serves', () => {
    for (const provider of ['Microsoft.Kubernetes', 'Microsoft.KubernetesConfiguration'] as const) {
      const all = operationsOf(provider);
      expect(all.length).toBeGreaterThan(0);
      const served = servedOperations(provider);
      expect(served.length).toBeGreaterThan(0);
      for (const op of served) expect(op.name.startsWith(`${provider}/`)).toBe(true);
    }
    const names = servedOperations('Microsoft.Kubernetes').map((o) => o.name.toLowerCase());
    expect(names).toContain('microsoft.kubernetes/connectedclusters/read');
    expect(names).toContain('microsoft.kubernetes/connectedclusters/write');
    expect(names).toContain('microsoft.kubernetes/connectedclusters/delete');
  });

  it('docs/api-versions.md lists every version of every type', () => {
    const doc = readFileSync(new URL('../../docs/api-versions.md', import.meta.url), 'utf8');
    for (const [provider, type] of TYPES) {
      const section = doc.split(`### ${provider}/${type}\n`)[1]?.split('###')[0] ?? '';
      expect(section, `docs/api-versions.md has no table for ${provider}/${type}`).not.toBe('');
      for (const v of apiVersionsOf(provider, type)) expect(section).toMatch(new RegExp(`\\| ${v} +\\|`));
    }
  });
});
