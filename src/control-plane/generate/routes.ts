// RDS: route configurations. Sidecars get Istio's `http_proxy` config (every visible service on
// every port, domains with and without the port) for their HTTP proxy listener; gateways get
// `http.<port>` per server port with the VirtualServices bound to them.
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

type EnvoyObject = Record<string, unknown>;

/**
 * Host headers a service answers to from a proxy in `proxyNamespace` (Istio's
 * generateAltVirtualHostsForKubernetesService): the FQDN, `name.ns.svc`, `name.ns`, and the bare
 * name only from the same namespace; each with and without `:port`.
 */
export function serviceDomains(svc: MeshService, port: number, proxyNamespace: string): string[] {
  const names = [svc.hostname];
  const parts = kubernetesParts(svc.hostname);
  if (svc.registry === 'Kubernetes' && parts) {
    names.push(`${parts.name}.${parts.namespace}.svc`, `${parts.name}.${parts.namespace}`);
    if (parts.namespace === proxyNamespace) names.push(parts.name);
  }
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

/**
 * The VirtualService governing a host: an exact host beats a wildcard, a longer wildcard a
 * shorter one (Istio's mostSpecificWildcardVsIndex); among equals the first one wins.
 */
function virtualServiceFor(
  host: string,
  candidates: readonly BoundVirtualService[],
): BoundVirtualService | undefined {
  const exact = candidates.find((vs) => vs.hosts.includes(host));
  if (exact) return exact;
  let best: { vs: BoundVirtualService; length: number } | undefined;
  for (const vs of candidates) {
    for (const h of vs.hosts) {
      if (isWildcard(h) && hostMatches(h, host) && (!best || h.length > best.length))
        best = { vs, length: h.length };
    }
  }
  return best?.vs;
}

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
        route: { cluster: PASSTHROUGH_CLUSTER, timeout: '0s' },
      },
    ],
  };
}

export function sidecarHttpProxyRoute(node: ProxyNode, model: MeshModel): NamedResource {
  const vses = model.virtualServicesFor(MESH_GATEWAY, node.namespace);
  const seen = new Set<string>();
  const virtualHosts: EnvoyObject[] = [];
  for (const svc of model.servicesVisibleTo(node.namespace)) {
    const vs = virtualServiceFor(svc.hostname, vses);
    for (const port of svc.ports) {
      if (!isHttpProtocol(port.protocol)) continue;
      const ctx: RouteContext = { model, port: port.port, gateway: MESH_GATEWAY };
      // A VirtualService none of whose matches apply to this port does not govern it: Istio
      // builds no virtual host from it there, and the service keeps its default route.
      const fromVs = vs ? translateHttpRoutes(vs, ctx) : [];
      const routes = fromVs.length
        ? fromVs
        : [defaultRoute(clusterName('outbound', port.port, '', svc.hostname), ctx)];
      // Envoy refuses a domain in two virtual hosts; the first service to claim one keeps it.
      const domains = serviceDomains(svc, port.port, node.namespace).filter((d) => !seen.has(d));
      domains.forEach((d) => seen.add(d));
      if (domains.length === 0) continue;
      virtualHosts.push({ name: virtualHostName(svc.hostname, port.port), domains, routes });
    }
  }
  virtualHosts.push(catchAllVirtualHost(model));
  return {
    name: HTTP_PROXY_ROUTE,
    resource: { name: HTTP_PROXY_ROUTE, virtual_hosts: virtualHosts, validate_clusters: false },
  };
}

/** A gateway's route config for one server port: every bound VirtualService host the servers accept. */
export function gatewayRoute(server: GatewayServerPort, model: MeshModel): NamedResource {
  const name = gatewayRouteName(server.port);
  const byHost = new Map<string, EnvoyObject[]>();
  for (const { gateway, hosts } of server.servers) {
    for (const vs of model.virtualServices) {
      if (!vs.gateways.includes(gateway)) continue;
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
