// Test support: the decoding src/xds/wire replaces, done by protobufjs as it was, so that tests
// can check the two give the same objects for the same bytes.
import { DECODE_OPTIONS } from '../any.js';
import { lookupMessage } from '../protos.js';
import { messageNameOf } from '../types.js';

/** An Any's value decoded by protobufjs (toObject with DECODE_OPTIONS). */
export function unpackAnyWithProtobufjs(any: {
  type_url: string;
  value: Uint8Array;
}): Record<string, unknown> {
  const type = lookupMessage(messageNameOf(any.type_url));
  return type.toObject(type.decode(any.value), DECODE_OPTIONS) as Record<string, unknown>;
}

/** A message's bytes decoded by protobufjs the same way. */
export function decodeWithProtobufjs(fullName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = lookupMessage(fullName);
  return type.toObject(type.decode(bytes), DECODE_OPTIONS) as Record<string, unknown>;
}
