// AuthorizationPolicy meaning checks (istiod's ValidateAuthorizationPolicy and
// pkg/config/security): action versus rules, from/to/when, and the `when` keys Istio documents.
import type { AuthorizationPolicySpec } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { checkOneSelectorKind, checkSelectorLabels } from './common.js';
import type { CheckContext } from './common.js';
import { checkTargetRefs } from './target-refs.js';
import { ipOrCidrProblem } from './names.js';

type Rule = NonNullable<AuthorizationPolicySpec['rules']>[number];
type Source = NonNullable<NonNullable<Rule['from']>[number]['source']>;

// https://istio.io/latest/docs/reference/config/security/conditions/
const EXACT_KEYS = new Set([
  'source.ip',
  'remote.ip',
  'source.namespace',
  'source.principal',
  'source.serviceAccount',
  'source.trustDomain',
  'request.auth.principal',
  'request.auth.audiences',
  'request.auth.presenter',
  'destination.ip',
  'destination.port',
  'connection.sni',
]);
const MAP_KEYS = ['request.headers', 'request.auth.claims'];
const CUSTOM_UNSUPPORTED_WHEN = [
  'source.namespace',
  'source.serviceAccount',
  'source.trustDomain',
  'source.principal',
];

export function checkAuthorizationPolicy(spec: AuthorizationPolicySpec, ctx: CheckContext): void {
  const { report } = ctx;
  checkOneSelectorKind(report, spec);
  if (spec.selector)
    checkSelectorLabels(report, ['spec', 'selector', 'matchLabels'], spec.selector.matchLabels, [
      'spec',
      'selector',
    ]);
  checkTargetRefs(report, spec);
  const action = spec.action ?? 'ALLOW';
  if (action === 'CUSTOM') {
    if (spec.rules === undefined) {
      report.error(
        ['spec', 'rules'],
        'CUSTOM action needs rules (an empty rule {} matches every request)',
        'key',
      );
    }
    if (!spec.provider?.name)
      report.error(['spec', 'provider', 'name'], 'CUSTOM action needs provider.name', 'key');
  } else if (spec.provider) {
    report.error(
      ['spec', 'provider'],
      `provider can only be set with action CUSTOM (action is ${action})`,
      'key',
    );
  }
  if (action === 'DENY' && spec.rules === undefined) {
    report.error(
      ['spec', 'rules'],
      'DENY action needs rules (an empty rule {} matches every request)',
      'key',
    );
  }
  (spec.rules ?? []).forEach((rule, i) => checkRule(report, ['spec', 'rules', i], rule, action));
}

function checkRule(report: Reporter, path: FieldPath, rule: Rule, action: string): void {
  if (rule.from !== undefined && rule.from.length === 0)
    report.error([...path, 'from'], '`from` must not be empty', 'key');
  (rule.from ?? []).forEach((f, j) => {
    const at = [...path, 'from', j, 'source'];
    if (!f.source || Object.values(f.source).every((v) => !Array.isArray(v) || v.length === 0)) {
      report.error(at, '`source` must set at least one field', 'key');
      return;
    }
    checkSource(report, at, f.source, action);
  });
  if (rule.to !== undefined && rule.to.length === 0)
    report.error([...path, 'to'], '`to` must not be empty', 'key');
  (rule.to ?? []).forEach((t, j) => {
    const at = [...path, 'to', j, 'operation'];
    const op = t.operation;
    if (!op || Object.values(op).every((v) => !Array.isArray(v) || v.length === 0)) {
      report.error(at, '`operation` must set at least one field', 'key');
      return;
    }
    // Unknown keys (reported by the schema step) may hold anything: only lists are checked.
    for (const [field, values] of Object.entries(op))
      if (Array.isArray(values)) checkValues(report, [...at, field], values, field);
  });
  (rule.when ?? []).forEach((w, j) => {
    const at = [...path, 'when', j];
    if (!w.key) {
      report.error([...at, 'key'], '`key` is required', 'key');
      return;
    }
    const problem = whenKeyProblem(w.key);
    if (problem) report.error([...at, 'key'], problem);
    else if (w.key.startsWith('experimental.envoy.filters.'))
      report.warn(
        [...at, 'key'],
        "skiff's filters set no such metadata: its values never match, its notValues always do",
      );
    else if (
      action === 'CUSTOM' &&
      (CUSTOM_UNSUPPORTED_WHEN.includes(w.key) || w.key.startsWith('request.auth.'))
    ) {
      report.error([...at, 'key'], `${w.key} is not supported with action CUSTOM`);
    }
    if ((w.values?.length ?? 0) === 0 && (w.notValues?.length ?? 0) === 0) {
      report.error(at, `condition on ${w.key} needs values or notValues`, 'key');
    }
    const kind =
      w.key === 'destination.port'
        ? 'ports'
        : ['source.ip', 'remote.ip', 'destination.ip'].includes(w.key)
          ? 'ipBlocks'
          : 'other';
    checkValues(report, [...at, 'values'], w.values ?? [], kind);
    checkValues(report, [...at, 'notValues'], w.notValues ?? [], kind);
  });
}

