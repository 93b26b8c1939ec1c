// VirtualService HTTP routes → Envoy routes (one per match clause, in order, first match wins),
// following Istio's translation (pilot/pkg/networking/core/route). Routes are built per proxy:
// matches with sourceLabels / sourceNamespace apply only to the proxies they name.
import type { BoundVirtualService, MeshModel } from '../model/mesh-model.js';
import { resolveHost } from '../model/hosts.js';
import { typed } from '../../xds/any.js';
import { clusterName } from './names.js';
import { toProtoDuration } from './durations.js';
import type { HttpRoute } from './delegate.js';
import { expandDelegates } from './delegate.js';
import {
  CORS_FILTER,
  FAULT_FILTER,
  corsConfig,
  faultConfig,
  headerOperations,
  mirrorFraction,
  mirrorPolicy,
  putHeaderOperations,
  redirectAction,
} from './http-route-features.js';
import { hashPolicyForCluster, hashPolicyForDestination } from './cluster-hash-policy.js';

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

/**
 * Istio's port check and sourceMatchHTTP: a match naming gateways applies where one of them is
 * (its sourceLabels are then not looked at); otherwise its sourceLabels must be a subset of the
 * proxy's labels and its sourceNamespace the proxy's namespace.
 */
function matchApplies(m: HttpMatch | undefined, ctx: RouteContext, vsNamespace: string): boolean {
  if (!m) return true;
  if (m.port !== undefined && m.port !== ctx.port) return false;
  if (m.gateways?.length) {
    return m.gateways.some(
      (g) => (g === 'mesh' || g.includes('/') ? g : `${vsNamespace}/${g}`) === ctx.gateway,
    );
  }
  const proxy = ctx.model.proxy;
  for (const [k, v] of Object.entries(m.sourceLabels ?? {}))
    if (proxy?.labels[k] !== v) return false;
  return !m.sourceNamespace || m.sourceNamespace === proxy?.namespace;
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
  // retryRemoteLocalities: retries go to other priorities (localities) first.
  if (r?.retryRemoteLocalities) {
    policy['retry_priority'] = {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: typed(
        'envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
        { update_frequency: 2 },
      ),
    };
  }
  return policy;
}

/** applyHTTPRouteDestination: destinations, timeout, retries, rewrites, mirrors. */
function routeAction(
  route: HttpRoute,
  namespace: string,
  ctx: RouteContext,
  envoyRoute: EnvoyObject,
  routeAuthority: string | undefined,
): EnvoyObject {
  const dests = (route.route ?? []).filter(
    (d) => d.weight === undefined || d.weight > 0 || (route.route?.length ?? 0) === 1,
  );
  const action: EnvoyObject = {};
  // Istio: no timeout unless the VirtualService sets one ("0s" disables Envoy's 15s default).
  action['timeout'] = route.timeout ? toProtoDuration(route.timeout) : '0s';
  const rewrite = route.rewrite;
  if (rewrite?.uriRegexRewrite) {
    action['regex_rewrite'] = {
      pattern: { regex: rewrite.uriRegexRewrite.match ?? '' },
      substitution: rewrite.uriRegexRewrite.rewrite ?? '',
    };
  } else if (rewrite?.uri) {
    action['prefix_rewrite'] = rewrite.uri;
  }
  const authority = rewrite?.authority || routeAuthority;
  if (authority) action['host_rewrite_literal'] = authority;
  const mirrors: EnvoyObject[] = [];
  if (route.mirror) {
    const fraction = mirrorFraction(route.mirrorPercentage, route.mirrorPercent);
    if (fraction)
      mirrors.push(mirrorPolicy(destinationCluster(route.mirror, namespace, ctx), fraction));
  }
  for (const m of route.mirrors ?? []) {
    const fraction = mirrorFraction(m.percentage);
    if (fraction && m.destination)
      mirrors.push(mirrorPolicy(destinationCluster(m.destination, namespace, ctx), fraction));
  }
  if (mirrors.length) action['request_mirror_policies'] = mirrors;
  if (dests.length === 1 && dests[0]) {
    const d = dests[0];
    action['cluster'] = destinationCluster(d.destination, namespace, ctx);
    // One destination: its headers go on the route, after the route's own (processDestination).
    if (d.headers) {
      const ops = headerOperations(d.headers);
      putHeaderOperations(envoyRoute, ops);
      if (ops.authority && !action['host_rewrite_literal'])
        action['host_rewrite_literal'] = ops.authority;
    }
  } else {
    action['weighted_clusters'] = {
      clusters: dests.map((d) => {
        const weight: EnvoyObject = {
          name: destinationCluster(d.destination, namespace, ctx),
          weight: d.weight ?? 0,
        };
        if (d.headers) {
          const ops = headerOperations(d.headers);
          putHeaderOperations(weight, ops);
          if (ops.authority) weight['host_rewrite_literal'] = ops.authority;
        }
        return weight;
      }),
    };
  }
  const retry = retryPolicy(route, ctx);
  if (retry) action['retry_policy'] = retry;
  // The destinations' DestinationRule consistentHash (T1: cluster-hash-policy.ts).
  const hashes = dests.flatMap(
    (d) => hashPolicyForDestination(ctx.model, d.destination, namespace) ?? [],
  );
  if (hashes.length) action['hash_policy'] = hashes;
  return action;
}

/** Translates one VirtualService's HTTP routes (delegates expanded) for a port and gateway. */
export function translateHttpRoutes(vs: BoundVirtualService, ctx: RouteContext): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  const configPath = `/apis/networking.istio.io/v1/namespaces/${vs.namespace}/virtual-service/${vs.resource.metadata.name}`;
  for (const { route, namespace } of expandDelegates(vs, ctx.model)) {
    for (const m of route.match?.length ? route.match : [undefined]) {
      if (!matchApplies(m, ctx, vs.namespace)) continue;
      const envoyRoute: EnvoyObject = {
        match: routeMatch(m),
        metadata: { filter_metadata: { istio: { config: configPath } } },
      };
      const name = [route.name, m?.name].filter(Boolean).join('.');
      if (name) envoyRoute['name'] = name;
      const ops = route.headers ? headerOperations(route.headers) : undefined;
      if (ops) putHeaderOperations(envoyRoute, ops);
      if (route.redirect) envoyRoute['redirect'] = redirectAction(route.redirect, ctx.port);
      else if (route.directResponse) {
        const body = route.directResponse.body;
        envoyRoute['direct_response'] = {
          status: route.directResponse.status,
          ...(body?.string !== undefined
            ? { body: { inline_string: body.string } }
            : body?.bytes !== undefined
              ? { body: { inline_bytes: body.bytes } }
              : {}),
        };
      } else envoyRoute['route'] = routeAction(route, namespace, ctx, envoyRoute, ops?.authority);
      const perFilter: EnvoyObject = {};
      const fault = route.fault ? faultConfig(route.fault) : undefined;
      if (fault) perFilter[FAULT_FILTER] = fault;
      if (route.corsPolicy) perFilter[CORS_FILTER] = corsConfig(route.corsPolicy);
      if (Object.keys(perFilter).length) envoyRoute['typed_per_filter_config'] = perFilter;
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
  const hash = hashPolicyForCluster(ctx.model, cluster);
  return {
    name: 'default',
    match: { prefix: '/' },
    route: {
      cluster,
      timeout: '0s',
      ...(retry ? { retry_policy: retry } : {}),
      ...(hash ? { hash_policy: [hash] } : {}),
    },
  };
}
