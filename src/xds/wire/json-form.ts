// xDS messages in the JSON form Envoy's config dump shows (read by decode.ts, written by
// encode.ts): snake_case field names as in the protos, enums by name, 64-bit integers as
// numbers, bytes as base64, only the fields that are on the wire, and proto3 JSON for the
// well-known types (an Any as {"@type": url, ...its fields}, a Duration as "1.5s", a wrapper as
// its bare value, a Struct as plain JSON).
//
// It is the form protobufjs's toObject gives with the options skiff always used (enums: String,
// longs: Number, bytes: String, json: true, and the wrappers testing.ts registers), so proxies
// get the same objects without loading protobufjs; json-form.test.ts checks the two agree on
// every resource the control plane generates. On malformed bytes decoding is stricter: a
// sub-message cannot reach past its own length, nesting stops at 100 levels, a known field with
// the wrong wire type is refused, and all of it throws a WireError.
import { WireType } from './reader.js';
import type { FieldSpec } from './schema.js';

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

export const TYPE_URL_PREFIX = 'type.googleapis.com/';

/** Scalar kinds and the wire type each is written with. */
export const WIRE_TYPE_OF: Readonly<Record<string, number>> = {
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
export const WRAPPERS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ['google.protobuf.DoubleValue', 0],
  ['google.protobuf.FloatValue', 0],
  ['google.protobuf.Int64Value', 0],
  ['google.protobuf.UInt64Value', 0],
  ['google.protobuf.Int32Value', 0],
  ['google.protobuf.UInt32Value', 0],
  ['google.protobuf.BoolValue', false],
  ['google.protobuf.StringValue', ''],
]);

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Repeated fields of these kinds are packed (proto3's default) and read either way. */
export function isPacked(field: FieldSpec): boolean {
  const k = field.kind;
  return k !== 'string' && k !== 'bytes' && k !== 'message';
}
