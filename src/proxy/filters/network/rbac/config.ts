// envoy.extensions.filters.network.rbac.v3.RBAC → frozen engines for a TCP filter chain.
import { ConfigError, inField } from '../../../config-error.js';
import type { RbacEngine } from '../../../authz/matcher.js';
import { compileRbac } from '../../../authz/matcher.js';

type Obj = Record<string, unknown>;

export const NETWORK_RBAC_TYPE = 'envoy.extensions.filters.network.rbac.v3.RBAC';

export interface NetworkRbacConfig {
  readonly statPrefix: string;
  readonly rules: RbacEngine | undefined;
  readonly shadow: RbacEngine | undefined;
}

export function compileNetworkRbac(typed: Obj): NetworkRbacConfig {
  const statPrefix = typed['stat_prefix'];
  if (typeof statPrefix !== 'string' || !statPrefix)
    throw new ConfigError('stat_prefix', 'required');
  if (typed['matcher'] !== undefined || typed['shadow_matcher'] !== undefined)
    throw new ConfigError('matcher', 'the matcher API is not supported: use rules');
  return Object.freeze({
    statPrefix,
    rules: typed['rules']
      ? inField('rules', () => compileRbac(typed['rules'] as Obj, 'rules'))
      : undefined,
    shadow: typed['shadow_rules']
      ? inField('shadow_rules', () => compileRbac(typed['shadow_rules'] as Obj, 'shadow_rules'))
      : undefined,
  });
}
