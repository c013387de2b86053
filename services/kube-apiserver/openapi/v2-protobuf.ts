/**
 * Why this file: `/openapi/v2` in the form client-go asks for first and kubectl, helm and other
 * discovery clients decode: protobuf of gnostic's `openapi.v2.Document` (OpenAPIv2.proto, github.com/
 * google/gnostic), content type `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`. The
 * wire encoding is protobufjs's Writer; the field numbers below are the proto's. What is encoded:
 * `swagger`, `info` and the `definitions` (the schemas clients read; paths stay in the JSON form), with
 * every schema's vendor extensions (group/version/kind, patch strategies, list types) as gnostic carries
 * them: `NamedAny{name, Any{yaml}}`. Pure.
 */
import protobuf from 'protobufjs/minimal.js';
import { stringify } from 'yaml';

const { Writer } = protobuf;
type W = protobuf.Writer;

/** What client-go asks for (Accept). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What the apiserver answers with: the same with `.` for `@`, which is no media-type character. */
export const OPENAPI_V2_PROTOBUF_REPLY = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Wire type 2 (length-delimited) tag of field `n`. */
const field = (n: number): number => (n << 3) | 2;

function str(w: W, n: number, value: unknown): void {
  if (typeof value === 'string' && value !== '') w.uint32(field(n)).string(value);
}

function message(w: W, n: number, write: (w: W) => void): void {
  write(w.uint32(field(n)).fork());
  w.ldelim();
}

/** `NamedAny{name = 1, value = 2: Any{yaml = 2}}`, as gnostic keeps `x-` extensions. */
function vendorExtension(w: W, n: number, name: string, value: unknown): void {
  message(w, n, (m) => {
    str(m, 1, name);
    message(m, 2, (any) => str(any, 2, stringify(value).trimEnd()));
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `Schema` (fields: _ref 1, format 2, description 4, required 19, additionalProperties 21, type 22, items 23, properties 25, vendor_extension 31). */
function schema(w: W, s: Record<string, unknown>): void {
  str(w, 1, s['$ref']);
  str(w, 2, s['format']);
  str(w, 4, s['description']);
  if (Array.isArray(s['required'])) for (const r of s['required']) str(w, 19, r);
  const additional = s['additionalProperties'];
  if (isObject(additional)) message(w, 21, (m) => message(m, 1, (inner) => schema(inner, additional)));
  if (typeof s['type'] === 'string') {
    const type = s['type'];
    message(w, 22, (m) => str(m, 1, type));
  }
  const items = s['items'];
  if (isObject(items)) message(w, 23, (m) => message(m, 1, (inner) => schema(inner, items)));
  namedSchemas(w, 25, s['properties']);
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-')) vendorExtension(w, 31, k, v);
}

/** A map of schemas (`Properties`, `Definitions`): field 1 repeated `NamedSchema{name = 1, value = 2}`. */
function namedSchemas(w: W, n: number, map: unknown): void {
  if (!isObject(map)) return;
  message(w, n, (m) => {
    for (const [name, sub] of Object.entries(map))
      if (isObject(sub))
        message(m, 1, (named) => {
          str(named, 1, name);
          message(named, 2, (inner) => schema(inner, sub));
        });
  });
}

/** The protobuf of a Swagger 2.0 document (as openApiV2() renders it): `Document` fields 1, 2, 9. */
export function encodeOpenApiV2(doc: Record<string, unknown>): Buffer {
  const w = Writer.create();
  str(w, 1, doc['swagger']);
  const info = doc['info'];
  if (isObject(info))
    message(w, 2, (m) => {
      str(m, 1, info['title']);
      str(m, 2, info['version']);
    });
  namedSchemas(w, 9, doc['definitions']);
  return Buffer.from(w.finish());
}
