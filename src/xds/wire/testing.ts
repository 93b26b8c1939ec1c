// Test support: the decoding src/xds/wire replaces, done by protobufjs as it was, so that tests
// can check the two give the same objects for the same bytes. protobufjs gives the JSON form
// only with these toObject wrappers registered, which importing this module does (before any
// test converts a message: protobufjs reads its wrappers when a type is first used).
import protobuf from 'protobufjs';
import { formatProtoDuration } from '../duration.js';
import { lookupMessage } from '../protos.js';
import { messageNameOf } from '../types.js';

/** The toObject options skiff's proxies decoded with, which src/xds/wire reproduces. */
export const DECODE_OPTIONS: protobuf.IConversionOptions = {
  enums: String,
  longs: Number,
  bytes: String,
  defaults: false,
  arrays: false,
  json: true,
};

/** An Any's value decoded by protobufjs (toObject with DECODE_OPTIONS). */
export function unpackAnyWithProtobufjs(any: {
  type_url: string;
  value: Uint8Array;
}): Record<string, unknown> {
  return decodeWithProtobufjs(messageNameOf(any.type_url), any.value);
}

/** A message's bytes decoded by protobufjs the same way. */
export function decodeWithProtobufjs(fullName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = lookupMessage(fullName);
  return type.toObject(type.decode(bytes), DECODE_OPTIONS) as Record<string, unknown>;
}

// ---- protobufjs's wrappers for the proto3 JSON form of well-known types ----

type Wrapper = protobuf.IWrapper;
type Converter = {
  fromObject(o: unknown): protobuf.Message;
  toObject(m: protobuf.Message, opts?: protobuf.IConversionOptions): Record<string, unknown>;
};

function longToNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'toNumber' in v)
    return (v as { toNumber(): number }).toNumber();
  return Number(v ?? 0);
}

const durationWrapper: Wrapper = {
  fromObject(this: Converter, object: unknown) {
    return this.fromObject(object);
  },
  toObject(this: Converter, message: protobuf.Message, options?: protobuf.IConversionOptions) {
    if (!options?.json) return this.toObject(message, options);
    const m = message as unknown as { seconds?: unknown; nanos?: number };
    return formatProtoDuration(longToNumber(m.seconds), m.nanos ?? 0) as unknown as Record<
      string,
      unknown
    >;
  },
} as Wrapper;

function scalarWrapper(): Wrapper {
  return {
    fromObject(this: Converter, object: unknown) {
      return this.fromObject(object);
    },
    toObject(this: Converter, message: protobuf.Message, options?: protobuf.IConversionOptions) {
      if (!options?.json) return this.toObject(message, options);
      const inner = this.toObject(message, { ...options, defaults: true });
      return inner['value'] as Record<string, unknown>;
    },
  } as Wrapper;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function valueToJson(v: Record<string, unknown>): Json {
  if ('structValue' in v) return structToJson(v['structValue'] as Record<string, unknown>);
  if ('listValue' in v) {
    const list = v['listValue'] as { values?: Record<string, unknown>[] };
    return (list.values ?? []).map(valueToJson);
  }
  if ('stringValue' in v) return v['stringValue'] as string;
  if ('numberValue' in v) return v['numberValue'] as number;
  if ('boolValue' in v) return v['boolValue'] as boolean;
  return null;
}

function structToJson(s: Record<string, unknown>): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  const fields = (s['fields'] ?? {}) as Record<string, Record<string, unknown>>;
  for (const [k, v] of Object.entries(fields)) out[k] = valueToJson(v);
  return out;
}

const structWrapper: Wrapper = {
  fromObject(this: Converter, object: unknown) {
    return this.fromObject(object);
  },
  toObject(this: Converter, message: protobuf.Message, options?: protobuf.IConversionOptions) {
    const raw = this.toObject(message, { ...options, json: false, enums: String });
    return options?.json ? structToJson(raw) : raw;
  },
} as Wrapper;

function registerJsonWrappers(): void {
  const w = protobuf.wrappers as Record<string, Wrapper>;
  w['.google.protobuf.Duration'] = durationWrapper;
  w['.google.protobuf.Struct'] = structWrapper;
  for (const name of [
    'UInt32Value',
    'UInt64Value',
    'Int32Value',
    'Int64Value',
    'BoolValue',
    'StringValue',
    'DoubleValue',
    'FloatValue',
  ]) {
    w[`.google.protobuf.${name}`] = scalarWrapper();
  }
}

registerJsonWrappers();
