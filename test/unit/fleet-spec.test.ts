import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FleetSpecError, clusterStateSchema } from '../../contract/index.js';
import { generateFleet, parseFleetSpec } from '../../fleet/spec.js';
import { DEFAULT_AGENT_VERSION, PROFILES } from '../../fleet/generator.js';

const GOOD = `subscriptionId: sub-1
resourceGroup: rg-1
defaults:
  agentVersion: 1.21.10
  tags:
    owner: me
clusters:
  - name: edge-1
    location: eastus
    distribution: k3s
    distributionVersion: v1.30.6+k3s1
    infrastructure: generic
    kubernetesVersion: 1.30.6
    tags:
      env: prod
    nodePools:
      - name: system
        vmSize: vm-4vcpu-16gb
        osType: Linux
        osSku: Ubuntu
        nodeImageVersion: AKSUbuntu-2204gen2containerd-202410.15.0
        count: 3
        coresPerNode: 4
`;

function specError(text: string): FleetSpecError {
  try {
    parseFleetSpec(text);
  } catch (err) {
    if (err instanceof FleetSpecError) return err;
    throw err;
  }
  throw new Error('expected a FleetSpecError');
}

describe('parseFleetSpec', () => {
  it('turns a good spec into cluster states', () => {
    const spec = parseFleetSpec(GOOD, { nowIso: '2026-01-01T00:00:00.000Z' });
    expect(spec.subscriptionId).toBe('sub-1');
    expect(spec.resourceGroup).toBe('rg-1');
    expect(spec.clusters).toHaveLength(1);
    const c = spec.clusters[0];
    expect(c).toMatchObject({
      name: 'edge-1',
      subscriptionId: 'sub-1',
      resourceGroup: 'rg-1',
      agentVersion: '1.21.10',
      tags: { owner: 'me', env: 'prod' },
      generation: 0,
      changedAt: '2026-01-01T00:00:00.000Z',
      stoppedAgents: [],
    });
    expect(clusterStateSchema.parse(c)).toEqual(c);
  });

  it('flag overrides win over the spec', () => {
    const spec = parseFleetSpec(GOOD, { subscriptionId: 'other', resourceGroup: 'rg-2' });
    expect(spec.clusters[0]?.subscriptionId).toBe('other');
    expect(spec.clusters[0]?.resourceGroup).toBe('rg-2');
  });

  it('reports a bad value with its line and field', () => {
    const err = specError(GOOD.replace('count: 3', 'count: -3'));
    expect(err.line).toBe(22);
    expect(err.field).toBe('clusters[0].nodePools[0].count');
    expect(err.code).toBe('InvalidFleetSpec');
    expect(err.message).toMatch(/^line 22: clusters\[0\]\.nodePools\[0\]\.count: /);
  });

  it('reports a wrong enum value', () => {
    const err = specError(GOOD.replace('osType: Linux', 'osType: Solaris'));
    expect(err.line).toBe(19);
    expect(err.field).toBe('clusters[0].nodePools[0].osType');
  });

  it('reports an unknown field at its key', () => {
    const err = specError(
      GOOD.replace('    infrastructure: generic\n', '    infrastructure: generic\n    colour: blue\n'),
    );
    expect(err.line).toBe(13);
    expect(err.field).toBe('clusters[0].colour');
    expect(err.message).toContain('unknown field "colour"');
  });

  it('reports a missing field at the object that lacks it', () => {
    const err = specError(GOOD.replace('    distribution: k3s\n', ''));
    expect(err.field).toBe('clusters[0].distribution');
    expect(err.line).toBe(8);
    expect(err.message).toContain('missing');
  });

  it('reports duplicate cluster names (case-insensitive)', () => {
    const second = GOOD.slice(GOOD.indexOf('  - name: edge-1')).replace('edge-1', 'EDGE-1');
    const err = specError(`${GOOD}${second}`);
    expect(err.field).toBe('clusters[1].name');
    expect(err.line).toBe(24);
  });

  it('reports YAML syntax errors with a line', () => {
    const err = specError('clusters:\n  - name: a\n   bad: [1, 2\n');
    expect(err.line).toBeGreaterThanOrEqual(2);
    expect(err.field).toBeUndefined();
  });

  it('appends generated clusters', () => {
    const spec = parseFleetSpec(`${GOOD}generate:\n  count: 4\n  seed: 7\n`);
    expect(spec.clusters).toHaveLength(5);
    expect(spec.clusters[4]?.subscriptionId).toBe('sub-1');
    expect(spec.clusters[4]?.tags.owner).toBe('me');
  });

  it('parses the shipped example', () => {
    const spec = parseFleetSpec(readFileSync('deploy/fleets/example.yaml', 'utf8'));
    expect(spec.clusters.length).toBeGreaterThanOrEqual(8);
    for (const c of spec.clusters) clusterStateSchema.parse(c);
    // A pinned cluster (auto-upgrade off); the rest follow the defaults (on).
    expect(spec.clusters.find((c) => c.name === 'arc-westeurope-factory-0002')).toMatchObject({
      agentVersion: '1.20.2',
      autoUpdate: false,
    });
    expect(spec.clusters.find((c) => c.name === 'arc-eastus-store-0001')?.autoUpdate).toBe(true);
  });
});

