/** The hub's extension catalog: built-in by default, or a YAML/JSON file validated at start. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BUILTIN_EXTENSION_CATALOG } from '../../platform/extension-catalog.js';
import { loadExtensionCatalog as loadCatalog } from '../../platform/extension-catalog.js';

const dir = mkdtempSync(join(tmpdir(), 'arcfleet-catalog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadCatalog', () => {
  it('is the built-in catalog without a path', () => {
    expect(loadCatalog(undefined)).toBe(BUILTIN_EXTENSION_CATALOG);
  });

  it('reads YAML, lower-cases types and applies defaults', () => {
    const path = join(dir, 'catalog.yaml');
    writeFileSync(
      path,
      [
        '- extensionType: Contoso.Widget',
        '  releaseNamespace: widgets',
        '  scopes: [cluster]',
        '  releaseTrains: { Stable: ["1.0.0"] }',
        '  objects: [{ apiVersion: apps/v1, kind: Deployment, name: "{release}" }]',
      ].join('\n'),
    );
    expect(loadCatalog(path)).toEqual([
      expect.objectContaining({ extensionType: 'contoso.widget', supportsConnections: false }),
    ]);
  });

  it('refuses an invalid file naming the setting and the field', () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify([{ extensionType: 'x', releaseNamespace: 'Bad NS' }]));
    expect(() => loadCatalog(path)).toThrow(/ARCFLEET_EXTENSION_CATALOG.*releaseNamespace/);
    expect(() => loadCatalog(join(dir, 'missing.yaml'))).toThrow(/ARCFLEET_EXTENSION_CATALOG.*cannot read/);
  });
});
