// VirtualService `tcp[]` and `tls[]` routes → tcp_proxy network filters, following Istio's
// translation (pilot/pkg/networking/core/tls.go, networkfilter.go): the first tcp route whose
// match holds for the proxy (port, sourceLabels, sourceNamespace, gateways, evaluated when the
// config is generated) wins; tls routes become one filter chain per match, keyed by sniHosts.
// destinationSubnets is a runtime predicate (the address the client dialled), as in Istio's
// buildSidecarOutboundTCPFilterChainOpts: a sidecar's subnet matches become filter chains with
// prefix_ranges (the most specific prefix wins, as Envoy picks), or are evaluated here against a
// service's VIP when the destination is known to be that VIP; gateways ignore them, as Istio's.
import { BlockList, isIP } from 'node:net';
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
 * sourceNamespace, gateways). destinationSubnets is a runtime predicate: see the callers.
 */
export function l4MatchApplies(
  m: L4Match | undefined,
  vsNamespace: string,
  ctx: L4Context,
): boolean {
  if (!m) return true;
  if (m.port !== undefined && m.port !== 0 && m.port !== ctx.port) return false;
  if (m.sourceLabels && !labelsMatch(m.sourceLabels, ctx.labels)) return false;
  if (m.sourceNamespace && m.sourceNamespace !== ctx.namespace) return false;
  if (m.gateways?.length && !m.gateways.some((g) => gatewayOf(g, vsNamespace) === ctx.gateway))
    return false;
  return true;
}

/** A destinationSubnets entry (an IP or a CIDR block) as an Envoy CidrRange. */
export function cidrRange(subnet: string): { address_prefix: string; prefix_len: number } {
  const [address = '', len] = subnet.split('/');
  const max = isIP(address) === 6 ? 128 : 32;
  return { address_prefix: address, prefix_len: len === undefined ? max : Number(len) };
}

/**
 * The prefix length of the most specific of `subnets` holding `ip` (IPv4 or IPv6, as Envoy's
 * CidrRange matching); -1 when none does or `ip` is not an address.
 */
export function longestPrefixMatch(subnets: readonly string[], ip: string | undefined): number {
  const family = ip ? isIP(ip) : 0;
  if (!ip || family === 0) return -1;
  const type = family === 6 ? 'ipv6' : 'ipv4';
  let best = -1;
  for (const s of subnets) {
    const { address_prefix: address, prefix_len: len } = cidrRange(s);
    if (isIP(address) !== family || !(len >= 0) || len <= best) continue;
    const list = new BlockList();
    try {
      list.addSubnet(address, len, type);
    } catch {
      continue; // validation reports malformed subnets
    }
    if (list.check(ip, type)) best = len;
  }
  return best;
}

/** A service's VIP: its one address that is an IP (not a CIDR block); names resolve to it. */
export function serviceVip(addresses: readonly string[]): string | undefined {
  return addresses.find((a) => isIP(a) !== 0);
}

export interface SubnetChain {
  readonly subnets: readonly string[];
  readonly filter: EnvoyObject;
}

/**
 * Istio's outbound TCP filter chains for one service port: the tcp routes in order; a route
 * whose holding match has no destinationSubnets (or that has no match) is the terminal one and
 * ends the list; before it, each route's subnet matches become one chain on their subnets.
 * Gateways (`ignoreSubnets`) treat a subnet match as holding, as Istio's gateways do.
 */
export function tcpRouteChains(
  vses: readonly BoundVirtualService[],
  ctx: L4Context,
  ignoreSubnets = false,
): { readonly subnetChains: SubnetChain[]; readonly terminal: EnvoyObject | undefined } {
  const subnetChains: SubnetChain[] = [];
  for (const vs of vses) {
    for (const route of (vs.spec.tcp ?? []) as TcpRoute[]) {
      if (!route.route?.length) continue;
      const matches = route.match?.length ? route.match : [undefined];
      const subnets: string[] = [];
      let terminal = false;
      for (const m of matches) {
        if (!l4MatchApplies(m, vs.namespace, ctx)) continue;
        if (ignoreSubnets || !m?.destinationSubnets?.length) {
          terminal = true;
          break;
        }
        subnets.push(...m.destinationSubnets);
      }
      if (!terminal && subnets.length === 0) continue;
      const filter = routeTcpProxy(route.route, vs, ctx);
      if (!filter) continue;
      if (terminal) return { subnetChains, terminal: filter };
      subnetChains.push({ subnets, filter });
    }
  }
  return { subnetChains, terminal: undefined };
}

/**
 * The tcp_proxy a connection to `destination` (an IP, or undefined when unknown) gets: the
 * chain with the most specific subnet holding it (the first of equals), else the terminal route.
 */
export function tcpRouteFilter(
  vses: readonly BoundVirtualService[],
  ctx: L4Context,
  destination: string | undefined,
): EnvoyObject | undefined {
  const { subnetChains, terminal } = tcpRouteChains(vses, ctx);
  let best: { len: number; filter: EnvoyObject } | undefined;
  for (const c of subnetChains) {
    const len = longestPrefixMatch(c.subnets, destination);
    if (len >= 0 && (!best || len > best.len)) best = { len, filter: c.filter };
  }
  return best?.filter ?? terminal;
}

export interface SniChain {
  readonly sniHosts: readonly string[];
  /** The match's destinationSubnets, matched at run time (prefix_ranges); empty: any. */
  readonly subnets: readonly string[];
  readonly filter: EnvoyObject;
}

/**
 * How tls matches' destinationSubnets are taken: ignored (gateways, as Istio's), evaluated
 * against a known destination (a service's VIP), or left to the filter chain (`runtime`).
 */
export type SubnetMode = 'ignore' | 'runtime' | { readonly destination: string };

/**
 * tls routes → one chain per match that holds, keyed by its sniHosts and subnets; a later match
 * with the same keys is unreachable and dropped (Envoy refuses duplicate filter chain matches).
 */
export function tlsRouteChains(
  vses: readonly BoundVirtualService[],
  ctx: L4Context,
  seen: Set<string> = new Set(),
  mode: SubnetMode = 'ignore',
): SniChain[] {
  const out: SniChain[] = [];
  for (const vs of vses) {
    for (const route of (vs.spec.tls ?? []) as TlsRoute[]) {
      if (!route.route?.length) continue;
      for (const m of route.match ?? []) {
        if (!l4MatchApplies(m as L4Match, vs.namespace, ctx)) continue;
        let subnets = m.destinationSubnets ?? [];
        if (mode === 'ignore') subnets = [];
        else if (mode !== 'runtime' && subnets.length) {
          if (longestPrefixMatch(subnets, mode.destination) < 0) continue;
          subnets = [];
        }
        const sniHosts = (m.sniHosts ?? []).map((h) => h.toLowerCase());
        const key = `${[...sniHosts].sort().join(',')}|${[...subnets].sort().join(',')}`;
        if (seen.has(key)) continue;
        const filter = routeTcpProxy(route.route, vs, ctx);
        if (!filter) continue;
        seen.add(key);
        out.push({ sniHosts, subnets, filter });
      }
    }
  }
  return out;
}
