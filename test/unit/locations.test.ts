import { describe, expect, it } from 'vitest';
import { AZURE_LOCATIONS, CONNECTED_CLUSTER_LOCATIONS, normalizeLocation } from '../../contract/index.js';
import { LOCATIONS } from '../../fleet/generator.js';

describe('locations', () => {
  it('offers connectedClusters only in Azure regions, and generates fleets only where they are offered', () => {
    for (const l of CONNECTED_CLUSTER_LOCATIONS) expect(AZURE_LOCATIONS).toContain(l);
    for (const l of LOCATIONS) expect(CONNECTED_CLUSTER_LOCATIONS).toContain(l);
    expect(new Set(AZURE_LOCATIONS).size).toBe(AZURE_LOCATIONS.length);
    expect(new Set(CONNECTED_CLUSTER_LOCATIONS).size).toBe(CONNECTED_CLUSTER_LOCATIONS.length);
    for (const l of AZURE_LOCATIONS) expect(normalizeLocation(l)).toBe(l);
  });

  it('takes a display name as the region it names', () => {
    expect(normalizeLocation('West Europe')).toBe('westeurope');
    expect(normalizeLocation('East US 2')).toBe('eastus2');
  });
});
