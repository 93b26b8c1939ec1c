// RDS: route configurations. Sidecars get Istio's `http_proxy` config (every service their Sidecar
// imports, on every port, domains with and without the port) for their HTTP proxy listener;
// gateways get `http.<port>` per server port with the VirtualServices bound to them.
import type { ProxyNode } from '../../xds/node.js';
import type { NamedResource } from '../server/snapshot.js';
import type { BoundVirtualService, MeshModel } from '../model/mesh-model.js';
import { MESH_GATEWAY } from '../model/mesh-model.js';
import {
  hostMatches,
  hostsIntersect,
  isWildcard,
  kubernetesParts,
  narrowerHost,
} from '../model/hosts.js';
import { isHttpProtocol } from '../model/protocol.js';
import type { MeshService } from '../model/service.js';
import type { EgressScope } from '../model/sidecar-scope.js';
import { egressFor } from '../model/sidecar-scope.js';
import {
  HTTP_PROXY_ROUTE,
  PASSTHROUGH_CLUSTER,
  clusterName,
  gatewayRouteName,
  virtualHostName,
} from './names.js';
import type { RouteContext } from './http-routes.js';
import { defaultRoute, translateHttpRoutes } from './http-routes.js';
import type { GatewayServerPort } from './gateway-servers.js';
import { grpcWebEnabled } from './grpc-web.js';

type EnvoyObject = Record<string, unknown>;

/**
 * Host headers a service answers to from a proxy in `proxyNamespace` (Istio's
 * generateVirtualHostDomains): the FQDN, for Kubernetes services `name.ns.svc`, `name.ns` and the
 * bare name from the same namespace, and the service's virtual IPs (a ServiceEntry's
 * `addresses`); each with and without `:port`.
 */
export function serviceDomains(svc: MeshService, port: number, proxyNamespace: string): string[] {
  const names = [svc.hostname];
  const parts = kubernetesParts(svc.hostname);
  if (svc.registry === 'Kubernetes' && parts) {
    names.push(`${parts.name}.${parts.namespace}.svc`, `${parts.name}.${parts.namespace}`);
    if (parts.namespace === proxyNamespace) names.push(parts.name);
  }
  for (const ip of svc.addresses)
    if (!ip.includes('/')) names.push(ip.includes(':') ? `[${ip}]` : ip);
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

/**
 * The routes of the VirtualService governing a host on one port (Istio's
 * BuildSidecarVirtualHostWrapper): VirtualServices naming the host exactly, in order, the first
 * with routes for the port winning (a later one for the same host is ignored: sidecars do not
 * merge VirtualServices); else the most specific wildcard host's (mostSpecificWildcardVsIndex).
 * Undefined: no VirtualService routes it, the default route applies.
 */
function virtualServiceRoutes(
  host: string,
  candidates: readonly BoundVirtualService[],
  ctx: RouteContext,
): EnvoyObject[] | undefined {
  const exact = candidates.filter((vs) => vs.hosts.includes(host));
  for (const vs of exact) {
    const routes = translateHttpRoutes(vs, ctx);
    if (routes.length) return routes;
  }
  if (exact.length) return undefined;
  let best: { vs: BoundVirtualService; length: number } | undefined;
  for (const vs of candidates) {
    for (const h of vs.hosts) {
      if (isWildcard(h) && hostMatches(h, host) && (!best || h.length > best.length))
        best = { vs, length: h.length };
    }
  }
  const routes = best ? translateHttpRoutes(best.vs, ctx) : [];
  return routes.length ? routes : undefined;
}

/** Where ALLOW_ANY sends unknown hosts: the Sidecar's egressProxy, else PassthroughCluster. */
function passthroughCluster(model: MeshModel): string {
  const proxy = model.sidecarScope?.outboundTrafficPolicy.egressProxy;
  if (!proxy) return PASSTHROUGH_CLUSTER;
  const svc = model.services.get(proxy.host);
  const port = proxy.port ?? (svc?.ports.length === 1 ? svc.ports[0]?.port : undefined) ?? 80;
  return clusterName('outbound', port, proxy.subset, proxy.host);
}

/**
 * The last virtual host (Istio's): under REGISTRY_ONLY `block_all` answers 502 (what Envoy's
 * BlackHoleCluster amounts to for HTTP); under ALLOW_ANY `allow_any` passes the request through
 * to the authority it names.
 */
function catchAllVirtualHost(model: MeshModel): EnvoyObject {
  if (model.meshConfig.outboundTrafficPolicy.mode === 'REGISTRY_ONLY') {
    return {
      name: 'block_all',
      domains: ['*'],
      routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }],
    };
  }
  return {
    name: 'allow_any',
    domains: ['*'],
    routes: [
      {
        name: 'allow_any',
        match: { prefix: '/' },
        route: { cluster: passthroughCluster(model), timeout: '0s' },
      },
    ],
  };
}

