// CUSTOM AuthorizationPolicies → Istio's pair of HTTP filters (pilot/pkg/security/authz/builder):
// an RBAC filter holding the policies as *shadow* rules (it never blocks; a match records the
// policy in dynamic metadata `istio_ext_authz_shadow_effective_policy_id`), then
// envoy.filters.http.ext_authz calling the mesh config's `envoyExtAuthzHttp` provider only when
// that metadata names an `istio-ext-authz` policy (filter_enabled_metadata).
import { typed } from '../../xds/any.js';
import type { MeshConfig } from '../model/mesh-config.js';
import type { AuthorizationPolicyResource } from '../model/authorization.js';
import { clusterName } from './names.js';
import { rbacPolicies } from './rbac-rules.js';

type EnvoyObject = Record<string, unknown>;

export const EXT_AUTHZ_FILTER = 'envoy.filters.http.ext_authz';
const EXT_AUTHZ_TYPE = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const RBAC_TYPE = 'envoy.extensions.filters.http.rbac.v3.RBAC';
const RBAC_NETWORK_TYPE = 'envoy.extensions.filters.network.rbac.v3.RBAC';
/** Istio's names (pilot/pkg/security/authz/model). */
export const EXT_AUTHZ_SHADOW_PREFIX = 'istio_ext_authz_';
/** CUSTOM policy names start `istio-ext-authz-<provider>-` (several providers per workload). */
export const EXT_AUTHZ_POLICY_PREFIX = 'istio-ext-authz';
const SHADOW_METADATA_KEY = 'istio_ext_authz_shadow_effective_policy_id';

interface ExtAuthzHttpProvider {
  service?: string;
  port?: number | string;
  pathPrefix?: string;
  timeout?: string;
  failOpen?: boolean;
  statusOnError?: string;
  includeRequestHeadersInCheck?: string[];
  includeAdditionalHeadersInCheck?: Record<string, string>;
  headersToUpstreamOnAllow?: string[];
  headersToDownstreamOnDeny?: string[];
  headersToDownstreamOnAllow?: string[];
  includeRequestBodyInCheck?: { maxRequestBytes?: number; allowPartialMessage?: boolean };
}

/** The `envoyExtAuthzHttp` provider of that name in mesh config, if there is one. */
export function extAuthzHttpProvider(
  mesh: MeshConfig,
  name: string,
): ExtAuthzHttpProvider | undefined {
  const p = mesh.extensionProviders.find((e) => e.name === name);
  return p?.['envoyExtAuthzHttp'] as ExtAuthzHttpProvider | undefined;
}

/** `ns/host` or `host` → host (Istio lets the namespace qualify the service). */
function serviceHost(service: string): string {
  const slash = service.indexOf('/');
  return slash >= 0 ? service.slice(slash + 1) : service;
}

/** Istio's header pattern list: `*x` suffix, `x*` prefix, else exact (case-insensitive). */
function patterns(list: readonly string[] | undefined): EnvoyObject {
  return {
    patterns: (list ?? []).map((h) =>
      h.startsWith('*')
        ? { suffix: h.slice(1), ignore_case: true }
        : h.endsWith('*')
          ? { prefix: h.slice(0, -1), ignore_case: true }
          : { exact: h, ignore_case: true },
    ),
  };
}

