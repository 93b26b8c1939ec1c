// VirtualService HTTP routes → Envoy routes (one per match clause, in order, first match wins),
// following Istio's translation (pilot/pkg/networking/core/route).
import type { VirtualServiceSpec } from '../../config/kinds.js';
import type { BoundVirtualService, MeshModel } from '../model/mesh-model.js';
import { resolveHost } from '../model/hosts.js';
import { typed } from '../../xds/any.js';
import { clusterName } from './names.js';
import { toProtoDuration } from './durations.js';

type HttpRoute = NonNullable<VirtualServiceSpec['http']>[number];
type HttpMatch = NonNullable<HttpRoute['match']>[number];
type StringMatch = { exact?: string; prefix?: string; regex?: string };
type EnvoyObject = Record<string, unknown>;

export interface RouteContext {
  readonly model: MeshModel;
  /** Port the request arrived for: picks matches with `port` and destinations without one. */
  readonly port: number;
  /** `mesh` for sidecars, `namespace/name` for a gateway. */
  readonly gateway: string;
}

function stringMatcher(m: StringMatch, ignoreCase = false): EnvoyObject {
  const out: EnvoyObject = {};
  if (m.exact !== undefined) out['exact'] = m.exact;
  else if (m.prefix !== undefined) out['prefix'] = m.prefix;
  else if (m.regex !== undefined) out['safe_regex'] = { regex: m.regex };
  if (ignoreCase) out['ignore_case'] = true;
  return out;
}

/** Istio: an empty StringMatch on a header or query parameter means "present". */
function isPresenceMatch(m: StringMatch): boolean {
  return m.exact === undefined && m.prefix === undefined && m.regex === undefined;
}

function headerMatcher(name: string, m: StringMatch, invert = false): EnvoyObject {
  const out: EnvoyObject = { name };
  if (isPresenceMatch(m)) out['present_match'] = true;
  else out['string_match'] = stringMatcher(m);
  if (invert) {
    out['invert_match'] = true;
    // Istio's withoutHeaders: a missing header is an empty one, so it does not match the value
    // and the inverted matcher holds (Envoy ignores an absent header otherwise: no match).
    if (!isPresenceMatch(m)) out['treat_missing_header_as_empty'] = true;
  }
  return out;
}

/** HTTPMatchRequest → RouteMatch. */
function routeMatch(m: HttpMatch | undefined): EnvoyObject {
  const out: EnvoyObject = {};
  const uri = m?.uri as StringMatch | undefined;
  if (uri?.exact !== undefined) out['path'] = uri.exact;
  else if (uri?.regex !== undefined) out['safe_regex'] = { regex: uri.regex };
  else out['prefix'] = uri?.prefix ?? '/';
  if (m?.ignoreUriCase) out['case_sensitive'] = false;
  const headers: EnvoyObject[] = [];
  for (const [name, match] of Object.entries(m?.headers ?? {}))
    headers.push(headerMatcher(name.toLowerCase(), match as StringMatch));
  for (const [name, match] of Object.entries(m?.withoutHeaders ?? {}))
    headers.push(headerMatcher(name.toLowerCase(), match as StringMatch, true));
  if (m?.method) headers.push(headerMatcher(':method', m.method as StringMatch));
  if (m?.authority) headers.push(headerMatcher(':authority', m.authority as StringMatch));
  if (m?.scheme) headers.push(headerMatcher(':scheme', m.scheme as StringMatch));
  if (headers.length) out['headers'] = headers;
  const query = Object.entries(m?.queryParams ?? {}).map(([name, match]) =>
    isPresenceMatch(match as StringMatch)
      ? { name, present_match: true }
      : { name, string_match: stringMatcher(match as StringMatch) },
  );
  if (query.length) out['query_parameters'] = query;
  return out;
}

function matchApplies(m: HttpMatch | undefined, ctx: RouteContext): boolean {
  if (!m) return true;
  if (m.port !== undefined && m.port !== ctx.port) return false;
  if (
    m.gateways?.length &&
    !m.gateways.some((g) => g === ctx.gateway || ctx.gateway.endsWith(`/${g}`))
  )
    return false;
  return true;
}

/** The cluster a destination names: port from the destination, the service's only port, or the request's. */
export function destinationCluster(
  dest: { host: string; subset?: string; port?: { number?: number } },
  vsNamespace: string,
  ctx: RouteContext,
): string {
  const host = resolveHost(dest.host, vsNamespace);
  const service = ctx.model.services.get(host);
  const only = service?.ports.length === 1 ? service.ports[0]?.port : undefined;
  const port = dest.port?.number ?? only ?? ctx.port;
  return clusterName('outbound', port, dest.subset ?? '', host);
}

