// xDS messages to and from the JSON form Envoy's config dump shows: snake_case field names as in
// the protos, enums by name, 64-bit integers as numbers, bytes as base64, only the fields that
// are on the wire, and proto3 JSON for the well-known types (an Any as {"@type": url, ...its
// fields}, a Duration as "1.5s", a wrapper as its bare value, a Struct as plain JSON).
//
// It is the form protobufjs's toObject gives with the options skiff always used (enums: String,
// longs: Number, bytes: String, json: true, src/xds/json-wrappers.ts registered), so proxies get
// the same objects without loading protobufjs; src/xds/wire/json-form.test.ts checks the two
// agree on every resource the control plane generates. On malformed bytes it is stricter: a
// sub-message cannot reach past its own length, nesting stops at 100 levels, a known field with
// the wrong wire type is refused, and all of it throws a WireError.
import { asBuffer, Reader, WireError, WireType } from './reader.js';
import type { FieldSpec, MessageSchema } from './schema.js';
import { messageSchema } from './schema.js';
import { Writer } from './writer.js';
import { formatProtoDuration, parseProtoDuration } from '../duration.js';

export { WireError };

/** A value that does not fit its message type: names the type and the field's path. */
export class ProtoShapeError extends Error {
  readonly code = 'ERR_PROTO_SHAPE';
  constructor(
    readonly messageType: string,
    readonly fieldPath: string,
    detail: string,
  ) {
    super(`${messageType}: ${fieldPath || '(root)'}: ${detail}`);
  }
}

const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Scalar kinds and the wire type each is written with. */
const WIRE_TYPE_OF: Readonly<Record<string, number>> = {
  double: WireType.Fixed64,
  float: WireType.Fixed32,
  int64: WireType.Varint,
  uint64: WireType.Varint,
  int32: WireType.Varint,
  fixed64: WireType.Fixed64,
  fixed32: WireType.Fixed32,
  bool: WireType.Varint,
  string: WireType.LengthDelimited,
  bytes: WireType.LengthDelimited,
  uint32: WireType.Varint,
  sfixed32: WireType.Fixed32,
  sfixed64: WireType.Fixed64,
  sint32: WireType.Varint,
  sint64: WireType.Varint,
  enum: WireType.Varint,
  message: WireType.LengthDelimited,
};

/** google.protobuf wrapper messages whose JSON form is their bare value, with its default. */
const WRAPPERS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ['google.protobuf.DoubleValue', 0],
  ['google.protobuf.FloatValue', 0],
  ['google.protobuf.Int64Value', 0],
  ['google.protobuf.UInt64Value', 0],
  ['google.protobuf.Int32Value', 0],
  ['google.protobuf.UInt32Value', 0],
  ['google.protobuf.BoolValue', false],
  ['google.protobuf.StringValue', ''],
]);

// ---- decoding ----

/** Decodes a message (a resource, or a Node) into its JSON form. */
export function decodeMessage(schema: MessageSchema, bytes: Uint8Array): Record<string, unknown> {
  return readMessage(schema, new Reader(asBuffer(bytes))) as Record<string, unknown>;
}

/** Decodes an Any's value as the message its type URL names, into its JSON form. */
export function unpackAny(any: { type_url: string; value: Uint8Array }): Record<string, unknown> {
  const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  const schema = messageSchema(name);
  if (!schema) throw new WireError(`no message type ${name} (type URL ${any.type_url})`);
  return decodeMessage(schema, any.value);
}

/** A message in its JSON form; `r` is bounded to the message. */
function readMessage(schema: MessageSchema, r: Reader): unknown {
  const name = schema.fullName;
  if (name.startsWith('google.protobuf.')) {
    if (name === 'google.protobuf.Any') return readAny(r);
    if (name === 'google.protobuf.Duration') return readDuration(r);
    if (name === 'google.protobuf.Struct') return readStruct(r);
    if (WRAPPERS.has(name)) {
      const fields = readFields(schema, r);
      return 'value' in fields ? fields['value'] : WRAPPERS.get(name);
    }
  }
  return readFields(schema, r);
}