/**
 * A sidecar's `http_proxy` route configuration, from its view of the model (MeshModel.forProxy):
 * the services its Sidecar imports, each port routed by the VirtualServices of the egress
 * listener governing that port.
 */
export function sidecarHttpProxyRoute(node: ProxyNode, model: MeshModel): NamedResource {
  const all = model.virtualServicesFor(MESH_GATEWAY, node.namespace);
  const scope = model.sidecarScope;
  // Each egress listener's VirtualServices, in Istio's order (computed once per listener).
  const byListener = new Map<EgressScope | undefined, readonly BoundVirtualService[]>();
  const candidatesAt = (port: number): readonly BoundVirtualService[] => {
    const listener = scope ? egressFor(scope, port) : undefined;
    let list = byListener.get(listener);
    if (!list) {
      const own = new Set(listener?.virtualServices ?? all);
      list = all.filter((vs) => own.has(vs));
      byListener.set(listener, list);
    }
    return list;
  };
  const seen = new Set<string>();
  const virtualHosts: EnvoyObject[] = [];
  for (const svc of model.servicesVisibleTo(node.namespace)) {
    for (const port of svc.ports) {
      if (!isHttpProtocol(port.protocol)) continue;
      const ctx: RouteContext = { model, port: port.port, gateway: MESH_GATEWAY };
      const vses = candidatesAt(port.port);
      // A VirtualService none of whose matches apply to this port does not govern it: Istio
      // builds no virtual host from it there, and the service keeps its default route.
      const routes = virtualServiceRoutes(svc.hostname, vses, ctx) ?? [
        defaultRoute(clusterName('outbound', port.port, '', svc.hostname), ctx),
      ];
      // Envoy refuses a domain in two virtual hosts; the first service to claim one keeps it.
      const domains = serviceDomains(svc, port.port, node.namespace).filter((d) => !seen.has(d));
      domains.forEach((d) => seen.add(d));
      if (domains.length === 0) continue;
      virtualHosts.push({
        name: virtualHostName(svc.hostname, port.port),
        domains,
        routes,
        // Istio's outbound listener of a gRPC-Web port has grpc_web; local mode's one listener
        // has it disabled, enabled here.
        ...(port.protocol === 'GRPC-Web' ? { typed_per_filter_config: grpcWebEnabled() } : {}),
      });
    }
  }
  virtualHosts.push(catchAllVirtualHost(model));
  return {
    name: HTTP_PROXY_ROUTE,
    resource: { name: HTTP_PROXY_ROUTE, virtual_hosts: virtualHosts, validate_clusters: false },
  };
}

/**
 * A gateway's route config for one server port: every bound VirtualService host the servers
 * accept. The VirtualServices are those exported to the gateway proxy's namespace (Istio applies
 * exportTo to gateways too); all bound ones when no namespace is given.
 */
export function gatewayRoute(
  server: GatewayServerPort,
  model: MeshModel,
  proxyNamespace?: string,
): NamedResource {
  const name = gatewayRouteName(server.port);
  const byHost = new Map<string, EnvoyObject[]>();
  for (const { gateway, hosts } of server.servers) {
    const bound =
      proxyNamespace === undefined
        ? model.virtualServices.filter((vs) => vs.gateways.includes(gateway))
        : model.virtualServicesFor(gateway, proxyNamespace);
    for (const vs of bound) {
      const ctx: RouteContext = { model, port: server.port, gateway };
      for (const vsHost of vs.spec.hosts ?? []) {
        const serverHost = hosts.find(
          (h) =>
            hostsIntersect(h.host, vsHost.toLowerCase()) &&
            (h.namespace === '*' || h.namespace === vs.namespace),
        );
        if (!serverHost) continue;
        const host = narrowerHost(serverHost.host, vsHost.toLowerCase());
        // Istio merges the routes of several VirtualServices for one gateway host, in order.
        const routes = byHost.get(host) ?? [];
        routes.push(...translateHttpRoutes(vs, ctx));
        byHost.set(host, routes);
      }
    }
  }
  const virtualHosts = [...byHost].map(([host, routes]) => ({
    name: virtualHostName(host, server.port),
    domains: host === '*' ? ['*'] : [host, `${host}:${server.port}`],
    routes,
  }));
  return { name, resource: { name, virtual_hosts: virtualHosts, validate_clusters: false } };
}

/** Inbound: everything arriving at a workload port goes to the app (Istio's `inbound|port||`). */
export function inboundRouteConfig(containerPort: number): EnvoyObject {
  const cluster = clusterName('inbound', containerPort, '', '');
  return {
    name: cluster,
    virtual_hosts: [
      {
        name: `inbound|http|${containerPort}`,
        domains: ['*'],
        routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster, timeout: '0s' } }],
      },
    ],
    validate_clusters: false,
  };
}
