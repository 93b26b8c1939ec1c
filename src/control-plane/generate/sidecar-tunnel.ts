// Local mode's CONNECT tunnels (how apps that are not HTTP/1.1 forward-proxy aware reach the mesh:
// TCP clients, and gRPC clients honouring http_proxy). The outbound listener terminates CONNECT
// (Envoy's CONNECT termination: HCM upgrade_configs CONNECT, routes with connect_matcher and
// upgrade_configs connect_config). Where a tunnel goes depends on the target port's protocol:
// - TCP ports: the VirtualService tcp[] routes for that host and port (weighted), else the
//   service's cluster, as Istio's outbound TCP listener would;
// - HTTP ports: the internal listener `outbound_tunnel`, whose default filter chain runs the
//   tunnel's bytes through the HTTP path again (HTTP/1.1 or HTTP/2 by the preface), with the
//   CONNECT authority as the default authority: routing, retries and the rest apply inside;
// - TLS ports: the same internal listener, whose tls_inspector and SNI filter chains apply the
//   tls[] routes (sniHosts), as Istio's outbound TLS listener would;
// - IP addresses on ports with destinationSubnets matches: the internal listener too, whose
//   prefix_ranges chains match the address (a name's destination IP is its service's VIP);
// - unknown hosts: PassthroughCluster (ALLOW_ANY) or refused (REGISTRY_ONLY).
import { typed } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import type { NamedResource } from '../server/snapshot.js';
import type { BoundVirtualService, MeshModel } from '../model/mesh-model.js';
import { MESH_GATEWAY } from '../model/mesh-model.js';
import { hostMatches } from '../model/hosts.js';
import type { Protocol } from '../model/protocol.js';
import { isHttpProtocol } from '../model/protocol.js';
import type { MeshService } from '../model/service.js';
import { tlsInspector } from './gateway-l4.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, virtualHostName } from './names.js';
import { serviceDomains } from './routes.js';
import type { L4Context } from './tcp-routes.js';
import {
  cidrRange,
  defaultTcpProxy,
  serviceVip,
  tcpRouteChains,
  tcpRouteFilter,
  tlsRouteChains,
} from './tcp-routes.js';

type EnvoyObject = Record<string, unknown>;

/** The internal listener tunnels to HTTP and TLS ports go through, and the cluster reaching it. */
export const OUTBOUND_TUNNEL = 'outbound_tunnel';

const CATCH_ALL = new Set(['allow_any', 'block_all']);

function isTls(p: Protocol): boolean {
  return p === 'TLS' || p === 'HTTPS';
}

function isTcpLike(p: Protocol): boolean {
  return !isHttpProtocol(p) && p !== 'UDP';
}

/** A route for CONNECT requests that terminates them and sends the tunnel to `target`. */
export function connectRoute(name: string, target: EnvoyObject): EnvoyObject {
  return {
    name,
    match: { connect_matcher: {} },
    route: {
      ...target,
      timeout: '0s',
      upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }],
    },
  };
}

/** The cluster whose only endpoint is the internal listener (envoy_internal_address). */
export function outboundTunnelCluster(): NamedResource {
  return {
    name: OUTBOUND_TUNNEL,
    resource: {
      name: OUTBOUND_TUNNEL,
      type: 'STATIC',
      connect_timeout: '10s',
      lb_policy: 'ROUND_ROBIN',
      load_assignment: {
        cluster_name: OUTBOUND_TUNNEL,
        endpoints: [
          {
            lb_endpoints: [
              {
                endpoint: {
                  address: { envoy_internal_address: { server_listener_name: OUTBOUND_TUNNEL } },
                },
              },
            ],
          },
        ],
      },
    },
  };
}

function vsesFor(host: string, all: readonly BoundVirtualService[]): BoundVirtualService[] {
  return all.filter((vs) => vs.hosts.some((h) => hostMatches(h, host)));
}

function l4Context(node: ProxyNode, model: MeshModel, port: number): L4Context {
  return { model, port, gateway: MESH_GATEWAY, labels: node.labels, namespace: node.namespace };
}

/** Host names a TLS client may put in its SNI for a service (no IPs: SNI carries names). */
function sniNames(svc: MeshService, port: number, namespace: string): string[] {
  return serviceDomains(svc, port, namespace).filter(
    (d) => !d.endsWith(`:${port}`) && !/^[\d.]+$|^\[/.test(d),
  );
}

/** The tcp_proxy of the catch-all (PassthroughCluster, or BlackHoleCluster under REGISTRY_ONLY). */
function fallbackTcpProxy(model: MeshModel): EnvoyObject {
  const fallback =
    model.meshConfig.outboundTrafficPolicy.mode === 'REGISTRY_ONLY'
      ? BLACKHOLE_CLUSTER
      : PASSTHROUGH_CLUSTER;
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: typed('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', {
      stat_prefix: fallback,
      cluster: fallback,
    }),
  };
}

/** Every IPv4 and IPv6 destination: matches tunnels to an IP address, not those to a name. */
const ANY_IP = ['0.0.0.0/0', '::/0'];