describe('generateFleet', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateFleet({ count: 50, seed: 42, nowIso: 'x' });
    const b = generateFleet({ count: 50, seed: 42, nowIso: 'x' });
    const c = generateFleet({ count: 50, seed: 43, nowIso: 'x' });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('starts a fleet as it would be found: at the latest with auto-upgrade, or behind with it off', () => {
    const fleet = generateFleet({ count: 200, seed: 7, nowIso: 'x' });
    for (const c of fleet) expect(c.autoUpdate).toBe(c.agentVersion === DEFAULT_AGENT_VERSION);
    expect(fleet.filter((c) => c.autoUpdate).length).toBeGreaterThan(100);
    expect(fleet.filter((c) => !c.autoUpdate).length).toBeGreaterThan(20);
  });

  it('produces valid, uniquely named clusters with realistic variety', () => {
    const fleet = generateFleet({ count: 300, seed: 'variety', subscriptionId: 's', resourceGroup: 'r' });
    const names = new Set(fleet.map((f) => f.name));
    expect(names.size).toBe(300);
    const distributions = new Set<string>();
    const infrastructures = new Set<string>();
    const minors = new Set<string>();
    const skus = new Set<string>();
    const poolCounts = new Set<number>();
    for (const c of fleet) {
      clusterStateSchema.parse(c);
      expect(c.name).toMatch(/^arc-[a-z0-9]+-\d{4}$/);
      expect(c.name).toContain(c.location);
      distributions.add(c.distribution);
      infrastructures.add(c.infrastructure);
      minors.add(c.kubernetesVersion.split('.').slice(0, 2).join('.'));
      poolCounts.add(c.nodePools.length);
      for (const p of c.nodePools) skus.add(p.osSku);
      // consistent pairs
      const allowed = PROFILES[c.distribution]?.infrastructures.map(([i]) => i) ?? [];
      expect(allowed).toContain(c.infrastructure);
      if (c.distribution === 'aks') expect(c.infrastructure).toBe('azure');
      if (c.distribution === 'eks') expect(c.infrastructure).toBe('aws');
      if (c.distribution === 'gke') expect(c.infrastructure).toBe('gcp');
      expect(c.kubernetesVersion).toMatch(/^1\.(29|30|31)\.\d+$/);
      expect(c.nodePools[0]?.osType).toBe('Linux');
      expect(c.nodePools.length).toBeGreaterThanOrEqual(1);
      expect(c.nodePools.length).toBeLessThanOrEqual(3);
    }
    expect([...distributions].sort()).toEqual(['aks', 'eks', 'gke', 'k3s', 'openshift', 'rke2']);
    expect([...infrastructures].sort()).toEqual(['aws', 'azure', 'gcp', 'generic', 'vsphere']);
    expect([...minors].sort()).toEqual(['1.29', '1.30', '1.31']);
    expect(poolCounts.size).toBe(3);
    expect(skus).toContain('Ubuntu');
    expect(skus).toContain('AzureLinux');
    expect(skus).toContain('Windows2022');
  });
});

describe('generateFleet resource groups', () => {
  it('keeps small fleets in one resource group and spreads large ones under the ARM limit', () => {
    expect(new Set(generateFleet({ count: 800, resourceGroup: 'rg' }).map((c) => c.resourceGroup))).toEqual(
      new Set(['rg']),
    );
    const big = generateFleet({ count: 1200, resourceGroup: 'rg' });
    const perGroup = new Map<string, number>();
    for (const c of big) perGroup.set(c.resourceGroup, (perGroup.get(c.resourceGroup) ?? 0) + 1);
    expect([...perGroup.keys()]).toEqual(['rg-1', 'rg-2', 'rg-3']);
    for (const n of perGroup.values()) expect(n).toBeLessThanOrEqual(800);
  });
});
