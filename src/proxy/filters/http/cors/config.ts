// envoy.extensions.filters.http.cors.v3.CorsPolicy (per route or virtual host, as Istio writes
// a VirtualService's corsPolicy) → frozen policy. Empty fields stay undefined so that a less
// specific policy can fill them, as Envoy's CORS filter reads field by field.
import { ConfigError } from '../../../config-error.js';
import type { Predicate } from '../../../routes/matchers.js';
import { compileStringMatcher } from '../../../routes/matchers.js';
import type { Fraction } from '../percent.js';
import { ALWAYS, NEVER, compileRuntimeFraction } from '../percent.js';

type Obj = Record<string, unknown>;

export const CORS_POLICY_TYPE = 'envoy.extensions.filters.http.cors.v3.CorsPolicy';
export const CORS_TYPE = 'envoy.extensions.filters.http.cors.v3.Cors';

export interface CorsPolicy {
  readonly allowOrigins: readonly Predicate<string>[];
  readonly allowMethods: string | undefined;
  readonly allowHeaders: string | undefined;
  readonly exposeHeaders: string | undefined;
  readonly maxAge: string | undefined;
  readonly allowCredentials: boolean | undefined;
  readonly allowPrivateNetworkAccess: boolean | undefined;
  readonly forwardNotMatchingPreflights: boolean | undefined;
  /** filter_enabled: 100% when absent. */
  readonly enabled: Fraction;
  /** shadow_enabled: 0% when absent. */
  readonly shadowEnabled: Fraction;
}

const nonEmpty = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

const optionalBool = (v: unknown, field: string): boolean | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ConfigError(field, 'expected a boolean');
  return v;
};

export function compileCorsPolicy(typed: Obj): CorsPolicy {
  const origins = (typed['allow_origin_string_match'] as Obj[] | undefined) ?? [];
  return Object.freeze({
    allowOrigins: origins.map((m, i) => compileStringMatcher(m, `allow_origin_string_match[${i}]`)),
    allowMethods: nonEmpty(typed['allow_methods']),
    allowHeaders: nonEmpty(typed['allow_headers']),
    exposeHeaders: nonEmpty(typed['expose_headers']),
    maxAge: nonEmpty(typed['max_age']),
    allowCredentials: optionalBool(typed['allow_credentials'], 'allow_credentials'),
    allowPrivateNetworkAccess: optionalBool(
      typed['allow_private_network_access'],
      'allow_private_network_access',
    ),
    forwardNotMatchingPreflights: optionalBool(
      typed['forward_not_matching_preflights'],
      'forward_not_matching_preflights',
    ),
    enabled: compileRuntimeFraction(typed['filter_enabled'], 'filter_enabled', ALWAYS),
    shadowEnabled: compileRuntimeFraction(typed['shadow_enabled'], 'shadow_enabled', NEVER),
  });
}
