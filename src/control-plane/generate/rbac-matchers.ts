// Istio's matcher builders (pilot/pkg/security/authz/matcher and model/generator.go): one
// AuthorizationPolicy value → an Envoy StringMatcher, HeaderMatcher, CIDR, SPIFFE identity regex,
// path template or jwt_authn metadata matcher. rbac-rules.ts assembles them into policies.
type EnvoyObject = Record<string, unknown>;

/** Where Envoy's jwt_authn leaves the verified payload (H3's payload_in_metadata). */
export const JWT_AUTHN = 'envoy.filters.http.jwt_authn';
const JWT_PAYLOAD = 'payload';
export const SPIFFE = 'spiffe://';

/** `s` as a literal inside an RE2 regex. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Istio's `*`: any non-empty value. */
export const ANY = { safe_regex: { regex: '.+' } };

/** Istio's matcher.StringMatcher: `*` any (presence), `x*` prefix, `*x` suffix, else exact. */
export function stringMatch(v: string, ignoreCase = false): EnvoyObject {
  const ic = ignoreCase ? { ignore_case: true } : {};
  if (v === '*') return ANY;
  if (v.startsWith('*')) return { suffix: v.slice(1), ...ic };
  if (v.endsWith('*')) return { prefix: v.slice(0, -1), ...ic };
  return { exact: v, ...ic };
}

/** Istio's StringMatcherWithPrefix (principals: `spiffe://` + value). */
export function withPrefix(v: string, prefix: string): EnvoyObject {
  if (v === '*') return ANY;
  if (v.startsWith('*')) return { safe_regex: { regex: `${prefix}.*${escapeRegex(v.slice(1))}` } };
  if (v.endsWith('*')) return { prefix: prefix + v.slice(0, -1) };
  return { exact: prefix + v };
}

/** Istio's HeaderMatcher/HostMatcher: `*` is present_match. */
export function headerMatch(name: string, v: string, ignoreCase = false): EnvoyObject {
  if (v === '*') return { header: { name, present_match: true } };
  return { header: { name, string_match: stringMatch(v, ignoreCase) } };
}

/** Istio's AddrStrToCidrRange: a CIDR, or a bare address as its /32 or /128. */
export function cidr(v: string): EnvoyObject {
  const [ip = '', len] = v.split('/');
  const full = ip.includes(':') ? 128 : 32;
  return { address_prefix: ip, prefix_len: len === undefined ? full : Number(len) };
}

export const authenticated = (m: EnvoyObject): EnvoyObject => ({
  authenticated: { principal_name: m },
});

/**
 * Istio's srcTrustDomainGenerator: `*` any SPIFFE identity, `td` exactly that trust domain, a
 * `*` inside the value any run of characters within the trust domain.
 */
export function trustDomainMatch(v: string): EnvoyObject {
  if (v === '*') return { prefix: SPIFFE };
  const star = v.indexOf('*');
  if (star < 0) return { prefix: `${SPIFFE}${v}/` };
  const [a, b] = [v.slice(0, star), v.slice(star + 1)];
  return { safe_regex: { regex: `spiffe://${escapeRegex(a)}[^/]*${escapeRegex(b)}/.*` } };
}

/** RFC 3986 pchar without `*` and `=`: what Envoy's uri_template globs match. */
const PCHAR = "a-zA-Z0-9._~%!$&'()+,;:@";

/**
 * A path template (`{*}` one segment, `{**}` any number) as the regex of Envoy's uri_template
 * matcher, which Istio generates for such paths (uri_template_internal.cc: `*` is `[pchar]+`,
 * `**` is `[pchar/]*`, a segment may carry a literal suffix after its operator).
 */