function checkSource(report: Reporter, path: FieldPath, src: Source, action: string): void {
  const count = (k: keyof Source): number => src[k]?.length ?? 0;
  const identities =
    count('principals') + count('notPrincipals') + count('namespaces') + count('notNamespaces');
  if (identities > 0 && count('serviceAccounts') + count('notServiceAccounts') > 0) {
    report.error(path, 'cannot set serviceAccounts together with principals or namespaces', 'key');
  }
  for (const [field, values] of Object.entries(src)) {
    if (!Array.isArray(values)) continue;
    const list: string[] = values;
    checkValues(report, [...path, field], list, field);
    const identity = /^(not)?(principals|requestPrincipals|namespaces|serviceAccounts)$/i.test(
      field,
    );
    if (action === 'CUSTOM' && identity && list.length > 0) {
      report.error(
        [...path, field],
        `from.source.${field} is not supported with action CUSTOM`,
        'key',
      );
    }
  }
}

/** Values must not be empty; IP fields take addresses or CIDRs; port fields take port numbers. */
function checkValues(
  report: Reporter,
  path: FieldPath,
  values: readonly string[],
  field: string,
): void {
  values.forEach((v, i) => {
    const at = [...path, i];
    if (v === '') {
      report.error(at, 'empty values are not allowed');
    } else if (/ipBlocks$/i.test(field)) {
      const problem = ipOrCidrProblem(v);
      if (problem) report.error(at, problem);
    } else if (/ports$/i.test(field)) {
      if (!/^\d+$/.test(v) || Number(v) > 65535)
        report.error(at, `"${v}" is not a port number (0..65535)`);
    } else if (/^(not)?paths$/i.test(field) && /\{\*\*?\}/.test(v)) {
      const problem = pathTemplateProblem(v);
      if (problem) report.error(at, problem);
    } else if (/^(not)?paths$/i.test(field) && !v.startsWith('/') && !v.startsWith('*')) {
      // Envoy matches paths against the request's `:path`, which always starts with '/'.
      report.error(at, `path "${v}" must start with "/" or "*" (it could never match)`);
    } else if (
      /^(not)?(paths|hosts|principals|requestPrincipals|namespaces)$/i.test(field) &&
      /.\*./.test(v)
    ) {
      // Istio's matching: `*` alone, as a prefix or as a suffix; elsewhere it is a literal.
      report.warn(
        at,
        `"${v}": "*" only works as a whole value, a prefix or a suffix; here it is a literal character`,
      );
    } else if (/serviceAccounts$/i.test(field)) {
      if (v.includes('*')) report.error(at, 'wildcards are not allowed in serviceAccounts');
      else if (!/^[^/]+(\/[^/]+)?$/.test(v))
        report.error(at, `"${v}" must be "serviceAccount" or "namespace/serviceAccount"`);
    }
  });
}

/** RFC 3986 pchar (Istio's validLiteral): what a literal segment of a path template may hold. */
const LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

/**
 * Istio's CheckValidPathTemplate: segments are `{*}`, `{**}` (nothing after it) or literals;
 * a `{` or `}` anywhere else is refused.
 */
function pathTemplateProblem(path: string): string | undefined {
  let any = false;
  for (const glob of path.replace(/^\/+|\/+$/g, '').split('/')) {
    if (glob === '{*}' || glob === '{**}') {
      if (any) return `"${path}": {**} must be the last operator of a path template`;
      any = glob === '{**}';
    } else if (/[{}]/.test(glob)) {
      return `"${path}": "{" and "}" only form the templates {*} and {**}, each a whole segment`;
    } else if (!LITERAL.test(glob)) {
      return `"${path}": segment "${glob}" is not a valid path template literal`;
    }
  }
  return undefined;
}

/** The `when` keys Istio documents; map keys need a `[name]`. */
function whenKeyProblem(key: string): string | undefined {
  if (EXACT_KEYS.has(key)) return undefined;
  const map = MAP_KEYS.find((p) => key.startsWith(p));
  if (map || key.startsWith('experimental.envoy.filters.')) {
    return /^[^[]+\[.+\]$/.test(key)
      ? undefined
      : `invalid key "${key}": expected ${map ?? key}[name]`;
  }
  if (key === 'destination.namespace')
    return "destination.namespace is not supported: use the policy's namespace";
  if (key.startsWith('destination.labels'))
    return 'destination.labels is not supported: use the selector';
  if (key === 'destination.name' || key === 'destination.user')
    return `${key} is not supported (it was only in v1alpha1)`;
  return `unknown key "${key}" (see https://istio.io/latest/docs/reference/config/security/conditions/)`;
}
