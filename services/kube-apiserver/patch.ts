/**
 * PATCH bodies: JSON merge patch (RFC 7386; strategic merge patch is treated as a merge patch, which
 * differs only for lists that Kubernetes merges by key) and JSON patch (RFC 6902, npm's fast-json-patch).
 */
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { KubeStatusError } from './status.js';

const { applyPatch, JsonPatchError } = fastJsonPatch;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** What a failed JSON patch tells the client (Kubernetes answers 400, a failed `test` 422). */
const JSON_PATCH_ERRORS: Readonly<Record<string, string>> = {
  SEQUENCE_NOT_AN_ARRAY: 'the body must be an array of operations',
  OPERATION_PATH_UNRESOLVABLE: 'path does not exist',
  OPERATION_FROM_UNRESOLVABLE: 'from does not exist',
  OPERATION_PATH_CANNOT_ADD: 'path does not exist',
  OPERATION_PATH_ILLEGAL_ARRAY_INDEX: 'bad array index',
  OPERATION_VALUE_OUT_OF_BOUNDS: 'bad array index',
};

/** RFC 6902 with npm's `fast-json-patch` (validated; the target is not mutated). */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw KubeStatusError.badRequest('json patch: the body must be an array of operations');
  try {
    return applyPatch(structuredClone(target), ops as Operation[], true, true).newDocument;
  } catch (err) {
    if (!(err instanceof JsonPatchError)) throw err;
    const where = `operation ${err.index ?? 0}${err.operation?.path === undefined ? '' : ` at ${String(err.operation.path)}`}`;
    if (err.name === 'TEST_OPERATION_FAILED')
      throw new KubeStatusError('Invalid', `json patch: test failed (${where})`);
    const reason = JSON_PATCH_ERRORS[err.name] ?? err.message.split('\n')[0] ?? err.name;
    throw KubeStatusError.badRequest(`json patch: ${where}: ${reason}`);
  }
}
