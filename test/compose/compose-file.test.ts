/**
 * Acceptance 3: docker-compose.yml is valid for Compose v1 (`docker-compose config -q`), for v2
 * (`docker compose config -q`, when the plugin is installed) and against the Compose Specification
 * JSON schema, read from the installed docker-compose package (not copied into this repository).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { NODE_SERVICES } from '../../fleet/index.js';
import { REPO_ROOT, ensureTools, run } from './docker.js';

const COMPOSE_FILE = join(REPO_ROOT, 'docker-compose.yml');

/** compose_spec.json of the installed docker-compose (Debian: /usr/lib/python3/dist-packages/compose/config/). */
function composeSpecSchemaPath(): string {
  const found = spawnSync('python3', ['-c', 'import compose, os; print(os.path.dirname(compose.__file__))'], {
    encoding: 'utf8',
  });
  const candidates = [
    ...(found.status === 0 ? [join(found.stdout.trim(), 'config', 'compose_spec.json')] : []),
    '/usr/lib/python3/dist-packages/compose/config/compose_spec.json',
  ];
  const path = candidates.find((p) => existsSync(p));
  if (!path)
    throw new Error(
      `the Compose Specification schema (compose_spec.json of docker-compose) is not installed; apt-get install -y docker-compose (looked in ${candidates.join(', ')})`,
    );
  return path;
}

/** Drops draft-04 `id` keywords (not names of properties, which are data): Ajv 8 refuses them. */
function withoutDraft4Ids(node: unknown, keysAreNames = false): unknown {
  if (Array.isArray(node)) return node.map((n) => withoutDraft4Ids(n));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!keysAreNames && key === 'id' && typeof value === 'string') continue;
    const namesBelow =
      !keysAreNames && ['properties', 'patternProperties', 'definitions', '$defs'].includes(key);
    out[key] = withoutDraft4Ids(value, namesBelow);
  }
  return out;
}

/**
 * The schema as a validator. Its `$schema` is draft 2019-09 written with a trailing `#`, which Ajv does
 * not recognise as its 2019-09 meta-schema (Ajv2019 applies 2019-09 anyway, so the key is dropped);
 * its `id`s are draft-04 leftovers that only label subschemas (every `$ref` is `#/definitions/...`);
 * formats such as "duration" are compose's own, not checked.
 */
function composeSpecValidator(schemaPath: string) {
  const raw = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  const { $schema: _dropped, ...schema } = withoutDraft4Ids(raw) as Record<string, unknown>;
  return new Ajv2019({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
}

/** The file as compose reads it: anchors and merge keys resolved. */
const composeDocument = (): unknown => parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true });

describe('docker-compose.yml', () => {
  beforeAll(async () => {
    await ensureTools();
  }, 600_000);

  it('validates against the Compose Specification JSON schema', () => {
    const schemaPath = composeSpecSchemaPath();
    const validate = composeSpecValidator(schemaPath);
    const ok = validate(composeDocument());
    console.log(`compose: schema ${schemaPath}: ${ok ? 'valid' : 'INVALID'}`);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check is not vacuous: an unknown service key fails it', () => {
    const validate = composeSpecValidator(composeSpecSchemaPath());
    const broken = composeDocument() as { services: Record<string, Record<string, unknown>> };
    (broken.services.hub as Record<string, unknown>).restart_policy = 'always';
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.[0]?.params).toEqual({ additionalProperty: 'restart_policy' });
  });

  it('passes `docker-compose config -q` (Compose v1)', async () => {
    const res = await run('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], { allowFail: true });
    expect(res.stderr.trim()).toBe('');
    expect(res.code).toBe(0);
    const profiles = await run('docker-compose', [
      '-f',
      COMPOSE_FILE,
      '--profile',
      'grafana',
      '--profile',
      'tracing',
      'config',
      '--services',
    ]);
    // Every Node service of the component table, plus the broker's three nodes, the hub's front door
    // (its replicas' one published port), the one-shots `broker-trust` (its accounts), `hub-trust`
    // (the fleet CA and token issuer) and `fleet` (init), and the observability profiles.
    expect(profiles.stdout.split('\n').filter(Boolean).sort()).toEqual(
      [
        ...NODE_SERVICES,
        ...['nats-0', 'nats-1', 'nats-2', 'hub-front', 'broker-trust', 'hub-trust', 'prometheus', 'fleet'],
        ...['grafana', 'jaeger'],
      ].sort(),
    );
  });

  const composeV2 = spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!composeV2)(
    `passes \`docker compose config -q\` (Compose v2)${composeV2 ? '' : ' [SKIPPED: the docker compose v2 plugin is not installed here]'}`,
    async () => {
      const res = await run('docker', ['compose', '-f', COMPOSE_FILE, 'config', '-q'], { allowFail: true });
      expect(res.stderr.trim()).toBe('');
      expect(res.code).toBe(0);
    },
  );
});
