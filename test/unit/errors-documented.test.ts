import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../contract/index.js';

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`([A-Za-z]+)`\s*\|\s*(\d{3})\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
    if (m?.[1] && m[3]) rows.set(m[1], m[3]);
  }

  it.each(Object.values(ERROR_CODES))('documents %s with an HTTP status and a meaning', (code) => {
    expect(rows.get(code), `docs/errors.md has no table row for ${code}`).toBeDefined();
    expect(rows.get(code)?.length).toBeGreaterThan(10);
  });

  it('documents no code that does not exist', () => {
    const known = new Set<string>(Object.values(ERROR_CODES));
    expect([...rows.keys()].filter((c) => !known.has(c))).toEqual([]);
  });
});
