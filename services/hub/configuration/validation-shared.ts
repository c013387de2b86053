/**
 * What the configuration request validators (validation-extension.ts, validation-flux.ts,
 * validation-linker.ts) share: common field schemas, parsing into ARM-shaped errors, the `properties`
 * envelope, read-only and PATCH filtering, and resource-name checks. Errors name the offending field in
 * `target` and the message, as ARM does. Catalog checks (does the type, train, version exist) need the
 * catalog and happen in lifecycle.ts.
 */
import { z } from 'zod';
import { ArcError, ERROR_CODES, isGuid, type ErrorCode } from '../../../contract/index.js';

const K8S_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
export const k8sName = z.string().max(253).regex(K8S_NAME, 'must be a lower-case RFC 1123 name');
export const settings = z.record(z.string().min(1).max(256), z.string().max(64 * 1024));
export const nullableSettings = z.record(
  z.string().min(1).max(256),
  z
    .string()
    .max(64 * 1024)
    .nullable(),
);
export const seconds = z
  .int()
  .min(1)
  .max(35 * 86_400);

function fail(error: z.ZodError, prefix: string): never {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const target = [prefix, path].filter((p) => p !== '').join('.');
  throw new ArcError(
    ERROR_CODES.InvalidParameter,
    `Invalid value for '${target || '(body)'}': ${issue?.message ?? 'invalid'}`,
    { status: 400, target: target || undefined },
  );
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, prefix = ''): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) fail(parsed.error, prefix);
  return parsed.data;
}

export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ArcError(ERROR_CODES.InvalidRequestContent, 'The request content must be a JSON object.', {
      status: 400,
    });
  return body as Record<string, unknown>;
}

export function propertiesOf(body: unknown, required: boolean): Record<string, unknown> {
  const raw = requireObject(body);
  const props = raw.properties;
  if (props === undefined || props === null) {
    if (required)
      throw new ArcError(ERROR_CODES.InvalidParameter, "Invalid value for 'properties': required", {
        status: 400,
        target: 'properties',
      });
    return {};
  }
  if (typeof props !== 'object' || Array.isArray(props))
    throw new ArcError(ERROR_CODES.InvalidParameter, "Invalid value for 'properties': must be an object", {
      status: 400,
      target: 'properties',
    });
  return props as Record<string, unknown>;
}

/** Drops read-only and null-valued properties: clients often PUT back a GET body. */
export function writable(
  props: Record<string, unknown>,
  readOnly: ReadonlySet<string>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) if (!readOnly.has(k) && v !== null) out[k] = v;
  return out;
}

// ---- names ----

export const EXTENSION_NAME = K8S_NAME;
export const LINKER_NAME = /^[A-Za-z0-9._-]{1,128}$/;
export const SOURCE_CONTROL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkName(kind: string, name: string, pattern: RegExp, max: number, rule: string): void {
  if (name.length > max || !pattern.test(name))
    throw new ArcError(
      ERROR_CODES.InvalidResourceName,
      `The ${kind} name '${name}' is invalid. It must be ${rule}.`,
      { status: 400, target: 'name' },
    );
}

/**
 * A PATCH body's properties, refusing anything outside `properties` and any property not in
 * `patchable`; `hint` ends the message (which properties can be patched).
 */
export function patchProperties(
  body: unknown,
  patchable: ReadonlySet<string>,
  hint = '',
): Record<string, unknown> {
  const raw = requireObject(body);
  for (const k of Object.keys(raw))
    if (k !== 'properties')
      throw new ArcError(
        ERROR_CODES.PropertyChangeNotAllowed,
        `Changing property '${k}' is not allowed by PATCH.`,
        {
          status: 400,
          target: k,
        },
      );
  const props = propertiesOf(body, false);
  for (const k of Object.keys(props))
    if (!patchable.has(k))
      throw new ArcError(
        ERROR_CODES.PropertyChangeNotAllowed,
        `Changing property 'properties.${k}' is not allowed by PATCH${hint === '' ? '.' : hint}`,
        { status: 400, target: `properties.${k}` },
      );
  return props;
}

/** A Microsoft.Authorization name that must be a GUID (an assignment's, a role's), lower-cased; ARM's words. */
export function guidName(
  value: string,
  code: ErrorCode,
  what: 'role assignment' | 'role definition',
): string {
  if (!isGuid(value))
    throw new ArcError(code, `The ${what} ID '${value}' is not valid. The ${what} ID must be a GUID.`, {
      status: 400,
    });
  return value.toLowerCase();
}
