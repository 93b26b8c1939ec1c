// Decoding: protobuf bytes into the JSON form (json-form.ts). Every sub-message is read by a
// Reader bounded to its own length, so no length it claims reaches its siblings.
import { formatProtoDuration } from '../duration.js';
import type { Json } from './json-form.js';
import { TYPE_URL_PREFIX, WIRE_TYPE_OF, WRAPPERS, isPacked } from './json-form.js';
import { asBuffer, Reader, WireError, WireType } from './reader.js';
import type { FieldSpec, MessageSchema } from './schema.js';
import { messageSchema } from './schema.js';

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
 * then a list, a string, a number and a bool, as protobufjs's Struct wrapper did.
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
