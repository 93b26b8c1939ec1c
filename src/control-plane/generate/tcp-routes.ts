// VirtualService `tcp[]` and `tls[]` routes → tcp_proxy network filters, following Istio's
// translation (pilot/pkg/networking/core/tls.go, networkfilter.go): the first tcp route whose
// match holds for the proxy (port, sourceLabels, sourceNamespace, gateways, evaluated when the
// config is generated) wins; tls routes become one filter chain per match, keyed by sniHosts.
import type { VirtualServiceSpec } from '../../config/kinds.js';
import { typed } from '../../xds/any.js';
import type { BoundVirtualService, MeshModel } from '../model/mesh-model.js';
import { resolveHost } from '../model/hosts.js';
import { labelsMatch } from '../model/service.js';
import { toProtoDuration } from './durations.js';
import { clusterName } from './names.js';

type EnvoyObject = Record<string, unknown>;
type TcpRoute = NonNullable<VirtualServiceSpec['tcp']>[number];
type TlsRoute = NonNullable<VirtualServiceSpec['tls']>[number];
type RouteDestination = NonNullable<TcpRoute['route']>[number];
type L4Match = NonNullable<TcpRoute['match']>[number];

const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

export interface L4Context {
  readonly model: MeshModel;
  /** The port traffic arrives for (service port for sidecars, server port for gateways). */
  readonly port: number;
  /** `mesh` for sidecars, `namespace/name` of the Gateway for routers. */
  readonly gateway: string;
  /** The proxy's labels and namespace (sourceLabels, sourceNamespace). */
  readonly labels: Readonly<Record<string, string>>;
  readonly namespace: string;
}

/** Istio's GetDestinationCluster: the destination's port, the service's only port, or the listener's. */
function destinationCluster(
  dest: RouteDestination['destination'],
  vsNamespace: string,
  ctx: L4Context,
): { cluster: string; host: string } {
  const host = resolveHost(dest.host, vsNamespace);
  const svc = ctx.model.services.get(host);
  const only = svc?.ports.length === 1 ? svc.ports[0]?.port : undefined;
  const port = dest.port?.number ?? only ?? ctx.port;
  return { cluster: clusterName('outbound', port, dest.subset ?? '', host), host };
}

/** A tcp_proxy filter with the DestinationRule's connection settings (Istio's idle timeout). */
function tcpProxy(
  statPrefix: string,
  specifier: EnvoyObject,
  host: string,
  ctx: L4Context,
): EnvoyObject {
  const tcp = ctx.model.destinationRuleFor(host, ctx.namespace)?.spec.trafficPolicy?.connectionPool
    ?.tcp;
  const config: EnvoyObject = { stat_prefix: statPrefix, ...specifier };
  if (tcp?.idleTimeout) config['idle_timeout'] = toProtoDuration(tcp.idleTimeout);
  if (tcp?.maxConnectionDuration)
    config['max_downstream_connection_duration'] = toProtoDuration(tcp.maxConnectionDuration);
  return { name: 'envoy.filters.network.tcp_proxy', typed_config: typed(TCP_PROXY, config) };
}

/** The tcp_proxy of a service port with no route of its own: its default cluster. */
export function defaultTcpProxy(hostname: string, port: number, ctx: L4Context): EnvoyObject {
  const cluster = clusterName('outbound', port, '', hostname);
  return tcpProxy(cluster, { cluster }, hostname, ctx);
}

/**
 * Istio's buildOutboundNetworkFilters: one destination → `cluster` (whatever its weight), several
 * → `weighted_clusters` of those with a weight, stat prefix `<vs name>.<namespace>`.
 */
export function routeTcpProxy(
  routes: readonly RouteDestination[],
  vs: BoundVirtualService,
  ctx: L4Context,
): EnvoyObject | undefined {
  const first = routes[0];
  if (!first) return undefined;
  if (routes.length === 1) {
    const { cluster, host } = destinationCluster(first.destination, vs.namespace, ctx);
    return tcpProxy(cluster, { cluster }, host, ctx);
  }
  const clusters = routes
    .filter((r) => (r.weight ?? 0) > 0)
    .map((r) => ({
      name: destinationCluster(r.destination, vs.namespace, ctx).cluster,
      weight: r.weight ?? 0,
    }));
  if (clusters.length === 0) return undefined;
  const statPrefix = `${vs.resource.metadata.name}.${vs.namespace}`;
  const host = destinationCluster(first.destination, vs.namespace, ctx).host;
  return tcpProxy(statPrefix, { weighted_clusters: { clusters } }, host, ctx);
}

function gatewayOf(name: string, vsNamespace: string): string {
  return name === 'mesh' || name.includes('/') ? name : `${vsNamespace}/${name}`;
}

/**
 * Istio's matchTCP / matchTLS: the match's static predicates (port, sourceLabels,
 * sourceNamespace, gateways). destinationSubnets needs the destination address, which a local
 * mode tunnel names by host: such a match does not apply there.
 */
export function l4MatchApplies(
  m: L4Match | undefined,
  vsNamespace: string,
  ctx: L4Context,
  opts: { readonly subnets: boolean } = { subnets: false },
): boolean {
  if (!m) return true;
  if (m.port !== undefined && m.port !== 0 && m.port !== ctx.port) return false;
  if (m.sourceLabels && !labelsMatch(m.sourceLabels, ctx.labels)) return false;
  if (m.sourceNamespace && m.sourceNamespace !== ctx.namespace) return false;
  if (m.gateways?.length && !m.gateways.some((g) => gatewayOf(g, vsNamespace) === ctx.gateway))
    return false;
  if (!opts.subnets && m.destinationSubnets?.length) return false;
  return true;
}

/** The first tcp route of the VirtualServices (in order) that matches: its tcp_proxy. */
export function tcpRouteFilter(
  vses: readonly BoundVirtualService[],
  ctx: L4Context,
): EnvoyObject | undefined {
  for (const vs of vses) {
    for (const route of (vs.spec.tcp ?? []) as TcpRoute[]) {
      if (!route.route?.length) continue;
      const matches = route.match?.length ? route.match : [undefined];
      if (!matches.some((m) => l4MatchApplies(m, vs.namespace, ctx))) continue;
      const filter = routeTcpProxy(route.route, vs, ctx);
      if (filter) return filter;
    }
  }
  return undefined;
}

export interface SniChain {
  readonly sniHosts: readonly string[];
  readonly filter: EnvoyObject;
}

/**
 * tls routes → one chain per match that holds, keyed by its sniHosts; a later match with the
 * same sniHosts is unreachable and dropped (Envoy refuses duplicate filter chain matches).
 */
export function tlsRouteChains(
  vses: readonly BoundVirtualService[],
  ctx: L4Context,
  seen: Set<string> = new Set(),
): SniChain[] {
  const out: SniChain[] = [];
  for (const vs of vses) {
    for (const route of (vs.spec.tls ?? []) as TlsRoute[]) {
      if (!route.route?.length) continue;
      for (const m of route.match ?? []) {
        if (!l4MatchApplies(m as L4Match, vs.namespace, ctx)) continue;
        const sniHosts = (m.sniHosts ?? []).map((h) => h.toLowerCase());
        const key = [...sniHosts].sort().join(',');
        if (seen.has(key)) continue;
        const filter = routeTcpProxy(route.route, vs, ctx);
        if (!filter) continue;
        seen.add(key);
        out.push({ sniHosts, filter });
      }
    }
  }
  return out;
}
