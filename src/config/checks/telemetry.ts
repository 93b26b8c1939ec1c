// Telemetry meaning checks (istiod's ValidateTelemetry): selection, providers, tracing sampling
// and tags, metric overrides.
import type { TelemetrySpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import {
  checkDuration,
  checkOneSelectorKind,
  checkPercent,
  checkSelectorLabels,
} from './common.js';
import type { CheckContext } from './common.js';
import { checkTargetRefs } from './target-refs.js';
import { ExpressionError, compileExpression } from '../../proxy/telemetry/metrics/expression.js';

/** tagOverrides values are CEL in Istio; skiff's proxies evaluate a subset (expression.ts). */
function expressionProblem(value: string): string | undefined {
  try {
    compileExpression(value);
    return undefined;
  } catch (e) {
    if (e instanceof ExpressionError) return e.message;
    throw e;
  }
}
import { celProblem } from '../../proxy/telemetry/access-log/cel.js';

function checkProviders(
  report: Reporter,
  path: FieldPath,
  providers: readonly { name?: string }[] | undefined,
): void {
  (providers ?? []).forEach((p, i) => {
    if (!p.name) report.error([...path, i, 'name'], 'provider name is required', 'key');
  });
}

export function checkTelemetry(spec: TelemetrySpec, ctx: CheckContext): void {
  const { report } = ctx;
  checkOneSelectorKind(report, spec);
  if (spec.selector)
    checkSelectorLabels(report, ['spec', 'selector', 'matchLabels'], spec.selector.matchLabels, [
      'spec',
      'selector',
    ]);
  checkTargetRefs(report, spec);
  const tracing = spec.tracing ?? [];
  if (tracing.length > 1)
    report.warn(['spec', 'tracing'], 'only one tracing configuration is supported', 'key');
  tracing.forEach((t, i) => {
    const at = ['spec', 'tracing', i];
    checkProviders(report, [...at, 'providers'], t.providers);
    if ((t.providers?.length ?? 0) > 1)
      report.warn([...at, 'providers'], 'only one tracing provider is supported', 'key');
    checkPercent(report, [...at, 'randomSamplingPercentage'], t.randomSamplingPercentage);
    for (const [name, tag] of Object.entries(t.customTags ?? {})) {
      const tagAt = [...at, 'customTags', name];
      if (tag.literal && !tag.literal.value)
        report.error([...tagAt, 'literal', 'value'], 'literal tag value must not be empty', 'key');
      if (tag.header && !tag.header.name)
        report.error([...tagAt, 'header', 'name'], 'header name is required', 'key');
      if (tag.environment && !tag.environment.name) {
        report.error(
          [...tagAt, 'environment', 'name'],
          'environment variable name is required',
          'key',
        );
      }
    }
  });
  (spec.metrics ?? []).forEach((m, i) => {
    const at = ['spec', 'metrics', i];
    checkProviders(report, [...at, 'providers'], m.providers);
    checkDuration(report, [...at, 'reportingInterval'], m.reportingInterval);
    (m.overrides ?? []).forEach((o, j) => {
      for (const [tag, override] of Object.entries(o.tagOverrides ?? {})) {
        const tagAt = [...at, 'overrides', j, 'tagOverrides', tag];
        const op = override.operation ?? 'UPSERT';
        if (op === 'UPSERT' && !override.value)
          report.error(tagAt, 'operation UPSERT needs a value', 'key');
        if (op === 'UPSERT' && override.value) {
          const problem = expressionProblem(override.value);
          if (problem) report.error([...tagAt, 'value'], problem);
        }
        if (op === 'REMOVE' && override.value)
          report.error([...tagAt, 'value'], 'operation REMOVE takes no value', 'key');
      }
      if (o.match?.customMetric === '')
        report.error(
          [...at, 'overrides', j, 'match', 'customMetric'],
          'customMetric must not be empty',
        );
    });
  });
  (spec.accessLogging ?? []).forEach((l, i) => {
    checkProviders(report, ['spec', 'accessLogging', i, 'providers'], l.providers);
    // Istio takes any CEL; skiff's proxies evaluate a subset and say so here rather than
    // rejecting the config at the proxy.
    const expression = l.filter?.expression;
    if (expression !== undefined) {
      const problem = celProblem(expression);
      if (problem)
        report.error(
          ['spec', 'accessLogging', i, 'filter', 'expression'],
          `skiff cannot evaluate this filter: ${problem}`,
        );
    }
  });
}
