/**
 * Label and field selectors, as the apiserver parses them from `?labelSelector=` / `?fieldSelector=`.
 * Label grammar (k8s.io/apimachinery/pkg/labels): comma-separated requirements, each one of
 * `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (a,b)`, `key notin (a,b)`.
 * Every requirement must hold. Field selectors support `metadata.name` and `metadata.namespace` with
 * `=`, `==`, `!=` (the fields every resource indexes).
 */
import { KubeStatusError } from './status.js';

export type LabelRequirement =
  | { readonly key: string; readonly op: 'exists' | '!exists' }
  | { readonly key: string; readonly op: '=' | '!='; readonly value: string }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] };

export type Selector = readonly LabelRequirement[];

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function invalid(selector: string, why: string): KubeStatusError {
  return KubeStatusError.badRequest(
    `unable to parse requirement: invalid label selector "${selector}": ${why}`,
  );
}

/** Splits on commas outside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function checkKey(selector: string, key: string): string {
  if (key.length === 0 || key.length > 316 || !KEY.test(key))
    throw invalid(selector, `"${key}" is not a valid label key`);
  return key;
}

function checkValue(selector: string, value: string): string {
  if (value.length > 63 || !VALUE.test(value))
    throw invalid(selector, `"${value}" is not a valid label value`);
  return value;
}

/** Parses a label selector; empty → matches everything. Throws a 400 KubeStatusError on bad syntax. */
export function parseLabelSelector(selector: string): Selector {
  const trimmed = selector.trim();
  if (trimmed === '') return [];
  const out: LabelRequirement[] = [];
  for (const raw of splitTop(trimmed)) {
    const part = raw.trim();
    if (part === '') throw invalid(selector, 'empty requirement');
    const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (set) {
      const values = (set[3] as string)
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      for (const v of values) checkValue(selector, v);
      out.push({ key: checkKey(selector, set[1] as string), op: set[2] as 'in' | 'notin', values });
      continue;
    }
    const cmp = /^([^=!\s]+)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (cmp) {
      out.push({
        key: checkKey(selector, cmp[1] as string),
        op: cmp[2] === '!=' ? '!=' : '=',
        value: checkValue(selector, (cmp[3] as string).trim()),
      });
      continue;
    }
    if (part.startsWith('!')) out.push({ key: checkKey(selector, part.slice(1).trim()), op: '!exists' });
    else out.push({ key: checkKey(selector, part), op: 'exists' });
  }
  return out;
}

export function matchesLabels(
  selector: Selector,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  return selector.every((req) => {
    const has = Object.prototype.hasOwnProperty.call(l, req.key);
    const v = has ? l[req.key] : undefined;
    switch (req.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case '=':
        return v === req.value;
      case '!=':
        // As in Kubernetes: a missing label satisfies `!=`.
        return v !== req.value;
      case 'in':
        return v !== undefined && req.values.includes(v);
      case 'notin':
        return v === undefined || !req.values.includes(v);
    }
  });
}

export interface FieldRequirement {
  readonly field: 'metadata.name' | 'metadata.namespace';
  readonly op: '=' | '!=';
  readonly value: string;
}

export function parseFieldSelector(selector: string): readonly FieldRequirement[] {
  const trimmed = selector.trim();
  if (trimmed === '') return [];
  return trimmed.split(',').map((raw) => {
    const m = /^\s*([^=!\s]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(raw);
    if (!m)
      throw KubeStatusError.badRequest(`invalid field selector "${selector}": "${raw}" is not field=value`);
    const field = m[1] as string;
    if (field !== 'metadata.name' && field !== 'metadata.namespace')
      throw KubeStatusError.badRequest(
        `field label not supported: ${field} (only metadata.name and metadata.namespace)`,
      );
    return { field, op: m[2] === '!=' ? '!=' : '=', value: m[3] as string };
  });
}

export function matchesFields(
  reqs: readonly FieldRequirement[],
  meta: { readonly name: string; readonly namespace?: string | undefined },
): boolean {
  return reqs.every((r) => {
    const v = r.field === 'metadata.name' ? meta.name : (meta.namespace ?? '');
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}
