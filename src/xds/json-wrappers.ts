// Proto3 JSON forms for well-known types: durations as "1.5s", wrapper types as bare scalars,
// Struct as plain JSON. Generators write resources the way Envoy's docs and config dumps show
// them; `toProtoForm` turns that into what protobufjs encodes (its generated fromObject rejects a
// scalar where a message goes), and the toObject wrappers registered here give the JSON form back
// on decode.
import protobuf from 'protobufjs';
import { formatProtoDuration, parseProtoDuration } from './duration.js';

export { formatProtoDuration, parseProtoDuration };

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

/** Registers the wrappers. Must run before the first message of these types is converted. */
export function registerJsonWrappers(): void {
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
