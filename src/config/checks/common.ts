// Checks shared by several kinds: durations, regexes, string matches, labels and selectors,
// ports, exportTo. Each reports at the field path it is given.
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { durationProblem } from './duration.js';
import { isDnsLabel, labelKeyProblem, labelValueProblem, portProblem } from './names.js';
import { regexProblem } from './regex.js';

/** What every meaning check gets: where to report, and the resource's own namespace and name. */
export interface CheckContext {
  readonly report: Reporter;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every string-valued duration field: Go syntax, >= 1ms (or 0 when `allowZero`), millisecond precision. */
export function checkDuration(
  report: Reporter,
  path: FieldPath,
  value: unknown,
  opts: { allowZero?: boolean } = {},
): void {
  if (typeof value !== 'string') return;
  const problem = durationProblem(value, opts);
  if (problem) report.error(path, problem);
}

export function checkRegex(report: Reporter, path: FieldPath, value: unknown): void {
  if (typeof value !== 'string') return;
  if (value === '') report.error(path, 'regex must not be empty');
  else {
    const problem = regexProblem(value);
    if (problem) report.error(path, problem);
  }
}

interface StringMatchLike {
  exact?: string;
  prefix?: string;
  regex?: string;
}

/**
 * Istio's StringMatch: exactly one of exact, prefix, regex (the schema reports two or more);
 * `prefix` must not be empty except for uri (Envoy allows an empty path prefix).
 */
export function checkStringMatch(
  report: Reporter,
  path: FieldPath,
  m: StringMatchLike | undefined,
  opts: { allowEmptyPrefix?: boolean } = {},
): void {
  if (m === undefined || m === null) return;
  const set = (['exact', 'prefix', 'regex'] as const).filter((k) => m[k] !== undefined);
  if (set.length === 0) {
    report.error(path, 'must set one of exact, prefix or regex', 'key');
    return;
  }
  if (m.prefix === '' && !opts.allowEmptyPrefix)
    report.error([...path, 'prefix'], 'prefix must not be empty');
  if (m.regex !== undefined) checkRegex(report, [...path, 'regex'], m.regex);
}

/** Kubernetes label syntax for every key and value of a label map (or selector). */
export function checkLabels(report: Reporter, path: FieldPath, labels: unknown): void {
  if (!isObject(labels)) return;
  for (const [k, v] of Object.entries(labels)) {
    const keyProblem = labelKeyProblem(k);
    if (keyProblem) report.error([...path, k], `label ${keyProblem}`, 'key');
    if (typeof v === 'string') {
      const valueProblem = labelValueProblem(v);
      if (valueProblem) report.error([...path, k], `label ${valueProblem}`);
    }
  }
}

/**
 * A workload selector's labels (istiod's validateWorkloadSelector): label syntax, no wildcards;
 * an empty selector selects every workload of the namespace, which is seldom meant.
 */
export function checkSelectorLabels(
  report: Reporter,
  path: FieldPath,
  labels: unknown,
  selectorPath: FieldPath,
): void {
  if (
    labels === undefined ||
    labels === null ||
    (isObject(labels) && Object.keys(labels).length === 0)
  ) {
    report.warn(
      selectorPath,
      'selector has no labels: it selects every workload in the namespace',
      'key',
    );
    return;
  }
  if (!isObject(labels)) return;
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (k.includes('*') || (typeof v === 'string' && v.includes('*'))) {
      report.error([...path, k], 'wildcards are not supported in selectors', 'key');
    } else plain[k] = v;
  }
  checkLabels(report, path, plain);
}

export function checkPort(report: Reporter, path: FieldPath, port: unknown): void {
  if (typeof port !== 'number') return;
  const problem = portProblem(port);
  if (problem) report.error(path, problem);
}

export function checkPortName(report: Reporter, path: FieldPath, name: unknown): void {
  if (typeof name !== 'string') return;
  if (!isDnsLabel(name)) {
    report.error(
      path,
      `invalid port name "${name}": use at most 63 lower-case letters, digits and '-'`,
    );
  }
}

/**
 * exportTo (istiod's validateExportTo): `.` (this namespace), `*` (all), or namespace names;
 * no duplicates; `*` alone; ServiceEntry may also use `~` (no one), alone.
 */
export function checkExportTo(
  ctx: CheckContext,
  path: FieldPath,
  exportTo: readonly string[] | undefined,
  opts: { allowNone?: boolean } = {},
): void {
  if (!exportTo) return;
  const seen = new Set<string>();
  exportTo.forEach((e, i) => {
    const key = e === '.' ? ctx.namespace : e;
    if (seen.has(key)) ctx.report.error([...path, i], `duplicate exportTo entry "${e}"`);
    seen.add(key);
    const ok = e === '.' || e === '*' || (e === '~' && opts.allowNone) || isDnsLabel(e);
    if (!ok)
      ctx.report.error([...path, i], `invalid exportTo "${e}": use ".", "*" or a namespace name`);
  });
  if (exportTo.length > 1 && exportTo.includes('*')) {
    ctx.report.error(path, 'exportTo "*" (everyone) cannot be combined with other entries', 'key');
  }
  if (exportTo.length > 1 && exportTo.includes('~')) {
    ctx.report.error(path, 'exportTo "~" (no one) cannot be combined with other entries', 'key');
  }
}

/** A percentage (Istio's Percent message): 0..100. */
export function checkPercent(report: Reporter, path: FieldPath, value: unknown): void {
  if (typeof value === 'number' && (value < 0 || value > 100)) {
    report.error(path, `percentage must be between 0 and 100 (got ${value})`);
  }
}

/** Istio's selector/targetRef/targetRefs: one way of choosing workloads at most. */
export function checkOneSelectorKind(
  report: Reporter,
  spec: { selector?: unknown; targetRef?: unknown; targetRefs?: unknown[] },
): void {
  const set = (['selector', 'targetRef', 'targetRefs'] as const).filter((k) =>
    k === 'targetRefs'
      ? (spec.targetRefs?.length ?? 0) > 0
      : spec[k] !== undefined && spec[k] !== null,
  );
  if (set.length > 1) {
    report.error(
      ['spec', set[1] ?? ''],
      `only one of selector, targetRef or targetRefs may be set (found ${set.join(' and ')})`,
      'key',
    );
  }
}
