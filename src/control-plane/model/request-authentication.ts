// Which RequestAuthentications apply to a proxy, and the JWT rules they add up to. Istio
// (pilot/pkg/model/authentication.go, policyattachment.go): policies of the proxy's namespace and
// of the root namespace, each applying when its selector (none = all) is a subset of the proxy's
// labels; one with targetRef/targetRefs binds Gateway API gateways only, so never a skiff proxy.
// Unlike PeerAuthentication nothing is chosen: every jwtRule of every applicable policy counts.
import type { RequestAuthenticationSpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';
import { parseDuration } from '../../config/checks/duration.js';

export type JwtRule = NonNullable<RequestAuthenticationSpec['jwtRules']>[number];
export type RequestAuthenticationResource = ConfigResource<RequestAuthenticationSpec>;

export interface RequestAuthProxy {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

/** The RequestAuthentications in force for a proxy, in config order. */
export function requestAuthenticationsFor(
  policies: readonly ConfigResource<RequestAuthenticationSpec>[],
  proxy: RequestAuthProxy,
  rootNamespace: string,
): ConfigResource<RequestAuthenticationSpec>[] {
  return policies.filter((p) => {
    const ns = p.metadata.namespace;
    if (ns !== proxy.namespace && ns !== rootNamespace) return false;
    if (p.spec.targetRef || p.spec.targetRefs?.length) return false;
    return selects(p.spec.selector?.matchLabels, proxy.labels);
  });
}

/**
 * Every jwtRule of the policies, sorted by issuer as istiod sorts them (a stable sort: rules of
 * one issuer keep their config order), so generated config does not depend on file order.
 */
export function jwtRulesOf(
  policies: readonly ConfigResource<RequestAuthenticationSpec>[],
): JwtRule[] {
  const rules = policies.flatMap((p) => p.spec.jwtRules ?? []);
  return rules
    .map((rule, i) => ({ rule, i }))
    .sort((a, b) => {
      const x = a.rule.issuer ?? '';
      const y = b.rule.issuer ?? '';
      return x < y ? -1 : x > y ? 1 : a.i - b.i;
    })
    .map((e) => e.rule);
}

/** The JWKS URI a rule names (`jwksUri`, or the older `jwks_uri` spelling). */
export function jwksUriOf(rule: JwtRule): string | undefined {
  return rule.jwksUri ?? rule.jwks_uri ?? undefined;
}

/**
 * Where the control plane gets a rule's keys when they are not inline: its jwksUri, or else the
 * issuer's OpenID discovery document (istiod's JwksResolver keys its cache the same way).
 */
export interface JwksSource {
  readonly issuer: string;
  /** undefined: discover it from `<issuer>/.well-known/openid-configuration`. */
  readonly jwksUri: string | undefined;
  /** The rule's `timeout` for fetching (istiod: 5s when unset). */
  readonly timeoutMs: number | undefined;
}

/** The key a fetched JWKS is cached and looked up by. */
export function jwksSourceKey(s: JwksSource): string {
  return s.jwksUri !== undefined && s.jwksUri !== '' ? s.jwksUri : `openid:${s.issuer}`;
}

/** The remote source of a rule's keys, or undefined when they are inline (`jwks`). */
export function remoteJwksOf(rule: JwtRule): JwksSource | undefined {
  if (rule.jwks) return undefined;
  const uri = jwksUriOf(rule);
  if (!uri && !rule.issuer) return undefined;
  const timeout = rule.timeout ? parseDuration(rule.timeout) : undefined;
  return {
    issuer: rule.issuer ?? '',
    jwksUri: uri || undefined,
    timeoutMs: timeout?.ok && timeout.seconds > 0 ? timeout.seconds * 1000 : undefined,
  };
}
