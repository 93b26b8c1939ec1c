// The wire schema of Envoy's xDS messages, as the build wrote it (scripts/gen-protos.mjs,
// envoy-wire.json): every message's fields by number and name, every enum's values. Loaded once
// per process; a message's field tables are built the first time it is read or written, so a
// proxy holds tables only for the messages its config uses.
import { existsSync, readFileSync } from 'node:fs';

/** A scalar type name as in .proto files, or 'message' / 'enum'. */
export type FieldKind = string;

export interface FieldSpec {
  readonly id: number;
  readonly name: string;
  /** For a map, its value's kind. */
  readonly kind: FieldKind;
  readonly repeated: boolean;
  /** A map's key type; undefined for other fields. */
  readonly mapKey: string | undefined;
  /** The message or enum a 'message' / 'enum' field names. */
  readonly message: MessageSchema | undefined;
  readonly enumType: EnumSchema | undefined;
}

export interface MessageSchema {
  readonly fullName: string;
  readonly byId: ReadonlyMap<number, FieldSpec>;
  readonly byName: ReadonlyMap<string, FieldSpec>;
}

export interface EnumSchema {
  readonly fullName: string;
  /** Number → name for decoding: the last alias wins, as in protobufjs. */
  readonly names: ReadonlyMap<number, string>;
  readonly numbers: ReadonlyMap<string, number>;
}

/** Thrown when the build has not written the protos' descriptor or wire schema. */
export class ProtoDescriptorMissingError extends Error {
  readonly code = 'ERR_PROTO_DESCRIPTOR_MISSING';
}

type RawField = [number, string, string, number, number, string?];
interface RawSchema {
  messages: [string, RawField[]][];
  enums: [string, [number, string][]][];
}

// From src/xds/wire (tsx) or dist/src/xds/wire (compiled).
const CANDIDATES = [
  new URL('../generated/envoy-wire.json', import.meta.url),
  new URL('../../../../src/xds/generated/envoy-wire.json', import.meta.url),
];

let raw: RawSchema | undefined;
let messageIndex: Map<string, number> | undefined;
let enumIndex: Map<string, number> | undefined;
const messages: (MessageSchema | undefined)[] = [];
const enums: (EnumSchema | undefined)[] = [];

function load(): RawSchema {
  if (raw) return raw;
  const found = CANDIDATES.find((u) => existsSync(u));
  if (!found) {
    throw new ProtoDescriptorMissingError(
      `skiff: the Envoy wire schema is missing (looked for ${CANDIDATES.map((u) => u.pathname).join(', ')}); run \`npm run build\``,
    );
  }
  raw = JSON.parse(readFileSync(found, 'utf8')) as RawSchema;
  messageIndex = new Map(raw.messages.map(([name], i) => [name, i]));
  enumIndex = new Map(raw.enums.map(([name], i) => [name, i]));
  return raw;
}

/** The schema of a message by full name (no leading dot), or undefined if the build has none. */
export function messageSchema(fullName: string): MessageSchema | undefined {
  load();
  const i = messageIndex?.get(fullName);
  return i === undefined ? undefined : messageAt(i);
}

/** Like messageSchema, for the messages skiff itself names: a missing one is a build fault. */
export function requireMessage(fullName: string): MessageSchema {
  const schema = messageSchema(fullName);
  if (!schema) throw new Error(`skiff: no message ${fullName} in the Envoy wire schema`);
  return schema;
}

export function enumSchema(fullName: string): EnumSchema | undefined {
  load();
  const i = enumIndex?.get(fullName);
  return i === undefined ? undefined : enumAt(i);
}

function messageAt(index: number): MessageSchema {
  const cached = messages[index];
  if (cached) return cached;
  const [fullName, rawFields] = load().messages[index] as [string, RawField[]];
  const byId = new Map<number, FieldSpec>();
  const byName = new Map<string, FieldSpec>();
  const schema: MessageSchema = { fullName, byId, byName };
  messages[index] = schema; // before the fields: a message may contain itself
  for (const [id, name, kind, ref, repeated, mapKey] of rawFields) {
    const field = new LazyField(id, name, kind, ref, repeated === 1, mapKey);
    byId.set(id, field);
    byName.set(name, field);
  }
  return schema;
}

function enumAt(index: number): EnumSchema {
  const cached = enums[index];
  if (cached) return cached;
  const [fullName, values] = load().enums[index] as [string, [number, string][]];
  const schema: EnumSchema = {
    fullName,
    names: new Map(values),
    numbers: new Map(values.map(([n, name]) => [name, n])),
  };
  enums[index] = schema;
  return schema;
}

/** A field whose message or enum table is built when first asked for. */
class LazyField implements FieldSpec {
  constructor(
    readonly id: number,
    readonly name: string,
    readonly kind: FieldKind,
    private readonly ref: number,
    readonly repeated: boolean,
    readonly mapKey: string | undefined,
  ) {}

  get message(): MessageSchema | undefined {
    return this.kind === 'message' ? messageAt(this.ref) : undefined;
  }

  get enumType(): EnumSchema | undefined {
    return this.kind === 'enum' ? enumAt(this.ref) : undefined;
  }
}
