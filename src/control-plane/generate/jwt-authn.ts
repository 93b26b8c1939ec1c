// RequestAuthentication → envoy.filters.http.jwt_authn, as istiod writes it
// (pilot/pkg/security/authn/policy_applier.go convertToEnvoyJwtConfig): one provider per jwtRule,
// keys always inline (the control plane fetches jwksUri, as istiod's default JwksFetchMode), and
// requirements under which a request without a token passes on to authorization while a token
// that is present must verify. Sidecars get it on inbound listeners, gateways on all of theirs.
import { typed } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { JwtRule } from '../model/request-authentication.js';
import { jwksSourceKey, jwtRulesOf, remoteJwksOf } from '../model/request-authentication.js';
import type { NamedResource } from '../server/snapshot.js';

type EnvoyObject = Record<string, unknown>;

export const JWT_AUTHN_FILTER = 'envoy.filters.http.jwt_authn';
const JWT_AUTHN_TYPE = 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const HCM_TYPE =
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
/** The dynamic metadata key of the payload (Istio's filters.EnvoyJwtFilterPayload). */
const PAYLOAD_METADATA = 'payload';
/** Claims always read as space-separated lists (Istio's buildSpaceDelimitedClaims defaults). */
const SPACE_DELIMITED_DEFAULTS = ['permission', 'scope'];

/**
 * When a JWKS fetch fails the rule gets this key set: a valid RSA public key whose private half
 * was thrown away when it was made (for skiff, not taken from anywhere), so no token verifies
 * against it and requests with tokens fail closed, while requests without one still pass.
 */
export const PUBLIC_ONLY_JWKS = JSON.stringify({
  keys: [
    {
      kty: 'RSA',
      e: 'AQAB',
      n:
        's56At4U6zBXdv4Ywh0ZI8PUGO05jOGVOM7fquWPzGHxpO0ItDHq_BIuNQQW7t2bBHpAtwPmT5dlJvnGLh1NYfB9tv8H0' +
        'JWOYzVdsa5JZdZdPQD8VpP7wVzgsmdjJOQU8hWUuA0zxe34x2P2Fw0c2ORin_a528KVvlDt3yUz177AsLLhySbAdrJXN3' +
        'eG6w-U32RfJDRnnBU31lLZxU6OfmjckhYKeehgER0LHDm0Pj1FpdcFzCLhtlfoHhrGYDz0HIrw-e4ZnUrGXpfvw9Jw9ys' +
        '9kawo7cfXVyW-NYjSEvbuiA-074DfoIfcz5gzDlF8wZurpdn6EjZsc3zMJvrTp1w',
    },
  ],
});

/** A rule's key set as the proxy gets it inline: its own, the fetched one, or the dead one. */
function inlineJwks(rule: JwtRule, model: MeshModel): string {
  if (rule.jwks) return rule.jwks;
  const remote = remoteJwksOf(rule);
  return (remote && model.fetchedJwks(jwksSourceKey(remote))) ?? PUBLIC_ONLY_JWKS;
}

function provider(rule: JwtRule, model: MeshModel, clearRouteCache: boolean): EnvoyObject {
  const p: EnvoyObject = {
    issuer: rule.issuer ?? '',
    audiences: rule.audiences ?? [],
    forward: rule.forwardOriginalToken === true,
    forward_payload_header: rule.outputPayloadToHeader ?? '',
    payload_in_metadata: PAYLOAD_METADATA,
    normalize_payload_in_metadata: {
      space_delimited_claims: [
        ...new Set([...(rule.spaceDelimitedClaims ?? []), ...SPACE_DELIMITED_DEFAULTS]),
      ].sort(),
    },
    clear_route_cache: clearRouteCache,
    claim_to_headers: (rule.outputClaimToHeaders ?? []).map((c) => ({
      header_name: c.header,
      claim_name: c.claim,
    })),
    from_headers: (rule.fromHeaders ?? []).map((h) => ({
      name: h.name,
      value_prefix: h.prefix ?? '',
    })),
    from_params: rule.fromParams ?? [],
    from_cookies: rule.fromCookies ?? [],
    local_jwks: { inline_string: inlineJwks(rule, model) },
  };
  return p;
}

