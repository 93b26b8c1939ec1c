// envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication → frozen providers (where tokens
// are, which keys verify them, what to do with a good one) and rules (route match → requirement
// tree). Errors name the proto field. Keys must be inline (local_jwks): skiff's control plane
// fetches remote ones itself, as istiod does by default.
import { ConfigError, inField } from '../../../config-error.js';
import type { Predicate, RequestView } from '../../../routes/matchers.js';
import { compileRouteMatch } from '../../../routes/matchers.js';
import { CompiledJwks } from './jwks.js';
import { sanitizeAudience } from './token.js';

type Obj = Record<string, unknown>;

export const JWT_AUTHN_TYPE = 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';

/** jwt_verify_lib's default clock skew. */
const DEFAULT_CLOCK_SKEW_SEC = 60;
/** Envoy's default jwt_cache_size. */
const DEFAULT_CACHE_SIZE = 100;

export interface HeaderLocation {
  /** Lower case. */
  readonly header: string;
  readonly prefix: string;
}

export interface ClaimToHeader {
  readonly header: string;
  /** The claim's path: `a.b` reads claim b of object claim a. */
  readonly claim: readonly string[];
}

export interface Provider {
  readonly name: string;
  /** '' accepts any issuer. */
  readonly issuer: string;
  /** Sanitized (no scheme, no trailing slash); empty allows any. */
  readonly audiences: ReadonlySet<string>;
  readonly forward: boolean;
  readonly payloadHeader: string | undefined;
  readonly padPayloadHeader: boolean;
  readonly payloadInMetadata: string | undefined;
  readonly spaceDelimitedClaims: ReadonlySet<string>;
  readonly clockSkewSec: number;
  readonly requireExpiration: boolean;
  readonly claimToHeaders: readonly ClaimToHeader[];
  readonly fromHeaders: readonly HeaderLocation[];
  readonly fromParams: readonly string[];
  readonly fromCookies: readonly string[];
  readonly jwks: CompiledJwks;
  readonly cacheSize: number;
}

export type Requirement =
  | { readonly kind: 'provider'; readonly name: string; readonly audiences?: ReadonlySet<string> }
  | { readonly kind: 'any'; readonly list: readonly Requirement[] }
  | { readonly kind: 'all'; readonly list: readonly Requirement[] }
  | { readonly kind: 'allow_missing'; readonly orFailed: boolean }
  | { readonly kind: 'allow_all' };

export interface JwtRule {
  readonly match: Predicate<RequestView>;
  readonly requires: Requirement;
}

export interface JwtAuthnConfig {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly rules: readonly JwtRule[];
  readonly bypassCorsPreflight: boolean;
  readonly stripFailureResponse: boolean;
}

const strings = (v: unknown, field: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new ConfigError(field, 'expected a list of strings');
  return v as string[];
};

const optString = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

function inlineJwks(p: Obj): CompiledJwks {
  if (p['remote_jwks'])
    throw new ConfigError(
      'remote_jwks',
      'not supported: the control plane fetches JWKS and sends them inline (local_jwks)',
    );
  const local = p['local_jwks'] as Obj | undefined;
  if (!local) throw new ConfigError('local_jwks', 'a JWKS is required');
  const text = local['inline_string'] ?? local['inline_bytes'];
  if (typeof text !== 'string')
    throw new ConfigError('local_jwks', 'only inline_string and inline_bytes are supported');
  const decoded =
    local['inline_bytes'] !== undefined ? Buffer.from(text, 'base64').toString('utf8') : text;
  return new CompiledJwks(decoded);
}

