// LDS: a sidecar's HTTP proxy listener (local mode's outbound) and one inbound listener per
// workload port; a router's listeners, one per Gateway server port.
import type { ProxyNode } from '../../xds/node.js';
import { typed } from '../../xds/any.js';
import type { NamedResource } from '../server/snapshot.js';
import type { GatewayServerPort } from './gateway-servers.js';
import { isHttpServer } from './gateway-servers.js';
import {
  HTTP_PROXY_ROUTE,
  VIRTUAL_OUTBOUND,
  clusterName,
  gatewayRouteName,
  listenerName,
} from './names.js';
import { inboundRouteConfig } from './routes.js';

type EnvoyObject = Record<string, unknown>;

const HCM_TYPE =
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

interface HcmOptions {
  readonly statPrefix: string;
  /** RDS name, or an inline route configuration. */
  readonly routes: { readonly rds: string } | { readonly inline: EnvoyObject };
  /** Gateways trust the connection's address for x-forwarded-for; sidecars do not. */
  readonly useRemoteAddress: boolean;
  /** The local-mode outbound listener receives absolute-form (forward proxy) requests. */
  readonly forwardProxy: boolean;
}

function httpConnectionManager(o: HcmOptions): EnvoyObject {
  const config: EnvoyObject = {
    stat_prefix: o.statPrefix,
    codec_type: 'AUTO',
    http_filters: [
      {
        name: 'envoy.filters.http.router',
        typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
      },
    ],
    use_remote_address: o.useRemoteAddress,
    generate_request_id: true,
    // Istio's defaults: normalise paths (RFC 3986), leave escaped slashes alone.
    normalize_path: true,
    path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    server_name: 'istio-envoy',
  };
  if ('rds' in o.routes) {
    config['rds'] = {
      route_config_name: o.routes.rds,
      config_source: { ads: {}, resource_api_version: 'V3' },
    };
  } else {
    config['route_config'] = o.routes.inline;
  }
  if (o.forwardProxy) config['http_protocol_options'] = { allow_absolute_url: true };
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: typed(HCM_TYPE, config),
  };
}

function socketAddress(address: string, port: number): EnvoyObject {
  return { socket_address: { address, port_value: port } };
}

export function buildSidecarListeners(node: ProxyNode): NamedResource[] {
  const out: NamedResource[] = [];
  if (node.outboundPort !== undefined) {
    out.push({
      name: VIRTUAL_OUTBOUND,
      resource: {
        name: VIRTUAL_OUTBOUND,
        address: socketAddress(node.ip, node.outboundPort),
        traffic_direction: 'OUTBOUND',
        filter_chains: [
          {
            name: HTTP_PROXY_ROUTE,
            filters: [
              httpConnectionManager({
                statPrefix: `outbound_${node.ip}_${node.outboundPort}`,
                routes: { rds: HTTP_PROXY_ROUTE },
                useRemoteAddress: false,
                forwardProxy: true,
              }),
            ],
          },
        ],
      },
    });
  }
  for (const p of node.inbound) {
    const name = listenerName(node.ip, p.listenPort);
    const cluster = clusterName('inbound', p.containerPort, '', '');
    out.push({
      name,
      resource: {
        name,
        address: socketAddress(node.ip, p.listenPort),
        traffic_direction: 'INBOUND',
        filter_chains: [
          {
            name: cluster,
            filters: [
              httpConnectionManager({
                statPrefix: `inbound_${node.ip}_${p.containerPort}`,
                routes: { inline: inboundRouteConfig(p.containerPort) },
                useRemoteAddress: false,
                forwardProxy: false,
              }),
            ],
          },
        ],
      },
    });
  }
  return out;
}

export function buildGatewayListeners(
  node: ProxyNode,
  servers: readonly GatewayServerPort[],
): NamedResource[] {
  return servers.filter(isHttpServer).map((s) => {
    const name = listenerName(node.ip, s.hostPort);
    return {
      name,
      resource: {
        name,
        address: socketAddress(node.ip, s.hostPort),
        traffic_direction: 'OUTBOUND',
        filter_chains: [
          {
            filters: [
              httpConnectionManager({
                statPrefix: `outbound_${node.ip}_${s.hostPort}`,
                routes: { rds: gatewayRouteName(s.port) },
                useRemoteAddress: true,
                forwardProxy: false,
              }),
            ],
          },
        ],
      },
    };
  });
}
