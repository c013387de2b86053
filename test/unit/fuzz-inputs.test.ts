/**
 * The fuzzer's generators (bench/fuzz/inputs.ts) make what the boundaries must refuse: almost-right
 * bodies differ from their template in one place, paths reach the server as written.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mutated, pathAlong, rawPath } from '../../bench/fuzz/inputs.js';
import { metricSum } from '../../bench/fuzz/metrics-text.js';

const template = { a: 1, b: { c: 'x', d: [1, 2] } };

/** Top-level and nested keys whose values differ between two JSON values. */
function differences(x: unknown, y: unknown, path = ''): string[] {
  if (JSON.stringify(x) === JSON.stringify(y)) return [];
  if (
    typeof x !== 'object' ||
    typeof y !== 'object' ||
    x === null ||
    y === null ||
    Array.isArray(x) !== Array.isArray(y)
  )
    return [path];
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  // A subtree replaced whole by junk shares (almost) no key with the template's: one change.
  const shared = Object.keys(x).filter((k) => k in y).length;
  if (keys.size - shared > 1) return [path];
  return [...keys].flatMap((k) =>
    differences((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}/${k}`),
  );
}

describe('fuzz inputs', () => {
  it('changes an almost-right body in one place at most (or replaces it whole), never the template', () => {
    const samples = fc.sample(mutated(template), { numRuns: 300, seed: 1 });
    for (const s of samples) {
      const diff = differences(template, s);
      // One field replaced or removed, or one added; an array element removed shifts the rest.
      expect(diff.length <= 1 || diff.every((d) => d.startsWith('/b/d/')), JSON.stringify(s)).toBe(true);
    }
    expect(template).toEqual({ a: 1, b: { c: 'x', d: [1, 2] } });
    expect(samples.some((s) => JSON.stringify(s) === JSON.stringify(template))).toBe(true);
    expect(samples.filter((s) => differences(template, s).length > 0).length).toBeGreaterThan(200);
  });

  it('sends paths raw but for what a request line cannot carry', () => {
    expect(rawPath('/a/%zz/../☃ b')).toBe('/a/%zz/../%E2%98%83%20b');
    for (const p of fc.sample(pathAlong(['subscriptions', ['s'], 'resourceGroups']), {
      numRuns: 200,
      seed: 2,
    })) {
      expect(p.startsWith('/')).toBe(true);
      expect(/[^\u0021-\u00ff]/u.test(p), p).toBe(false);
    }
  });

  it('sums the samples of a metric whose labels match', () => {
    const text = [
      '# HELP x_total x',
      'x_total{code="404",route="a"} 2',
      'x_total{code="200",route="a"} 5',
      'x_total{code="413",route="b"} 1',
      'y_total 9',
    ].join('\n');
    expect(metricSum(text, 'x_total', (l) => l['code']?.startsWith('4') ?? false)).toBe(3);
    expect(metricSum(text, 'y_total')).toBe(9);
    expect(metricSum(text, 'z_total')).toBe(0);
  });
});