function readFields(schema: MessageSchema, r: Reader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  while (r.pos < r.end) {
    const tag = r.uint32();
    const wireType = tag & 7;
    const field = schema.byId.get(tag >>> 3);
    if (!field) {
      r.skip(wireType);
      continue;
    }
    if (field.mapKey !== undefined) {
      readMapEntry(schema, field, r, (out[field.name] ??= {}) as Record<string, unknown>);
    } else if (!field.repeated) {
      out[field.name] = readValue(schema, field, r, wireType);
    } else if (wireType === WireType.LengthDelimited && isPacked(field)) {
      const run = r.sub();
      if (run.pos < run.end) {
        const list = (out[field.name] ??= []) as unknown[];
        const elementType = WIRE_TYPE_OF[field.kind] as number;
        while (run.pos < run.end) list.push(readValue(schema, field, run, elementType));
      }
    } else {
      ((out[field.name] ??= []) as unknown[]).push(readValue(schema, field, r, wireType));
    }
  }
  return out;
}

function isPacked(field: FieldSpec): boolean {
  const k = field.kind;
  return k !== 'string' && k !== 'bytes' && k !== 'message';
}

function readValue(schema: MessageSchema, field: FieldSpec, r: Reader, wireType: number): unknown {
  const expected = WIRE_TYPE_OF[field.kind];
  if (wireType !== expected) {
    throw new WireError(
      `${schema.fullName}.${field.name}: wire type ${wireType}, expected ${String(expected)}`,
    );
  }
  if (field.kind === 'message') return readMessage(field.message as MessageSchema, r.sub());
  if (field.kind === 'enum') {
    const n = r.uint32() | 0;
    return field.enumType?.names.get(n) ?? n;
  }
  return readScalar(field.kind, r);
}

function readScalar(kind: string, r: Reader): unknown {
  switch (kind) {
    case 'string':
      return r.string();
    case 'bool':
      r.varint64();
      return r.lo !== 0 || r.hi !== 0;
    case 'uint32':
      return r.uint32();
    case 'int32':
      return r.uint32() | 0;
    case 'sint32': {
      const n = r.uint32();
      return (n >>> 1) ^ -(n & 1);
    }
    case 'int64':
      r.varint64();
      return r.long(false);
    case 'uint64':
      r.varint64();
      return r.long(true);
    case 'sint64':
      r.varint64();
      return r.zigzag64();
    case 'double':
      return jsonNumber(r.double());
    case 'float':
      return jsonNumber(r.float());
    case 'fixed32':
      return r.fixed32();
    case 'sfixed32':
      return r.sfixed32();
    case 'fixed64':
      r.fixed64();
      return r.long(true);
    case 'sfixed64':
      r.fixed64();
      return r.long(false);
    case 'bytes':
      return r.bytes().toString('base64');
    default:
      throw new WireError(`unknown field type ${kind}`);
  }
}

/** proto3 JSON writes NaN and the infinities as strings. */
function jsonNumber(n: number): number | string {
  return Number.isFinite(n) ? n : String(n);
}

function readMapEntry(
  schema: MessageSchema,
  field: FieldSpec,
  r: Reader,
  into: Record<string, unknown>,
): void {
  const entry = r.sub();
  let key: unknown = field.mapKey === 'string' ? '' : field.mapKey === 'bool' ? false : 0;
  let value: unknown;
  while (entry.pos < entry.end) {
    const tag = entry.uint32();
    if (tag >>> 3 === 1) key = readScalar(field.mapKey as string, entry);
    else if (tag >>> 3 === 2) value = readValue(schema, field, entry, tag & 7);
    else entry.skip(tag & 7);
  }
  setKey(into, String(key), value ?? defaultOf(field));
}

