// Turns the Istio models' schema errors (ajv) into problems with field paths and lines.
import { oneOfGroupsAt } from './fields.js';
import { istioSchemaErrors } from './istio-models.js';
import type { SchemaError } from './istio-models.js';
import type { FieldPath } from './locate.js';
import type { Reporter } from './report.js';

/** Checks `obj` against its Istio kind's schema; returns how many errors were reported. */
export function checkIstioSchema(
  obj: Record<string, unknown>,
  gvk: string,
  report: Reporter,
): number {
  const errors = istioSchemaErrors(obj);
  if (errors.length === 0) return 0;
  // A failed oneOf also leaks the `required` errors of the branches it tried; the oneOf message
  // says it better, so those are dropped.
  const oneOfAt = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  let count = 0;
  for (const e of errors) {
    if (e.keyword === 'not' || (e.keyword === 'required' && oneOfAt.has(e.instancePath))) continue;
    const path = toPath(obj, e.instancePath);
    count++;
    if (e.keyword === 'required') {
      report.error(
        [...path, String(e.params['missingProperty'])],
        'required field is missing',
        'key',
      );
    } else if (e.keyword === 'oneOf' || e.keyword === 'anyOf') {
      report.error(path, oneOfMessage(obj, gvk, path), 'key');
    } else {
      report.error(path, message(e, valueAt(obj, path)));
    }
  }
  return count;
}

/** `/spec/http/0/timeout` → ['spec', 'http', 0, 'timeout'] (indexes where the data has lists). */
function toPath(obj: unknown, instancePath: string): FieldPath {
  const out: (string | number)[] = [];
  let cur: unknown = obj;
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      const i = Number(seg);
      out.push(i);
      cur = cur[i];
    } else {
      out.push(seg);
      cur =
        typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur = obj;
  for (const seg of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

function oneOfMessage(obj: unknown, gvk: string, path: FieldPath): string {
  const value = valueAt(obj, path);
  const set = typeof value === 'object' && value !== null ? Object.keys(value) : [];
  const groups = path[0] === 'spec' ? oneOfGroupsAt(gvk, path.slice(1)) : [];
  for (const group of groups) {
    const found = group.filter((k) => set.includes(k));
    if (found.length > 1) {
      return `only one of ${group.join(', ')} may be set (found ${found.join(' and ')})`;
    }
  }
  return 'does not match any of the allowed forms';
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return String(v);
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'a boolean (true or false)',
  array: 'a list',
  object: 'an object',
  null: 'null',
};

function message(e: SchemaError, value: unknown): string {
  const p = e.params;
  switch (e.keyword) {
    case 'type': {
      const types = String(p['type']).split(',');
      return `must be ${types.map((t) => ARTICLE[t] ?? t).join(' or ')} (got ${describeValue(value)})`;
    }
    case 'enum': {
      const allowed = (p['allowedValues'] as unknown[] | undefined) ?? [];
      return `must be one of ${allowed.map(String).join(', ')} (got ${describeValue(value)})`;
    }
    case 'maximum':
      return `must be at most ${String(p['limit'])} (got ${describeValue(value)})`;
    case 'minimum':
      return `must be at least ${String(p['limit'])} (got ${describeValue(value)})`;
    case 'maxItems':
      return `must have at most ${String(p['limit'])} items`;
    case 'minItems':
      return p['limit'] === 1
        ? 'must not be empty'
        : `must have at least ${String(p['limit'])} items`;
    case 'maxLength':
      return `must be at most ${String(p['limit'])} characters long`;
    case 'minLength':
      return p['limit'] === 1
        ? 'must not be empty'
        : `must be at least ${String(p['limit'])} characters long`;
    case 'maxProperties':
      return `must have at most ${String(p['limit'])} entries`;
    case 'minProperties':
      return p['limit'] === 1
        ? 'must not be empty'
        : `must have at least ${String(p['limit'])} entries`;
    case 'pattern':
      return `must match the pattern ${String(p['pattern'])} (got ${describeValue(value)})`;
    case 'format':
      return `must be a valid ${String(p['format'])} (got ${describeValue(value)})`;
    default:
      return e.message ?? `fails the schema check "${e.keyword}"`;
  }
}