function retryPolicy(route: HttpRoute, ctx: RouteContext): EnvoyObject | undefined {
  const r = route.retries;
  const fallback = ctx.model.meshConfig.defaultHttpRetryPolicy;
  // Istio (retry.ConvertPolicy): `retries` without `attempts` means 0, and 0 disables retries.
  const attempts = r ? (r.attempts ?? 0) : fallback.attempts;
  if (attempts <= 0) return undefined;
  const policy: EnvoyObject = {
    num_retries: attempts,
    retry_host_predicate: [
      {
        name: 'envoy.retry_host_predicates.previous_hosts',
        typed_config: typed(
          'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
          {},
        ),
      },
    ],
    host_selection_retry_max_attempts: 5,
  };
  if (r?.retryIgnorePreviousHosts === false) delete policy['retry_host_predicate'];
  // Istio's parseRetryOn: integers in retryOn are status codes, and asking for one implies
  // retriable-status-codes. Nothing adds 503 by itself: Istio 1.24 dropped it from the default.
  const parts = (r?.retryOn || fallback.retryOn)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const codes = parts.filter((p) => /^\d{3}$/.test(p)).map(Number);
  const conditions = parts.filter((p) => !/^\d{3}$/.test(p));
  if (codes.length) {
    policy['retriable_status_codes'] = codes;
    if (!conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
  }
  policy['retry_on'] = conditions.join(',');
  if (r?.perTryTimeout) policy['per_try_timeout'] = toProtoDuration(r.perTryTimeout);
  if (r?.backoff) policy['retry_back_off'] = { base_interval: toProtoDuration(r.backoff) };
  return policy;
}

function routeAction(route: HttpRoute, vs: BoundVirtualService, ctx: RouteContext): EnvoyObject {
  const dests = (route.route ?? []).filter(
    (d) => d.weight === undefined || d.weight > 0 || (route.route?.length ?? 0) === 1,
  );
  const action: EnvoyObject = {};
  if (dests.length === 1 && dests[0]) {
    action['cluster'] = destinationCluster(dests[0].destination, vs.namespace, ctx);
  } else {
    action['weighted_clusters'] = {
      clusters: dests.map((d) => ({
        name: destinationCluster(d.destination, vs.namespace, ctx),
        weight: d.weight ?? 0,
      })),
    };
  }
  // Istio: no timeout unless the VirtualService sets one ("0s" disables Envoy's 15s default).
  action['timeout'] = route.timeout ? toProtoDuration(route.timeout) : '0s';
  const retry = retryPolicy(route, ctx);
  if (retry) action['retry_policy'] = retry;
  if (route.rewrite?.uri !== undefined) action['prefix_rewrite'] = route.rewrite.uri;
  if (route.rewrite?.authority) action['host_rewrite_literal'] = route.rewrite.authority;
  return action;
}

function redirectAction(route: HttpRoute): EnvoyObject {
  const r = route.redirect ?? {};
  const out: EnvoyObject = {};
  if (r.uri) out['path_redirect'] = r.uri;
  if (r.authority) out['host_redirect'] = r.authority;
  if (r.port) out['port_redirect'] = r.port;
  if (r.scheme) out['scheme_redirect'] = r.scheme;
  const codes: Record<number, string> = {
    301: 'MOVED_PERMANENTLY',
    302: 'FOUND',
    303: 'SEE_OTHER',
    307: 'TEMPORARY_REDIRECT',
    308: 'PERMANENT_REDIRECT',
  };
  out['response_code'] = codes[r.redirectCode ?? 301] ?? 'MOVED_PERMANENTLY';
  return out;
}

/** Translates one VirtualService's HTTP routes for a port and gateway. */
export function translateHttpRoutes(vs: BoundVirtualService, ctx: RouteContext): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  const configPath = `/apis/networking.istio.io/v1/namespaces/${vs.namespace}/virtual-service/${vs.resource.metadata.name}`;
  for (const route of vs.spec.http ?? []) {
    for (const m of route.match?.length ? route.match : [undefined]) {
      if (!matchApplies(m, ctx)) continue;
      const envoyRoute: EnvoyObject = {
        match: routeMatch(m),
        metadata: { filter_metadata: { istio: { config: configPath } } },
      };
      const name = [route.name, m?.name].filter(Boolean).join('.');
      if (name) envoyRoute['name'] = name;
      if (route.redirect) envoyRoute['redirect'] = redirectAction(route);
      else if (route.directResponse) {
        const body = route.directResponse.body;
        const text =
          body?.string ??
          (body?.bytes ? Buffer.from(body.bytes, 'base64').toString('utf8') : undefined);
        envoyRoute['direct_response'] = {
          status: route.directResponse.status,
          ...(text !== undefined ? { body: { inline_string: text } } : {}),
        };
      } else envoyRoute['route'] = routeAction(route, vs, ctx);
      out.push(envoyRoute);
    }
  }
  return out;
}

/** The route a service gets without a VirtualService: everything to its own cluster. */
export function defaultRoute(cluster: string, ctx: RouteContext): EnvoyObject {
  const fallback = ctx.model.meshConfig.defaultHttpRetryPolicy;
  const retry = retryPolicy(
    { retries: { attempts: fallback.attempts, retryOn: fallback.retryOn } } as HttpRoute,
    ctx,
  );
  return {
    name: 'default',
    match: { prefix: '/' },
    route: { cluster, timeout: '0s', ...(retry ? { retry_policy: retry } : {}) },
  };
}