/** Sets a key that came off the wire as an own property, `__proto__` included. */
function setKey(object: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(object, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    object[key] = value;
  }
}

function defaultOf(field: FieldSpec): unknown {
  switch (field.kind) {
    case 'message': // the message with no fields, in its JSON form ("0s" for a Duration)
      return readMessage(field.message as MessageSchema, new Reader(Buffer.alloc(0)));
    case 'enum':
      return field.enumType?.names.get(0) ?? 0;
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function readAny(r: Reader): Record<string, unknown> {
  let typeUrl: string | undefined;
  let value: Buffer | undefined;
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WireType.LengthDelimited)) typeUrl = r.string();
    else if (tag === ((2 << 3) | WireType.LengthDelimited)) value = r.bytes();
    else r.skip(tag & 7);
  }
  if (typeUrl) {
    const slash = typeUrl.lastIndexOf('/');
    const name = typeUrl.slice(slash + 1);
    const inner = messageSchema(name);
    if (inner) {
      const bytes = value ?? Buffer.alloc(0);
      const object = readMessage(inner, new Reader(bytes, 0, bytes.length, r.depth + 1));
      if (object === null || typeof object !== 'object') return object as Record<string, unknown>;
      (object as Record<string, unknown>)['@type'] =
        (slash >= 0 ? typeUrl.slice(0, slash + 1) : TYPE_URL_PREFIX) + name;
      return object as Record<string, unknown>;
    }
  }
  // A type this build does not know: the Any as it is.
  const out: Record<string, unknown> = {};
  if (typeUrl !== undefined) out['type_url'] = typeUrl;
  if (value !== undefined) out['value'] = value.toString('base64');
  return out;
}

function readDuration(r: Reader): string {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | WireType.Varint)) {
      r.varint64();
      seconds = r.long(false);
    } else if (tag === ((2 << 3) | WireType.Varint)) nanos = r.uint32() | 0;
    else r.skip(tag & 7);
  }
  return formatProtoDuration(seconds, nanos);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** google.protobuf.Struct { map<string, Value> fields = 1; } as a JSON object. */
function readStruct(r: Reader): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag !== ((1 << 3) | WireType.LengthDelimited)) {
      r.skip(tag & 7);
      continue;
    }
    const entry = r.sub();
    let key = '';
    let value: Json = null;
    while (entry.pos < entry.end) {
      const t = entry.uint32();
      if (t === ((1 << 3) | WireType.LengthDelimited)) key = entry.string();
      else if (t === ((2 << 3) | WireType.LengthDelimited)) value = readJsonValue(entry.sub());
      else entry.skip(t & 7);
    }
    setKey(out, key, value);
  }
  return out;
}

/**
 * google.protobuf.Value as JSON. Its `kind` is a oneof; were several on the wire, a struct wins,
 * then a list, a string, a number and a bool, as src/xds/json-wrappers.ts reads them.
 */
function readJsonValue(r: Reader): Json {
  let struct: { [key: string]: Json } | undefined;
  let list: Json[] | undefined;
  let str: string | undefined;
  let num: number | undefined;
  let bool: boolean | undefined;
  while (r.pos < r.end) {
    const tag = r.uint32();
    switch (tag) {
      case (2 << 3) | WireType.Fixed64:
        num = r.double();
        break;
      case (3 << 3) | WireType.LengthDelimited:
        str = r.string();
        break;
      case (4 << 3) | WireType.Varint:
        r.varint64();
        bool = r.lo !== 0 || r.hi !== 0;
        break;
      case (5 << 3) | WireType.LengthDelimited:
        struct = readStruct(r.sub());
        break;
      case (6 << 3) | WireType.LengthDelimited:
        list = readJsonList(r.sub());
        break;
      default:
        r.skip(tag & 7); // null_value, or a field this reader does not know
    }
  }
  if (struct) return struct;
  if (list) return list;
  if (str !== undefined) return str;
  if (num !== undefined) return num;
  if (bool !== undefined) return bool;
  return null;
}