function compileProvider(name: string, p: Obj): Provider {
  // Checks skiff does not make are refused rather than skipped: a token must never pass one.
  for (const field of ['subjects', 'max_lifetime'])
    if (p[field] !== undefined) throw new ConfigError(field, 'not supported');
  const fromHeaders = ((p['from_headers'] as Obj[] | undefined) ?? []).map((h, i) => {
    const header = h['name'];
    if (typeof header !== 'string' || !header)
      throw new ConfigError(`from_headers[${i}].name`, 'required');
    return { header: header.toLowerCase(), prefix: String(h['value_prefix'] ?? '') };
  });
  const claimToHeaders = ((p['claim_to_headers'] as Obj[] | undefined) ?? []).map((c, i) => {
    const header = c['header_name'];
    const claim = c['claim_name'];
    if (typeof header !== 'string' || !header)
      throw new ConfigError(`claim_to_headers[${i}].header_name`, 'required');
    if (typeof claim !== 'string' || !claim)
      throw new ConfigError(`claim_to_headers[${i}].claim_name`, 'required');
    return { header: header.toLowerCase(), claim: claim.split('.') };
  });
  const normalize = (p['normalize_payload_in_metadata'] as Obj | undefined) ?? {};
  const cache = p['jwt_cache_config'] as Obj | undefined;
  return Object.freeze({
    name,
    issuer: String(p['issuer'] ?? ''),
    audiences: new Set(strings(p['audiences'], 'audiences').map(sanitizeAudience)),
    forward: p['forward'] === true,
    payloadHeader: optString(p['forward_payload_header'])?.toLowerCase(),
    padPayloadHeader: p['pad_forward_payload_header'] === true,
    payloadInMetadata: optString(p['payload_in_metadata']),
    spaceDelimitedClaims: new Set(
      strings(normalize['space_delimited_claims'], 'normalize_payload_in_metadata'),
    ),
    clockSkewSec: Number(p['clock_skew_seconds'] ?? 0) || DEFAULT_CLOCK_SKEW_SEC,
    requireExpiration: p['require_expiration'] === true,
    claimToHeaders,
    fromHeaders,
    fromParams: strings(p['from_params'], 'from_params'),
    fromCookies: strings(p['from_cookies'], 'from_cookies'),
    jwks: inlineJwks(p),
    cacheSize: Number(cache?.['jwt_cache_size'] ?? 0) || DEFAULT_CACHE_SIZE,
  });
}

function compileRequirement(
  r: Obj | undefined,
  providers: ReadonlyMap<string, Provider>,
): Requirement {
  if (!r) return { kind: 'allow_all' };
  const known = (name: unknown, field: string): string => {
    if (typeof name !== 'string' || !providers.has(name))
      throw new ConfigError(field, `provider "${String(name)}" is not configured`);
    return name;
  };
  if (r['provider_name'] !== undefined)
    return { kind: 'provider', name: known(r['provider_name'], 'provider_name') };
  const pa = r['provider_and_audiences'] as Obj | undefined;
  if (pa) {
    const name = known(pa['provider_name'], 'provider_and_audiences.provider_name');
    const audiences = strings(pa['audiences'], 'provider_and_audiences.audiences');
    return { kind: 'provider', name, audiences: new Set(audiences.map(sanitizeAudience)) };
  }
  for (const [key, kind] of [
    ['requires_any', 'any'],
    ['requires_all', 'all'],
  ] as const) {
    const group = r[key] as Obj | undefined;
    if (!group) continue;
    const list = ((group['requirements'] as Obj[] | undefined) ?? []).map((x, i) =>
      inField(`${key}.requirements[${i}]`, () => compileRequirement(x, providers)),
    );
    if (list.length < 2) throw new ConfigError(`${key}.requirements`, 'needs at least 2 items');
    return { kind, list };
  }
  if (r['allow_missing_or_failed'] !== undefined) return { kind: 'allow_missing', orFailed: true };
  if (r['allow_missing'] !== undefined) return { kind: 'allow_missing', orFailed: false };
  return { kind: 'allow_all' };
}

export function compileJwtAuthn(typed: Obj): JwtAuthnConfig {
  for (const field of ['filter_state_rules', 'requirement_map'])
    if (typed[field] !== undefined) throw new ConfigError(field, 'not supported');
  const providers = new Map<string, Provider>();
  for (const [name, p] of Object.entries((typed['providers'] as Obj | undefined) ?? {}))
    providers.set(
      name,
      inField(`providers["${name}"]`, () => compileProvider(name, p as Obj)),
    );
  const rules = ((typed['rules'] as Obj[] | undefined) ?? []).map((r, i) =>
    inField(`rules[${i}]`, () => ({
      match: compileRouteMatch((r['match'] as Obj | undefined) ?? {}, 'match'),
      requires: inField('requires', () =>
        compileRequirement(r['requires'] as Obj | undefined, providers),
      ),
    })),
  );
  return Object.freeze({
    providers,
    rules,
    bypassCorsPreflight: typed['bypass_cors_preflight'] === true,
    stripFailureResponse: typed['strip_failure_response'] === true,
  });
}
