// Packs plain objects into google.protobuf.Any and back, checking every key against the proto:
// protobufjs's fromObject drops misspelt fields silently, and a dropped field is a silent bug.
import type protobuf from 'protobufjs';
import { JSON_FORM_TYPES, jsonFormToProto } from './json-wrappers.js';
import { lookupMessage } from './protos.js';
import { TYPE_PREFIX, messageNameOf } from './types.js';
import { ProtoShapeError } from './wire/json-form.js';

// Proxies decode with src/xds/wire (no protobufjs); these are the same functions.
export { ProtoShapeError } from './wire/json-form.js';
export { unpackAny } from './wire/decode.js';

export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

/** A typed config object as Envoy's JSON shows it: `{"@type": url, ...fields}`. */
export interface TypedObject {
  '@type': string;
  [field: string]: unknown;
}

/**
 * Checks `value` against the message type and returns it in the object form protobufjs encodes
 * (well-known types converted from their JSON form). Throws ProtoShapeError naming the first
 * key that the type does not have.
 */
export function toProtoForm(
  type: protobuf.Type,
  value: unknown,
  fieldPath = '',
): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtoShapeError(
      type.fullName,
      fieldPath,
      `expected an object, got ${describe(value)}`,
    );
  }
  const record = value as Record<string, unknown>;
  if (type.fullName === '.google.protobuf.Any') {
    const url = record['@type'];
    if (typeof url !== 'string') {
      throw new ProtoShapeError(type.fullName, fieldPath, 'an Any needs "@type"');
    }
    const inner = lookupMessage(messageNameOf(url));
    const { '@type': _ignored, ...rest } = record;
    return { '@type': url, ...toProtoForm(inner, rest, fieldPath) };
  }
  const out: Record<string, unknown> = {};
  for (const [key, fieldValue] of Object.entries(record)) {
    const field = type.fields[key];
    const here = fieldPath ? `${fieldPath}.${key}` : key;
    if (!field) throw new ProtoShapeError(type.fullName, here, 'no such field');
    if (fieldValue === undefined) continue;
    field.resolve();
    const fieldType = field.resolvedType;
    if (!fieldType || !('fields' in fieldType)) {
      out[key] = fieldValue; // scalar or enum
      continue;
    }
    const messageType = fieldType as protobuf.Type;
    const convert = (item: unknown, at: string): unknown =>
      JSON_FORM_TYPES.has(messageType.fullName)
        ? jsonFormToProto(messageType.fullName, item)
        : toProtoForm(messageType, item, at);
    if (field.map) {
      const map: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fieldValue as Record<string, unknown>)) {
        map[k] = convert(v, `${here}[${k}]`);
      }
      out[key] = map;
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) {
        throw new ProtoShapeError(
          type.fullName,
          here,
          `expected a list, got ${describe(fieldValue)}`,
        );
      }
      out[key] = fieldValue.map((item, i) => convert(item, `${here}[${i}]`));
    } else {
      out[key] = convert(fieldValue, here);
    }
  }
  return out;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  return value === null ? 'null' : typeof value;
}

/** Encodes `object` as the message named by `typeUrl`, after checking its shape. */
export function packAny(typeUrl: string, object: object): AnyMessage {
  const type = lookupMessage(messageNameOf(typeUrl));
  const message = type.fromObject(toProtoForm(type, object));
  return { type_url: typeUrl, value: Buffer.from(type.encode(message).finish()) };
}

/** Wraps an object for a nested Any field (`typed_config`), checked when the outer is packed. */
export function typed(messageName: string, fields: Record<string, unknown>): TypedObject {
  return { '@type': TYPE_PREFIX + messageName, ...fields };
}