/** google.protobuf.ListValue { repeated Value values = 1; } as a JSON array. */
function readJsonList(r: Reader): Json[] {
  const out: Json[] = [];
  while (r.pos < r.end) {
    const tag = r.uint32();
    if (tag !== ((1 << 3) | WireType.LengthDelimited)) r.skip(tag & 7);
    else out.push(readJsonValue(r.sub()));
  }
  return out;
}

// ---- encoding ----

/** Encodes a message from its JSON form, checking every key against the schema. */
export function encodeMessage(schema: MessageSchema, value: unknown): Buffer {
  const w = new Writer();
  writeMessage(schema, value, w, '');
  return w.finish();
}

function writeMessage(schema: MessageSchema, value: unknown, w: Writer, path: string): void {
  switch (schema.fullName) {
    case 'google.protobuf.Any':
      return writeAny(asRecord(schema, value, path), w, path);
    case 'google.protobuf.Duration': {
      const d = typeof value === 'string' ? parseProtoDuration(value) : value;
      return writeFields(schema, asRecord(schema, d, path), w, path);
    }
    case 'google.protobuf.Struct':
      return writeStruct(asRecord(schema, value, path) as { [key: string]: Json }, w);
    case 'google.protobuf.Value':
      return writeJsonValue(value as Json, w);
    case 'google.protobuf.ListValue':
      return writeJsonList(value as Json[], w);
  }
  if (WRAPPERS.has(schema.fullName) && (value === null || typeof value !== 'object')) {
    return writeFields(schema, { value }, w, path);
  }
  writeFields(schema, asRecord(schema, value, path), w, path);
}

function asRecord(schema: MessageSchema, value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value;
    throw new ProtoShapeError(schema.fullName, path, `expected an object, got ${got}`);
  }
  return value as Record<string, unknown>;
}

function writeFields(
  schema: MessageSchema,
  record: Record<string, unknown>,
  w: Writer,
  path: string,
): void {
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (value === undefined || value === null) continue;
    const field = schema.byName.get(key);
    const here = path ? `${path}.${key}` : key;
    if (!field) throw new ProtoShapeError(schema.fullName, here, 'no such field');
    if (field.mapKey !== undefined) {
      for (const [k, v] of Object.entries(asRecord(schema, value, here))) {
        w.message(field.id, (ew) => {
          writeValue(schema, field.mapKey as string, undefined, 1, k, ew, `${here}[${k}]`);
          writeValue(schema, field.kind, field, 2, v, ew, `${here}[${k}]`);
        });
      }
    } else if (field.repeated) {
      if (!Array.isArray(value)) {
        throw new ProtoShapeError(schema.fullName, here, 'expected a list');
      }
      if (isPacked(field)) {
        if (value.length === 0) continue;
        w.message(field.id, (pw) => {
          for (const item of value) writeScalar(schema, field, item, pw, here);
        });
      } else {
        value.forEach((item, i) =>
          writeValue(schema, field.kind, field, field.id, item, w, `${here}[${i}]`),
        );
      }
    } else {
      writeValue(schema, field.kind, field, field.id, value, w, here);
    }
  }
}

function writeValue(
  schema: MessageSchema,
  kind: string,
  field: FieldSpec | undefined,
  id: number,
  value: unknown,
  w: Writer,
  path: string,
): void {
  if (kind === 'message') {
    const inner = field?.message as MessageSchema;
    w.message(id, (mw) => writeMessage(inner, value, mw, path));
    return;
  }
  w.tag(id, WIRE_TYPE_OF[kind] as number);
  writeScalar(schema, field ?? { kind, enumType: undefined }, value, w, path, kind);
}

