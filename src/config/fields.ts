// Unknown-field checks for Istio kinds, from the table scripts/gen-istio-fields.mjs derives from
// @kubernetes-models/istio's types (its validators accept any extra key; istiod rejects them).
import { existsSync, readFileSync } from 'node:fs';
import type { FieldPath } from './locate.js';
import type { Reporter } from './report.js';

/** "s" scalar, "*" free-form, or an object (`p` properties, `m` map values, `o` oneOf groups) or array (`a`). */
type FieldNode =
  's' | '*' | { p: Record<string, number>; m?: number; o?: string[][] } | { a: number };

interface FieldTable {
  source: string;
  nodes: FieldNode[];
  kinds: Record<string, number>;
}

/** Thrown when the generated table is missing: the build makes it. */
export class FieldTableMissingError extends Error {
  readonly code = 'SKIFF_FIELD_TABLE_MISSING';
  constructor(paths: string[]) {
    super(
      `skiff: the Istio field table is missing (looked for ${paths.join(', ')}); run \`npm run build\` ` +
        '(or `node scripts/gen-istio-fields.mjs`) to generate it',
    );
  }
}

// From source (tsx) the table sits next to this file; from dist/src/config/ it is in the source tree.
const CANDIDATES = [
  new URL('./generated/istio-fields.json', import.meta.url),
  new URL('../../../src/config/generated/istio-fields.json', import.meta.url),
];

let table: FieldTable | undefined;

function load(): FieldTable {
  if (table) return table;
  const found = CANDIDATES.find((u) => existsSync(u));
  if (!found) throw new FieldTableMissingError(CANDIDATES.map((u) => u.pathname));
  table = JSON.parse(readFileSync(found, 'utf8')) as FieldTable;
  return table;
}

/** Throws FieldTableMissingError now rather than at the first Istio document. */
export function ensureFieldTable(): void {
  load();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether the table knows `group/version/Kind`. */
export function hasFieldTable(gvk: string): boolean {
  return load().kinds[gvk] !== undefined;
}

/** The oneOf groups of the object at `path` (relative to spec) in kind `gvk`. */
export function oneOfGroupsAt(gvk: string, path: FieldPath): string[][] {
  const t = load();
  let node = t.nodes[t.kinds[gvk] ?? 1];
  for (const seg of path) {
    if (node === undefined || typeof node === 'string') return [];
    if ('a' in node) {
      if (typeof seg !== 'number') return [];
      node = t.nodes[node.a];
    } else {
      const i = typeof seg === 'string' ? (node.p[seg] ?? node.m) : undefined;
      if (i === undefined) return [];
      node = t.nodes[i];
    }
  }
  return node !== undefined && typeof node !== 'string' && 'p' in node ? (node.o ?? []) : [];
}

/** Reports every key of `spec` that the kind does not define, with the nearest known key as a hint. */
export function checkUnknownFields(gvk: string, spec: unknown, report: Reporter): void {
  const t = load();
  const root = t.kinds[gvk];
  if (root === undefined) return;
  const walk = (nodeIndex: number, value: unknown, path: FieldPath): void => {
    const node = t.nodes[nodeIndex];
    if (node === undefined || typeof node === 'string') return;
    if ('a' in node) {
      if (Array.isArray(value)) value.forEach((item, i) => walk(node.a, item, [...path, i]));
      return;
    }
    if (!isObject(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const known = node.p[key];
      if (known !== undefined) walk(known, child, [...path, key]);
      else if (node.m !== undefined) walk(node.m, child, [...path, key]);
      else report.error([...path, key], unknownFieldMessage(key, Object.keys(node.p)), 'key');
    }
  };
  walk(root, spec, ['spec']);
}

/** `unknown field (did you mean "timeout"?)` when a known key is close enough to be a typo. */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const hint = nearest(key, known);
  return hint ? `unknown field (did you mean "${hint}"?)` : 'unknown field';
}

function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = key.toLowerCase();
  for (const k of known) {
    // Case and snake_case slips (`per_try_timeout`) count as the nearest match.
    if (k.toLowerCase() === lower.replace(/_([a-z])/g, (_, c: string) => c)) return k;
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  // Close means at most a third of the key's letters differ (and at least one edit allowed).
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(key.length / 3))
    ? best
    : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
