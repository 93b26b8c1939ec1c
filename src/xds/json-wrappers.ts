// Proto3 JSON forms for well-known types, for the control plane's encoder: generators write
// resources the way Envoy's docs and config dumps show them (durations as "1.5s", wrapper types
// as bare scalars, Struct as plain JSON), and `toProtoForm` (any.ts) turns that into what
// protobufjs encodes, whose generated fromObject rejects a scalar where a message goes. Decoding
// back to that form is src/xds/wire's job.
import { parseProtoDuration } from './duration.js';

// protobufjs bundles its own google/protobuf/struct.proto, with camelCase field names.
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function jsonToValue(v: Json): Record<string, unknown> {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v) };
}

function jsonToStruct(obj: { [k: string]: Json }): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) fields[k] = jsonToValue(v);
  return { fields };
}

/** Converts the JSON form of a well-known type to the object form protobufjs encodes. */
export function jsonFormToProto(fullName: string, value: unknown): unknown {
  switch (fullName) {
    case '.google.protobuf.Duration':
      return typeof value === 'string' ? parseProtoDuration(value) : value;
    case '.google.protobuf.Struct':
      return jsonToStruct((value ?? {}) as { [k: string]: Json });
    case '.google.protobuf.Value':
      return jsonToValue(value as Json);
    case '.google.protobuf.ListValue':
      return { values: (value as Json[]).map(jsonToValue) };
    default:
      return value !== null && typeof value === 'object' ? value : { value };
  }
}

/** Message types whose JSON form is not an object of their fields; shape checks stop at them. */
export const JSON_FORM_TYPES: ReadonlySet<string> = new Set([
  '.google.protobuf.Duration',
  '.google.protobuf.Struct',
  '.google.protobuf.Value',
  '.google.protobuf.ListValue',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.Int64Value',
  '.google.protobuf.BoolValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.BytesValue',
]);
