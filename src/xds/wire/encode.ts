// Encoding: the JSON form (json-form.ts) into protobuf bytes, every key checked against the
// schema (a misspelt field is a ProtoShapeError naming its path, never silently dropped).
import { parseProtoDuration } from '../duration.js';
import type { Json } from './json-form.js';
import { ProtoShapeError, WIRE_TYPE_OF, WRAPPERS, isPacked } from './json-form.js';
import { WireType } from './reader.js';
import type { FieldSpec, MessageSchema } from './schema.js';
import { messageSchema } from './schema.js';
import { Writer } from './writer.js';

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