/**
 * The filter chains of the internal listener, and the ports whose tunnels to an IP address must
 * reach it for destinationSubnets to be matched (Istio's outbound listeners: one per port and
 * VIP, the destination IP picking the VIP's listener and then the chain by prefix_ranges):
 * - TLS ports: the tls[] routes' SNI chains (else the service's own names to its cluster); a
 *   match with destinationSubnets adds prefix_ranges, or for a service with a VIP is decided
 *   here (a name resolves to the VIP); whatever else arrives on the port goes to the catch-all;
 * - TCP ports with subnet matches (services without a VIP; one with a VIP is decided in its
 *   CONNECT route): a chain per route's subnets, the service's CIDR addresses to its terminal
 *   route or cluster, any other IP to the catch-all.
 */
function tunnelChains(
  node: ProxyNode,
  model: MeshModel,
): { chains: EnvoyObject[]; runtimePorts: Set<number> } {
  const chains: EnvoyObject[] = [];
  const keys = new Set<string>();
  const add = (match: EnvoyObject, filter: EnvoyObject) => {
    const key = JSON.stringify(
      Object.entries(match)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => JSON.stringify(x)).sort() : v]),
    );
    if (keys.has(key)) return;
    keys.add(key);
    chains.push({ filter_chain_match: match, filters: [filter] });
  };
  const prefixes = (subnets: readonly string[]) => ({ prefix_ranges: subnets.map(cidrRange) });
  const allVses = model.virtualServicesFor(MESH_GATEWAY, node.namespace);
  const visible = model.servicesVisibleTo(node.namespace);
  const fallback = fallbackTcpProxy(model);
  const tlsPorts = new Set<number>();
  const runtimePorts = new Set<number>();
  const seenByPort = new Map<number, Set<string>>();
  for (const svc of visible) {
    const vip = serviceVip(svc.addresses);
    for (const sp of svc.ports) {
      const ctx = l4Context(node, model, sp.port);
      const vses = vsesFor(svc.hostname, allVses);
      if (isTls(sp.protocol)) {
        tlsPorts.add(sp.port);
        const seen = seenByPort.get(sp.port) ?? new Set<string>();
        seenByPort.set(sp.port, seen);
        const routed = tlsRouteChains(vses, ctx, seen, vip ? { destination: vip } : 'runtime');
        for (const c of routed) {
          if (c.subnets.length) {
            runtimePorts.add(sp.port);
            add(
              { destination_port: sp.port, ...prefixes(c.subnets), server_names: c.sniHosts },
              c.filter,
            );
            add({ destination_port: sp.port, ...prefixes(c.subnets) }, fallback);
          } else {
            add({ destination_port: sp.port, server_names: c.sniHosts }, c.filter);
          }
        }
        // Outside its subnets (or by name), a service with only subnet routes gets its own.
        if (routed.some((c) => c.subnets.length === 0)) continue;
        const names = sniNames(svc, sp.port, node.namespace);
        const key = `${[...names].sort().join(',')}|`;
        if (seen.has(key)) continue;
        seen.add(key);
        add(
          { destination_port: sp.port, server_names: names },
          defaultTcpProxy(svc.hostname, sp.port, ctx),
        );
      } else if (isTcpLike(sp.protocol) && !vip) {
        const { subnetChains } = tcpRouteChains(vses, ctx);
        for (const c of subnetChains) {
          runtimePorts.add(sp.port);
          add({ destination_port: sp.port, ...prefixes(c.subnets) }, c.filter);
        }
      }
    }
  }
  // Tunnels to an IP on a TCP port with subnet chains: in a service's CIDR block, its route.
  for (const svc of visible) {
    const blocks = svc.addresses.filter((a) => a.includes('/'));
    if (blocks.length === 0) continue;
    for (const sp of svc.ports) {
      if (!runtimePorts.has(sp.port) || isTls(sp.protocol) || !isTcpLike(sp.protocol)) continue;
      const ctx = l4Context(node, model, sp.port);
      const filter =
        tcpRouteChains(vsesFor(svc.hostname, allVses), ctx).terminal ??
        defaultTcpProxy(svc.hostname, sp.port, ctx);
      add({ destination_port: sp.port, ...prefixes(blocks) }, filter);
    }
  }
  for (const port of runtimePorts)
    if (!tlsPorts.has(port)) add({ destination_port: port, ...prefixes(ANY_IP) }, fallback);
  for (const port of tlsPorts) add({ destination_port: port }, fallback);
  return { chains, runtimePorts };
}

/**
 * The internal listener: the chains of tunnelChains (a tls_inspector when they match SNI);
 * everything else (HTTP tunnels) to the connection manager of `httpFilter`.
 */
export function outboundTunnelListener(
  node: ProxyNode,
  model: MeshModel,
  httpFilter: EnvoyObject,
): NamedResource {
  const { chains } = tunnelChains(node, model);
  const sni = chains.some((c) => (c['filter_chain_match'] as EnvoyObject)['server_names']);
  return {
    name: OUTBOUND_TUNNEL,
    resource: {
      name: OUTBOUND_TUNNEL,
      address: { envoy_internal_address: { server_listener_name: OUTBOUND_TUNNEL } },
      internal_listener: {},
      traffic_direction: 'OUTBOUND',
      ...(sni ? { listener_filters: [tlsInspector()] } : {}),
      filter_chains: chains,
      default_filter_chain: { name: 'http', filters: [httpFilter] },
    },
  };
}

