// A router's TCP and TLS passthrough listeners (Istio's gateway.go createGatewayTCPFilterChainOpts):
// a TCP server forwards to the first tcp route of a VirtualService bound to its Gateway; a TLS
// server in PASSTHROUGH mode routes by SNI (tls_inspector, one filter chain per tls match's
// sniHosts) without terminating TLS; destinationSubnets are ignored, as Istio's gateways do. TLS
// termination (SIMPLE, MUTUAL) is the security work's.
import type { ProxyNode } from '../../xds/node.js';
import { typed } from '../../xds/any.js';
import type { NamedResource } from '../server/snapshot.js';
import type { BoundVirtualService, MeshModel } from '../model/mesh-model.js';
import { hostsIntersect } from '../model/hosts.js';
import type { GatewayServerPort } from './gateway-servers.js';
import { listenerName } from './names.js';
import type { L4Context } from './tcp-routes.js';
import { tcpRouteChains, tlsRouteChains } from './tcp-routes.js';

type EnvoyObject = Record<string, unknown>;

const TLS_INSPECTOR = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';

export function tlsInspector(): EnvoyObject {
  return {
    name: 'envoy.filters.listener.tls_inspector',
    typed_config: typed(TLS_INSPECTOR, {}),
  };
}

/** VirtualServices bound to `gateway` with a host the server accepts (pickMatchingGatewayHosts). */
function boundTo(
  gateway: string,
  hosts: GatewayServerPort['servers'][number]['hosts'],
  model: MeshModel,
  proxyNamespace: string,
): BoundVirtualService[] {
  return model
    .virtualServicesFor(gateway, proxyNamespace)
    .filter((vs) =>
      vs.hosts.some((h) =>
        hosts.some(
          (sh) =>
            hostsIntersect(sh.host, h) && (sh.namespace === '*' || sh.namespace === vs.namespace),
        ),
      ),
    );
}

export function gatewayL4Listener(
  node: ProxyNode,
  s: GatewayServerPort,
  model: MeshModel,
): NamedResource | undefined {
  const chains: EnvoyObject[] = [];
  let needsInspector = false;
  const seenSni = new Set<string>();
  for (const server of s.servers) {
    const ctx: L4Context = {
      model,
      port: s.port,
      gateway: server.gateway,
      labels: node.labels,
      namespace: node.namespace,
    };
    const vses = boundTo(server.gateway, server.hosts, model, node.namespace);
    if (server.tlsMode === undefined) {
      // Opaque TCP: one chain, the first matching tcp route (only one server per port can win).
      if (chains.length) continue;
      // Istio's gateways do not match destinationSubnets: a subnet match holds on the rest.
      const filter = tcpRouteChains(vses, ctx, true).terminal;
      if (filter) chains.push({ filters: [filter] });
    } else if (server.tlsMode === 'PASSTHROUGH') {
      for (const c of tlsRouteChains(vses, ctx, seenSni)) {
        needsInspector = true;
        chains.push({
          filter_chain_match: { server_names: c.sniHosts },
          filters: [c.filter],
        });
      }
    }
  }
  // Istio builds no listener for a server no route feeds ("listener missed network filter").
  if (chains.length === 0) return undefined;
  const name = listenerName(node.ip, s.hostPort);
  return {
    name,
    resource: {
      name,
      address: { socket_address: { address: node.ip, port_value: s.hostPort } },
      traffic_direction: 'OUTBOUND',
      ...(needsInspector ? { listener_filters: [tlsInspector()] } : {}),
      filter_chains: chains,
    },
  };
}