const providerName = (i: number) => `origins-${i}`;
const byName = (name: string): EnvoyObject => ({ provider_name: name });

/**
 * The filter config for these rules. One provider: any(provider, allow_missing). Several:
 * any(P1, ..., Pn, all(any(P1, allow_missing), ..., any(Pn, allow_missing))) — every token present
 * must verify with its provider, and the outer alternatives let providers share a location.
 */
export function jwtAuthenticationConfig(
  rules: readonly JwtRule[],
  model: MeshModel,
  clearRouteCache: boolean,
): EnvoyObject {
  const providers: Record<string, EnvoyObject> = {};
  const inner: EnvoyObject[] = [];
  rules.forEach((rule, i) => {
    providers[providerName(i)] = provider(rule, model, clearRouteCache);
    inner.push({
      requires_any: { requirements: [byName(providerName(i)), { allow_missing: {} }] },
    });
  });
  const requires =
    inner.length === 1
      ? inner[0]
      : {
          requires_any: {
            requirements: [
              ...rules.map((_, i) => byName(providerName(i))),
              { requires_all: { requirements: inner } },
            ],
          },
        };
  return {
    providers,
    rules: [{ match: { prefix: '/' }, requires }],
    bypass_cors_preflight: true,
  };
}

/** The jwt_authn HTTP filter for a proxy, or undefined when no RequestAuthentication applies. */
export function jwtAuthnFilter(node: ProxyNode, model: MeshModel): EnvoyObject | undefined {
  const rules = jwtRulesOf(model.requestAuthenticationsFor(node));
  if (rules.length === 0) return undefined;
  // Istio clears the route cache on gateways, where routes may match claims (@request.auth.claims).
  const config = jwtAuthenticationConfig(rules, model, node.type !== 'sidecar');
  return { name: JWT_AUTHN_FILTER, typed_config: typed(JWT_AUTHN_TYPE, config) };
}

/** Puts the filter first in an HCM's chain (after Istio's metadata exchange, if already there). */
function withFilter(hcm: EnvoyObject, filter: EnvoyObject): EnvoyObject {
  const tc = hcm['typed_config'] as EnvoyObject;
  const list = (tc['http_filters'] as EnvoyObject[] | undefined) ?? [];
  if (list.some((f) => f['name'] === JWT_AUTHN_FILTER)) return hcm;
  let at = 0;
  while (at < list.length && list[at]?.['name'] === 'istio.metadata_exchange') at++;
  const http_filters = [...list.slice(0, at), filter, ...list.slice(at)];
  return { ...hcm, typed_config: { ...tc, http_filters } };
}

function isHcm(f: EnvoyObject): boolean {
  const type = (f['typed_config'] as EnvoyObject | undefined)?.['@type'];
  return typeof type === 'string' && type.endsWith(`/${HCM_TYPE}`);
}

/**
 * Adds jwt_authn to a proxy's listeners as Istio does (its authn plugin's BuildHTTP): a sidecar's
 * inbound listeners (not outbound ones), and every HTTP listener of a gateway.
 */
export function withJwtAuthn(
  listeners: NamedResource[],
  node: ProxyNode,
  model: MeshModel | undefined,
): NamedResource[] {
  const filter = model && jwtAuthnFilter(node, model);
  if (!filter) return listeners;
  return listeners.map((l) => {
    const r = l.resource as EnvoyObject;
    if (node.type === 'sidecar' && r['traffic_direction'] !== 'INBOUND') return l;
    const chains = r['filter_chains'] as EnvoyObject[] | undefined;
    if (!chains) return l;
    const filter_chains = chains.map((c) => {
      const filters = c['filters'] as EnvoyObject[] | undefined;
      if (!filters?.some(isHcm)) return c;
      return { ...c, filters: filters.map((f) => (isHcm(f) ? withFilter(f, filter) : f)) };
    });
    return { ...l, resource: { ...r, filter_chains } };
  });
}