/** tcp_proxy → the route target (`cluster` or `weighted_clusters`) a CONNECT route carries. */
function routeTarget(tcpProxyFilter: EnvoyObject): EnvoyObject {
  const config = tcpProxyFilter['typed_config'] as EnvoyObject;
  return config['weighted_clusters']
    ? { weighted_clusters: config['weighted_clusters'] }
    : { cluster: config['cluster'] };
}

/**
 * The `http_proxy` route configuration with CONNECT routes: HTTP virtual hosts tunnel to the
 * internal listener, TCP and TLS service ports get virtual hosts of their own (domains with the
 * port, as a CONNECT authority always has one), the catch-all passes tunnels through.
 */
export function withTunnelRoutes(
  routeConfig: NamedResource,
  node: ProxyNode,
  model: MeshModel,
): NamedResource {
  const rc = routeConfig.resource as EnvoyObject;
  const vhosts = (rc['virtual_hosts'] as EnvoyObject[] | undefined) ?? [];
  const seen = new Set<string>();
  for (const vh of vhosts) for (const d of (vh['domains'] as string[]) ?? []) seen.add(d);
  const out: EnvoyObject[] = [];
  const catchAll: EnvoyObject[] = [];
  for (const vh of vhosts) {
    if (CATCH_ALL.has(String(vh['name']))) {
      catchAll.push(withCatchAllConnect(vh));
      continue;
    }
    const routes = (vh['routes'] as EnvoyObject[] | undefined) ?? [];
    out.push({ ...vh, routes: [connectRoute('connect', { cluster: OUTBOUND_TUNNEL }), ...routes] });
  }
  const allVses = model.virtualServicesFor(MESH_GATEWAY, node.namespace);
  for (const svc of model.servicesVisibleTo(node.namespace)) {
    for (const sp of svc.ports) {
      if (!isTcpLike(sp.protocol)) continue;
      const domains = serviceDomains(svc, sp.port, node.namespace).filter(
        (d) => d.endsWith(`:${sp.port}`) && !seen.has(d),
      );
      if (domains.length === 0) continue;
      domains.forEach((d) => seen.add(d));
      let target: EnvoyObject;
      if (isTls(sp.protocol)) {
        target = { cluster: OUTBOUND_TUNNEL };
      } else {
        const ctx = l4Context(node, model, sp.port);
        // The name resolves to the VIP (as Istio's DNS does): its subnet matches are decided now.
        const filter =
          tcpRouteFilter(vsesFor(svc.hostname, allVses), ctx, serviceVip(svc.addresses)) ??
          defaultTcpProxy(svc.hostname, sp.port, ctx);
        target = routeTarget(filter);
      }
      out.push({
        name: virtualHostName(svc.hostname, sp.port),
        domains,
        routes: [connectRoute(isTls(sp.protocol) ? 'tls' : 'tcp', target)],
      });
    }
  }
  const { runtimePorts } = tunnelChains(node, model);
  const toTunnel = runtimePorts.size ? ipConnectRoute([...runtimePorts]) : undefined;
  const routedCatchAll = toTunnel
    ? catchAll.map((vh) => ({
        ...vh,
        routes: [toTunnel, ...((vh['routes'] as EnvoyObject[] | undefined) ?? [])],
      }))
    : catchAll;
  return { ...routeConfig, resource: { ...rc, virtual_hosts: [...out, ...routedCatchAll] } };
}

/**
 * CONNECT to an IP address (`a.b.c.d:port`, `[v6]:port`) on a port with destinationSubnets
 * chains: to the internal listener, where the address is the destination IP they match.
 */
function ipConnectRoute(ports: readonly number[]): EnvoyObject {
  const regex = `(?:\\d{1,3}(?:\\.\\d{1,3}){3}|\\[[0-9A-Fa-f:.]+\\]):(?:${[...ports].sort((a, b) => a - b).join('|')})`;
  const route = connectRoute('destination_subnets', { cluster: OUTBOUND_TUNNEL });
  const match = route['match'] as EnvoyObject;
  return {
    ...route,
    match: { ...match, headers: [{ name: ':authority', string_match: { safe_regex: { regex } } }] },
  };
}

/** ALLOW_ANY tunnels unknown targets to where plain requests go; REGISTRY_ONLY refuses them. */
function withCatchAllConnect(vh: EnvoyObject): EnvoyObject {
  const routes = (vh['routes'] as EnvoyObject[] | undefined) ?? [];
  const first = routes[0];
  const action = first?.['route'] as EnvoyObject | undefined;
  const connect = action?.['cluster']
    ? connectRoute(`${String(vh['name'])}_connect`, { cluster: action['cluster'] })
    : {
        name: `${String(vh['name'])}_connect`,
        match: { connect_matcher: {} },
        direct_response: { status: 502 },
      };
  return { ...vh, routes: [connect, ...routes] };
}
