#!/usr/bin/env node
/**
 * Writes test/kubernetes/schema-1.32.json: strict JSON Schemas (unknown fields refused) of the Kubernetes
 * 1.32 kinds deploy/kubernetes uses, for test/unit/kubernetes-manifests.test.ts, which must run with no
 * cluster and no network.
 *
 * Source: the models of the official JavaScript client @kubernetes/client-node 1.1.2, generated from the
 * Kubernetes v1.32.0 OpenAPI spec: each model's `attributeTypeMap` gives its fields and their types, its
 * `.d.ts` which fields are required (`'name': T` vs `'name'?: T`). Only the definitions the kinds below
 * reach are kept, without descriptions (yannh/kubernetes-json-schema's standalone files carry them and
 * weigh 700 KB a kind). Run it again when a kind is added:
 *
 *   npm pack @kubernetes/client-node@1.1.2 && tar xzf kubernetes-client-node-1.1.2.tgz -C /tmp
 *   node scripts/kubernetes-schemas.mjs /tmp/package && npx prettier --write test/kubernetes
 */
import console from 'node:console';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

/** kind → [apiVersion, model]: every kind deploy/kubernetes may contain. */
const KINDS = {
  Namespace: ['v1', 'V1Namespace'],
  ServiceAccount: ['v1', 'V1ServiceAccount'],
  Secret: ['v1', 'V1Secret'],
  ConfigMap: ['v1', 'V1ConfigMap'],
  Service: ['v1', 'V1Service'],
  PersistentVolumeClaim: ['v1', 'V1PersistentVolumeClaim'],
  Role: ['rbac.authorization.k8s.io/v1', 'V1Role'],
  RoleBinding: ['rbac.authorization.k8s.io/v1', 'V1RoleBinding'],
  StatefulSet: ['apps/v1', 'V1StatefulSet'],
  Deployment: ['apps/v1', 'V1Deployment'],
  Job: ['batch/v1', 'V1Job'],
  NetworkPolicy: ['networking.k8s.io/v1', 'V1NetworkPolicy'],
  PodDisruptionBudget: ['policy/v1', 'V1PodDisruptionBudget'],
};

const pkg = process.argv[2];
if (!pkg) {
  console.error('usage: node scripts/kubernetes-schemas.mjs <unpacked @kubernetes/client-node package>');
  process.exit(2);
}
const models = join(pkg, 'dist', 'gen', 'models');
const header = readFileSync(join(models, 'V1StatefulSet.js'), 'utf8');
const specVersion = /OpenAPI spec version: (\S+)/.exec(header)?.[1];
if (specVersion !== 'v1.32.0')
  throw new Error(`expected a client generated from v1.32.0, got ${specVersion}`);

const definitions = {};

/** A field's type as the generator wrote it → JSON Schema (models become $refs, added on the way). */
async function typeSchema(type, format) {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return { type: 'array', items: await typeSchema(array[1], format) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { type: 'object', additionalProperties: await typeSchema(map[1], format) };
  if (type === 'string' || type === 'Date' || type === 'V1MicroTime') return { type: 'string' };
  if (type === 'boolean') return { type: 'boolean' };
  if (type === 'number') return { type: format === 'double' ? 'number' : 'integer' };
  if (type === 'IntOrString') return { type: ['integer', 'string'] };
  if (type === 'any') return {};
  await addModel(type);
  return { $ref: `#/definitions/${type}` };
}

async function addModel(name) {
  if (definitions[name]) return;
  definitions[name] = {}; // placeholder: models refer to each other
  const mod = await import(pathToFileURL(join(models, `${name}.js`)).href);
  const fields = mod[name].attributeTypeMap;
  const dts = readFileSync(join(models, `${name}.d.ts`), 'utf8');
  const optional = new Set([...dts.matchAll(/^\s+'([^']+)'\?:/gm)].map((m) => m[1]));
  const properties = {};
  const required = [];
  for (const f of fields) {
    properties[f.baseName] = await typeSchema(f.type, f.format);
    if (!optional.has(f.name)) required.push(f.baseName);
  }
  definitions[name] = {
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}

const kinds = {};
for (const [kind, [apiVersion, model]] of Object.entries(KINDS)) {
  await addModel(model);
  kinds[kind] = {
    type: 'object',
    allOf: [{ $ref: `#/definitions/${model}` }],
    properties: { apiVersion: { const: apiVersion }, kind: { const: kind }, metadata: { type: 'object' } },
    required: ['apiVersion', 'kind', 'metadata'],
  };
}

const out = join(import.meta.dirname, '..', 'test', 'kubernetes');
mkdirSync(out, { recursive: true });
const sorted = Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(
  join(out, 'schema-1.32.json'),
  `${JSON.stringify({ $comment: 'from @kubernetes/client-node 1.1.2 (OpenAPI v1.32.0) by scripts/kubernetes-schemas.mjs', $defs: kinds, definitions: sorted }, null, 2)}\n`,
);
console.log(`${Object.keys(kinds).length} kinds, ${Object.keys(sorted).length} definitions`);