/** The ext_authz filter for a provider. */
export function extAuthzHttpFilter(p: ExtAuthzHttpProvider, providerName: string): EnvoyObject {
  const host = serviceHost(p.service ?? '');
  const port = Number(p.port ?? 80);
  const response: EnvoyObject = {};
  if (p.headersToUpstreamOnAllow?.length)
    response['allowed_upstream_headers'] = patterns(p.headersToUpstreamOnAllow);
  if (p.headersToDownstreamOnDeny?.length)
    response['allowed_client_headers'] = patterns(p.headersToDownstreamOnDeny);
  if (p.headersToDownstreamOnAllow?.length)
    response['allowed_client_headers_on_success'] = patterns(p.headersToDownstreamOnAllow);
  const request: EnvoyObject = {};
  const extra = Object.entries(p.includeAdditionalHeadersInCheck ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  if (extra.length) request['headers_to_add'] = extra.map(([key, value]) => ({ key, value }));
  const config: EnvoyObject = {
    http_service: {
      server_uri: {
        uri: `http://${host}`,
        cluster: clusterName('outbound', port, '', host),
        // Istio's default timeout for ext_authz calls (600s).
        timeout: p.timeout ?? '600s',
      },
      path_prefix: p.pathPrefix ?? '',
      authorization_request: request,
      authorization_response: response,
    },
    transport_api_version: 'V3',
    failure_mode_allow: p.failOpen === true,
    filter_enabled_metadata: {
      filter: 'envoy.filters.http.rbac',
      path: [{ key: SHADOW_METADATA_KEY }],
      value: { string_match: { prefix: `${EXT_AUTHZ_POLICY_PREFIX}-${providerName}` } },
    },
  };
  if (p.includeRequestHeadersInCheck?.length)
    config['allowed_headers'] = patterns(p.includeRequestHeadersInCheck);
  // Istio always sets it: the provider's statusOnError, else 403 Forbidden.
  config['status_on_error'] = { code: p.statusOnError ? Number(p.statusOnError) : 403 };
  if (p.includeRequestBodyInCheck)
    config['with_request_body'] = {
      max_request_bytes: p.includeRequestBodyInCheck.maxRequestBytes ?? 0,
      allow_partial_message: p.includeRequestBodyInCheck.allowPartialMessage === true,
      pack_as_bytes: true,
    };
  return { name: EXT_AUTHZ_FILTER, typed_config: typed(EXT_AUTHZ_TYPE, config) };
}

/**
 * The network filters of the CUSTOM policies on a TCP chain (Istio's buildTCP): an HTTP provider
 * cannot see TCP and is left out; a provider missing from mesh config (or one skiff cannot call)
 * denies the connections its policies match, as on HTTP.
 */
export function customNetworkFilters(
  custom: ReadonlyMap<string, readonly AuthorizationPolicyResource[]>,
  mesh: MeshConfig,
): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  for (const [name, policies] of [...custom].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (extAuthzHttpProvider(mesh, name)) continue;
    out.push({
      name: 'envoy.filters.network.rbac',
      typed_config: typed(RBAC_NETWORK_TYPE, {
        stat_prefix: 'tcp.',
        rules: { action: 'DENY', policies: rbacPolicies(policies, { tcp: true }) },
      }),
    });
  }
  return out;
}

/**
 * The HTTP filters of the CUSTOM policies (per provider: shadow RBAC, then ext_authz); providers
 * missing from mesh config or not `envoyExtAuthzHttp` are skipped (validation reports them), and
 * Istio then denies the matching requests: a DENY RBAC takes their place.
 */
export function customHttpFilters(
  custom: ReadonlyMap<string, readonly AuthorizationPolicyResource[]>,
  mesh: MeshConfig,
): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  for (const [name, policies] of [...custom].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const provider = extAuthzHttpProvider(mesh, name);
    const policiesByName = rbacPolicies(policies, {
      tcp: false,
      namePrefix: provider ? `${EXT_AUTHZ_POLICY_PREFIX}-${name}-` : '',
    });
    if (!provider) {
      out.push({
        name: 'envoy.filters.http.rbac',
        typed_config: typed(RBAC_TYPE, { rules: { action: 'DENY', policies: policiesByName } }),
      });
      continue;
    }
    out.push({
      name: 'envoy.filters.http.rbac',
      typed_config: typed(RBAC_TYPE, {
        shadow_rules: { action: 'DENY', policies: policiesByName },
        shadow_rules_stat_prefix: EXT_AUTHZ_SHADOW_PREFIX,
      }),
    });
    out.push(extAuthzHttpFilter(provider, name));
  }
  return out;
}