function writeScalar(
  schema: MessageSchema,
  field: Pick<FieldSpec, 'kind' | 'enumType'>,
  value: unknown,
  w: Writer,
  path: string,
  kind = field.kind,
): void {
  if (kind === 'enum') {
    const n = typeof value === 'number' ? value : field.enumType?.numbers.get(String(value));
    if (n === undefined) {
      throw new ProtoShapeError(schema.fullName, path, `no value ${String(value)} in its enum`);
    }
    w.int32(n);
    return;
  }
  if (kind === 'string') {
    w.string(String(value));
    return;
  }
  if (kind === 'bytes') {
    w.bytes(typeof value === 'string' ? Buffer.from(value, 'base64') : (value as Uint8Array));
    return;
  }
  if (kind === 'bool') {
    w.bool(Boolean(value)); // as protobufjs's fromObject
    return;
  }
  const n = Number(value);
  if (Number.isNaN(n) && kind !== 'double' && kind !== 'float') {
    throw new ProtoShapeError(schema.fullName, path, `expected a number, got ${String(value)}`);
  }
  switch (kind) {
    case 'double':
      w.double(n);
      return;
    case 'float':
      w.float(n);
      return;
    case 'int32':
      w.int32(n);
      return;
    case 'uint32':
      w.uint32(n);
      return;
    case 'sint32':
      w.sint32(n);
      return;
    case 'int64':
    case 'uint64':
      w.int64(n);
      return;
    case 'sint64':
      w.sint64(n);
      return;
    case 'fixed32':
      w.fixed32(n);
      return;
    case 'sfixed32':
      w.sfixed32(n);
      return;
    case 'fixed64':
    case 'sfixed64':
      w.fixed64(n);
      return;
    default:
      throw new ProtoShapeError(schema.fullName, path, `unknown field type ${kind}`);
  }
}

function writeAny(record: Record<string, unknown>, w: Writer, path: string): void {
  const url = record['@type'];
  if (typeof url !== 'string') {
    // Already packed: {type_url, value}.
    if (typeof record['type_url'] === 'string') {
      w.tag(1, WireType.LengthDelimited).string(record['type_url']);
    }
    const value = record['value'];
    if (value !== undefined) {
      // As the decoder gives an Any of an unknown type: its bytes in base64.
      const bytes = typeof value === 'string' ? Buffer.from(value, 'base64') : value;
      w.tag(2, WireType.LengthDelimited).bytes(bytes as Uint8Array);
    }
    return;
  }
  const name = url.slice(url.lastIndexOf('/') + 1);
  const inner = messageSchema(name);
  if (!inner) throw new ProtoShapeError('google.protobuf.Any', path, `no message type ${name}`);
  const { '@type': _type, ...fields } = record;
  // As protobufjs writes it: no leading dot, and a `/` before the name at least.
  const typeUrl = url.startsWith('.') ? url.slice(1) : url;
  w.tag(1, WireType.LengthDelimited).string(typeUrl.includes('/') ? typeUrl : `/${typeUrl}`);
  w.message(2, (mw) => writeMessage(inner, fields, mw, path));
}

function writeStruct(object: { [key: string]: Json }, w: Writer): void {
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) continue;
    w.message(1, (ew) => {
      ew.tag(1, WireType.LengthDelimited).string(key);
      ew.message(2, (vw) => writeJsonValue(value, vw));
    });
  }
}

function writeJsonValue(value: Json, w: Writer): void {
  if (value === null || value === undefined) w.tag(1, WireType.Varint).uint32(0);
  else if (typeof value === 'number') w.tag(2, WireType.Fixed64).double(value);
  else if (typeof value === 'string') w.tag(3, WireType.LengthDelimited).string(value);
  else if (typeof value === 'boolean') w.tag(4, WireType.Varint).bool(value);
  else if (Array.isArray(value)) w.message(6, (lw) => writeJsonList(value, lw));
  else w.message(5, (sw) => writeStruct(value, sw));
}

function writeJsonList(values: Json[], w: Writer): void {
  for (const v of values) w.message(1, (vw) => writeJsonValue(v, vw));
}
