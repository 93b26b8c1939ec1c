// envoy.extensions.filters.http.rbac.v3.RBAC → frozen engines: the enforced rules and the shadow
// rules (evaluated and recorded in dynamic metadata, never enforced), with their stat prefixes.
import { ConfigError, inField } from '../../../config-error.js';
import type { RbacEngine } from '../../../authz/matcher.js';
import { compileRbac } from '../../../authz/matcher.js';

type Obj = Record<string, unknown>;

export const RBAC_TYPE = 'envoy.extensions.filters.http.rbac.v3.RBAC';

export interface HttpRbacConfig {
  readonly rules: RbacEngine | undefined;
  readonly rulesStatPrefix: string;
  readonly shadow: RbacEngine | undefined;
  readonly shadowStatPrefix: string;
}

export function compileHttpRbac(typed: Obj): HttpRbacConfig {
  if (typed['matcher'] !== undefined || typed['shadow_matcher'] !== undefined)
    throw new ConfigError('matcher', 'the matcher API is not supported: use rules');
  const rules = typed['rules']
    ? inField('rules', () => compileRbac(typed['rules'] as Obj, 'rules'))
    : undefined;
  const shadow = typed['shadow_rules']
    ? inField('shadow_rules', () => compileRbac(typed['shadow_rules'] as Obj, 'shadow_rules'))
    : undefined;
  return Object.freeze({
    rules,
    rulesStatPrefix: String(typed['rules_stat_prefix'] ?? ''),
    shadow,
    shadowStatPrefix: String(typed['shadow_rules_stat_prefix'] ?? ''),
  });
}
