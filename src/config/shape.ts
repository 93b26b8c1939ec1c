// A small schema for what the Istio models do not cover (metadata, Service, Secret, Workload):
// types, required fields and unknown fields, reported like the Istio schema errors.
import { unknownFieldMessage } from './fields.js';
import type { FieldPath } from './locate.js';
import type { Reporter } from './report.js';
import { describeValue } from './schema.js';

export type Shape =
  | { readonly t: 'string' | 'integer' | 'boolean' | 'intOrString' | 'any' }
  | { readonly t: 'enum'; readonly values: readonly string[] }
  | { readonly t: 'array'; readonly items: Shape }
  | { readonly t: 'map'; readonly values: Shape }
  | {
      readonly t: 'object';
      readonly fields: Readonly<Record<string, Shape>>;
      readonly required?: readonly string[];
    };

export const S = {
  string: { t: 'string' },
  integer: { t: 'integer' },
  boolean: { t: 'boolean' },
  intOrString: { t: 'intOrString' },
  any: { t: 'any' },
  enum: (...values: string[]): Shape => ({ t: 'enum', values }),
  array: (items: Shape): Shape => ({ t: 'array', items }),
  map: (values: Shape): Shape => ({ t: 'map', values }),
  object: (fields: Record<string, Shape>, required: string[] = []): Shape => ({
    t: 'object',
    fields,
    required,
  }),
} as const satisfies Record<string, Shape | ((...a: never[]) => Shape)>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks `value` against `shape`, reporting at `path`; returns how many type or missing-field errors it found. */
export function checkShape(
  value: unknown,
  shape: Shape,
  path: FieldPath,
  report: Reporter,
): number {
  const fail = (what: string): number => {
    report.error(path, `must be ${what} (got ${describeValue(value)})`);
    return 1;
  };
  switch (shape.t) {
    case 'any':
      return 0;
    case 'string':
      return typeof value === 'string' ? 0 : fail('a string');
    case 'boolean':
      return typeof value === 'boolean' ? 0 : fail('a boolean (true or false)');
    case 'integer':
      return Number.isInteger(value) ? 0 : fail('an integer');
    case 'intOrString':
      return Number.isInteger(value) || typeof value === 'string'
        ? 0
        : fail('an integer or a string');
    case 'enum':
      return typeof value === 'string' && shape.values.includes(value)
        ? 0
        : fail(`one of ${shape.values.join(', ')}`);
    case 'array': {
      if (!Array.isArray(value)) return fail('a list');
      let n = 0;
      value.forEach((item, i) => (n += checkShape(item, shape.items, [...path, i], report)));
      return n;
    }
    case 'map': {
      if (!isObject(value)) return fail('an object');
      let n = 0;
      for (const [k, v] of Object.entries(value))
        n += checkShape(v, shape.values, [...path, k], report);
      return n;
    }
    case 'object': {
      if (!isObject(value)) return fail('an object');
      let n = 0;
      for (const key of shape.required ?? []) {
        if (value[key] === undefined || value[key] === null) {
          report.error([...path, key], 'required field is missing', 'key');
          n++;
        }
      }
      const known = Object.keys(shape.fields);
      for (const [key, v] of Object.entries(value)) {
        const child = shape.fields[key];
        if (child) {
          // `key:` with no value is YAML null: treat as absent, as Kubernetes does.
          if (v !== null) n += checkShape(v, child, [...path, key], report);
        } else {
          // Reported, but not counted: the value is still well-typed for the checks that follow.
          report.error([...path, key], unknownFieldMessage(key, known), 'key');
        }
      }
      return n;
    }
  }
}
