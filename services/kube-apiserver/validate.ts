/**
 * Validation of request bodies at the boundary: JSON, apiVersion/kind/namespace/name consistent with
 * the URL (400 BadRequest, as the real apiserver), and field checks (422 Invalid naming the field).
 */
import { randomBytes } from 'node:crypto';
import type { KubeObject } from '../../agent-runtime/kube-client.js';
import { groupVersion, type KubeResource } from '../../contract/index.js';
import { KubeStatusError, type StatusCause } from './status.js';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseJsonBody(body: Buffer | undefined): unknown {
  const text = body?.toString('utf8') ?? '';
  if (text.trim() === '')
    throw KubeStatusError.badRequest('the request body is empty; a JSON object is required');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw KubeStatusError.badRequest(
      `the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Checks a DNS-1123 name (namespaces: a label, others: a subdomain). */
export function nameProblem(r: KubeResource, name: string): string | undefined {
  if (r.plural === 'namespaces') {
    if (name.length > 63 || !LABEL.test(name))
      return `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (at most 63)`;
    return undefined;
  }
  if (name.length > 253 || !SUBDOMAIN.test(name))
    return `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`;
  return undefined;
}

function stringMap(
  causes: StatusCause[],
  field: string,
  value: unknown,
  check?: (k: string, v: string) => string | undefined,
): void {
  if (value === undefined || value === null) return;
  if (!isRecord(value)) {
    causes.push({ reason: 'FieldValueInvalid', field, message: 'must be an object of string values' });
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      causes.push({ reason: 'FieldValueInvalid', field: `${field}[${k}]`, message: 'must be a string' });
    else {
      const problem = check?.(k, v);
      if (problem) causes.push({ reason: 'FieldValueInvalid', field: `${field}[${k}]`, message: problem });
    }
  }
}

/**
 * The object a create/update/patch stores, checked against the URL: `namespace` and (for PUT and
 * PATCH) `name` come from the path. apiVersion and kind default to the URL's.
 */
export function validateObject(
  r: KubeResource,
  body: unknown,
  url: { namespace?: string | undefined; name?: string | undefined },
): KubeObject {
  if (!isRecord(body))
    throw KubeStatusError.badRequest(`the request body must be a JSON object (a ${r.kind})`);
  const gv = groupVersion(r);
  if (body.apiVersion !== undefined && body.apiVersion !== gv)
    throw KubeStatusError.badRequest(
      `the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${gv})`,
    );
  if (body.kind !== undefined && body.kind !== r.kind)
    throw KubeStatusError.badRequest(
      `the kind in the data (${String(body.kind)}) does not match the expected kind (${r.kind})`,
    );
  const causes: StatusCause[] = [];
  const meta = isRecord(body.metadata) ? { ...body.metadata } : undefined;
  if (body.metadata !== undefined && !meta)
    throw KubeStatusError.invalid(
      r.kind,
      '',
      [{ reason: 'FieldValueInvalid', field: 'metadata', message: 'must be an object' }],
      r.group,
    );
  let name = meta?.name;
  if (
    (name === undefined || name === '') &&
    typeof meta?.generateName === 'string' &&
    meta.generateName !== '' &&
    !url.name
  )
    name = `${meta.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
  if (typeof name !== 'string' || name === '') {
    throw KubeStatusError.invalid(
      r.kind,
      '',
      [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'name or generateName is required' }],
      r.group,
    );
  }
  if (url.name !== undefined && name !== url.name)
    throw KubeStatusError.badRequest(
      `the name of the object (${name}) does not match the name on the URL (${url.name})`,
    );
  const problem = nameProblem(r, name);
  if (problem)
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
      message: `Invalid value: "${name}": ${problem}`,
    });
  if (r.namespaced) {
    if (meta?.namespace !== undefined && meta.namespace !== '' && meta.namespace !== url.namespace)
      throw KubeStatusError.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
  }
  stringMap(causes, 'metadata.labels', meta?.labels, (k, v) =>
    !LABEL_KEY.test(k) || k.length > 316
      ? `"${k}" is not a valid label key`
      : v.length > 63 || !LABEL_VALUE.test(v)
        ? `"${v}" is not a valid label value`
        : undefined,
  );
  stringMap(causes, 'metadata.annotations', meta?.annotations);
  const obj: KubeObject = {
    ...body,
    apiVersion: gv,
    kind: r.kind,
    metadata: { ...meta, name, ...(r.namespaced ? { namespace: url.namespace } : {}) },
  };
  if (!r.namespaced) delete obj.metadata.namespace;
  kindChecks(r, obj, causes);
  if (causes.length > 0) throw KubeStatusError.invalid(r.kind, name, causes, r.group);
  return obj;
}

function kindChecks(r: KubeResource, obj: KubeObject, causes: StatusCause[]): void {
  if (r.group === '' && r.plural === 'configmaps') {
    stringMap(causes, 'data', obj.data);
    stringMap(causes, 'binaryData', obj.binaryData, (_k, v) =>
      BASE64.test(v) ? undefined : 'must be base64',
    );
  }
  if (r.group === '' && r.plural === 'secrets') {
    stringMap(causes, 'data', obj.data, (_k, v) => (BASE64.test(v) ? undefined : 'must be base64'));
    stringMap(causes, 'stringData', obj.stringData);
    // As the real apiserver: stringData is write-only, merged into data.
    if (isRecord(obj.stringData) && causes.length === 0) {
      const data: Record<string, unknown> = isRecord(obj.data) ? { ...obj.data } : {};
      for (const [k, v] of Object.entries(obj.stringData))
        data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      obj.data = data;
      delete obj.stringData;
    }
    if (obj.type === undefined) obj.type = 'Opaque';
  }
  if (r.group === '' && r.plural === 'namespaces') {
    obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
    obj.spec = { finalizers: ['kubernetes'] };
    obj.status = { phase: 'Active' };
  }
  if (r.group === 'apps' && r.plural === 'deployments') {
    const spec = obj.spec;
    if (!isRecord(spec)) {
      causes.push({ reason: 'FieldValueRequired', field: 'spec', message: 'Required value' });
      return;
    }
    if (!isRecord(spec.selector))
      causes.push({ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' });
    const template = spec.template;
    if (!isRecord(template))
      causes.push({ reason: 'FieldValueRequired', field: 'spec.template', message: 'Required value' });
    const matchLabels =
      isRecord(spec.selector) && isRecord(spec.selector.matchLabels) ? spec.selector.matchLabels : {};
    const templateLabels =
      isRecord(template) && isRecord(template.metadata) && isRecord(template.metadata.labels)
        ? template.metadata.labels
        : {};
    for (const [k, v] of Object.entries(matchLabels))
      if (templateLabels[k] !== v)
        causes.push({
          reason: 'FieldValueInvalid',
          field: 'spec.template.metadata.labels',
          message: '`selector` does not match template `labels`',
        });
    if (spec.replicas !== undefined && !(Number.isInteger(spec.replicas) && (spec.replicas as number) >= 0))
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.replicas',
        message: 'must be a non-negative integer',
      });
  }
}
