// Helpers for the config tests: YAML written inline (dedented, line 1 = first line) and the
// formatted problem lines it produces.
import { parseConfigText } from './parse.js';
import type { ParseResult } from './parse.js';
import { formatProblem } from './resource.js';

/** Template tag: strips the first newline and the common indentation, so line numbers are obvious. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings.raw }, ...values).replace(/^\n/, '');
  const lines = text.split('\n');
  const indent = Math.min(
    ...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0),
  );
  return lines.map((l) => l.slice(indent)).join('\n');
}

/** Marks the warnings of checks/support.ts (features validated but not applied yet). */
export const NOT_APPLIED = /not applied by skiff yet$/;

/** Parses `text`, leaving out the "not applied yet" warnings (see `problems`). */
export function parse(text: string, file = 'test.yaml'): ParseResult {
  const result = parseConfigText(text, file);
  return { ...result, problems: result.problems.filter((p) => !NOT_APPLIED.test(p.message)) };
}

/**
 * Every problem of `text`, formatted as `skiff validate` prints it — except the "not applied
 * yet" warnings, which support.test.ts covers: they come and go as features land.
 */
export function problems(text: string, file = 'test.yaml'): string[] {
  return parse(text, file).problems.map(formatProblem);
}

/** A document with `apiVersion`, `kind` and `name` whose spec is `body`: the body starts on line 6. */
export function withSpec(apiVersion: string, kind: string, name: string, body: string): string {
  const spec = body
    .replace(/^\n/, '')
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return `apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}\n`;
}