export function pathTemplateRegex(template: string): string {
  const t = template.replaceAll('{**}', '**').replaceAll('{*}', '*');
  return t
    .split('/')
    .map((seg) =>
      seg.startsWith('**')
        ? `[${PCHAR}/-]*${escapeRegex(seg.slice(2))}`
        : seg.startsWith('*')
          ? `[${PCHAR}-]+${escapeRegex(seg.slice(1))}`
          : escapeRegex(seg),
    )
    .join('/');
}

export const isPathTemplate = (v: string): boolean => v.includes('{*}') || v.includes('{**}');

/** Istio's envoyFilterGenerator: `experimental.envoy.filters.<filter>[<key>]`, `[v]` a list entry. */
export function envoyFilterMatcher(key: string, values: readonly string[]): EnvoyObject {
  const body = key.slice('experimental.'.length).replace(/\]$/, '');
  const open = body.indexOf('[');
  const value_matchers = values.map((v) =>
    v.startsWith('[') && v.endsWith(']')
      ? { list_match: { one_of: { string_match: stringMatch(v.slice(1, -1)) } } }
      : { string_match: stringMatch(v) },
  );
  return {
    metadata: {
      filter: body.slice(0, open),
      path: [{ key: body.slice(open + 1) }],
      value: { or_match: { value_matchers } },
    },
  };
}

/** A jwt_authn payload claim as Istio matches it: the value, or one entry of a list value. */
export function claimMatcher(path: readonly string[], values: readonly string[]): EnvoyObject {
  const or = {
    or_match: { value_matchers: values.map((v) => ({ string_match: stringMatch(v) })) },
  };
  return {
    metadata: {
      filter: JWT_AUTHN,
      path: [JWT_PAYLOAD, ...path].map((key) => ({ key })),
      value: { or_match: { value_matchers: [{ list_match: { one_of: or } }, or] } },
    },
  };
}

const claimString = (claim: string, m: EnvoyObject): EnvoyObject => ({
  metadata: {
    filter: JWT_AUTHN,
    path: [{ key: JWT_PAYLOAD }, { key: claim }],
    value: { string_match: m },
  },
});

/** Istio's requestPrincipalGenerator: `iss/sub` split at the last `/`, each side matched. */
export function requestPrincipals(values: readonly string[]): EnvoyObject {
  const ids = values.map((value) => {
    const at = value.lastIndexOf('/');
    const found = at >= 0;
    const iss = found ? value.slice(0, at) : value;
    const sub = found ? value.slice(at + 1) : '';
    let mi: EnvoyObject;
    let ms: EnvoyObject;
    if (value === '*') [mi, ms] = [ANY, ANY];
    else if (value.startsWith('*'))
      [mi, ms] = found
        ? [iss === '*' ? ANY : { suffix: iss.slice(1) }, { exact: sub }]
        : [ANY, { suffix: value.slice(1) }];
    else if (value.endsWith('*'))
      [mi, ms] = found
        ? [{ exact: iss }, sub === '*' ? ANY : { prefix: sub.slice(0, -1) }]
        : [{ prefix: value.slice(0, -1) }, ANY];
    else [mi, ms] = [{ exact: iss }, { exact: sub }];
    return { and_ids: { ids: [claimString('iss', mi), claimString('sub', ms)] } };
  });
  return ids.length === 1 ? (ids[0] as EnvoyObject) : { or_ids: { ids } };
}

export const namespaceRegex = (v: string): EnvoyObject => ({
  safe_regex: { regex: `.*/ns/${v.split('*').map(escapeRegex).join('.*')}/.*` },
});

/** Istio's serviceAccountRegex: `ns/sa` or `sa` (the policy's namespace). */
export const serviceAccountRegex = (policyNs: string, v: string): EnvoyObject => {
  const slash = v.indexOf('/');
  const [ns, sa] = slash >= 0 ? [v.slice(0, slash), v.slice(slash + 1)] : [policyNs, v];
  return {
    safe_regex: { regex: `spiffe://.+/ns/${escapeRegex(ns)}/(.+/|)sa/${escapeRegex(sa)}(/.+)?` },
  };
};
