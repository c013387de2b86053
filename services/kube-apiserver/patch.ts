/**
 * PATCH bodies: JSON merge patch (RFC 7386; strategic merge patch is treated as a merge patch, which
 * differs only for lists that Kubernetes merges by key) and JSON patch (RFC 6902).
 */
import { KubeStatusError } from './status.js';

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

function decodePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw KubeStatusError.badRequest(`json patch: "${pointer}" is not a JSON pointer`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container and last token of a pointer inside `doc` (which is mutated by the caller). */
function locate(doc: unknown, pointer: string): { parent: Record<string, unknown> | unknown[]; key: string } {
  const tokens = decodePointer(pointer);
  const key = tokens.pop();
  if (key === undefined)
    throw KubeStatusError.badRequest('json patch: the whole document cannot be the target');
  let cur: unknown = doc;
  for (const t of tokens) {
    cur = Array.isArray(cur) ? cur[Number(t)] : isRecord(cur) ? cur[t] : undefined;
    if (cur === undefined) throw KubeStatusError.badRequest(`json patch: path ${pointer} does not exist`);
  }
  if (!Array.isArray(cur) && !isRecord(cur))
    throw KubeStatusError.badRequest(`json patch: path ${pointer} does not exist`);
  return { parent: cur, key };
}

function getAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const t of decodePointer(pointer))
    cur = Array.isArray(cur) ? cur[Number(t)] : isRecord(cur) ? cur[t] : undefined;
  return cur;
}

function remove(doc: unknown, pointer: string): unknown {
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length)
      throw KubeStatusError.badRequest(`json patch: path ${pointer} does not exist`);
    return parent.splice(i, 1)[0];
  }
  if (!(key in parent)) throw KubeStatusError.badRequest(`json patch: path ${pointer} does not exist`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function add(doc: unknown, pointer: string, value: unknown, replace: boolean): void {
  const { parent, key } = locate(doc, pointer);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length)
      throw KubeStatusError.badRequest(`json patch: bad index in ${pointer}`);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !(key in parent))
      throw KubeStatusError.badRequest(`json patch: path ${pointer} does not exist`);
    parent[key] = value;
  }
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw KubeStatusError.badRequest('json patch: the body must be an array of operations');
  const doc: unknown = structuredClone(target);
  for (const [i, op] of ops.entries()) {
    if (!isRecord(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw KubeStatusError.badRequest(`json patch: operation ${i} needs string fields op and path`);
    switch (op.op) {
      case 'add':
        add(doc, op.path, op.value, false);
        break;
      case 'replace':
        add(doc, op.path, op.value, true);
        break;
      case 'remove':
        remove(doc, op.path);
        break;
      case 'move':
      case 'copy': {
        if (typeof op.from !== 'string')
          throw KubeStatusError.badRequest(`json patch: operation ${i} needs from`);
        const v = op.op === 'move' ? remove(doc, op.from) : structuredClone(getAt(doc, op.from));
        add(doc, op.path, v, false);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value))
          throw new KubeStatusError('Invalid', `json patch: test failed at ${op.path}`);
        break;
      default:
        throw KubeStatusError.badRequest(`json patch: unknown operation "${op.op}"`);
    }
  }
  return doc;
}
