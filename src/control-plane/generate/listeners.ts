// LDS: a sidecar's HTTP proxy listener (local mode's outbound: HTTP, and CONNECT tunnels), the
// internal listener tunnels to HTTP and TLS ports run through, and one inbound listener per
// workload port (HTTP connection manager or tcp_proxy by the port's protocol); a router's
// listeners, one per Gateway server port (HTTP, HTTPS, TCP, TLS passthrough).
import type { ProxyNode } from '../../xds/node.js';
import { typed } from '../../xds/any.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import { isHttpProtocol } from '../model/protocol.js';
import type { GatewayServerPort } from './gateway-servers.js';
import { isHttpServer, isHttpsServer } from './gateway-servers.js';
import { gatewayL4Listener } from './gateway-l4.js';
import { grpcWebHttpFilter } from './grpc-web.js';
import { gatewayHttpsListener } from './gateway-tls.js';
import { inboundProtocol } from './inbound-protocol.js';
import {
  inboundChains,
  inboundListenerFields,
  inboundMtlsMode,
  withInboundXfcc,
} from './inbound-tls.js';
import { withJwtAuthn } from './jwt-authn.js';
import { withAuthorization } from './rbac.js';
import { withPathNormalization } from './path-normalization.js';
import {
  HTTP_PROXY_ROUTE,
  VIRTUAL_OUTBOUND,
  clusterName,
  gatewayRouteName,
  listenerName,
} from './names.js';
import { inboundRouteConfig } from './routes.js';
import { OUTBOUND_TUNNEL, outboundTunnelListener } from './sidecar-tunnel.js';
import type { TracingSide } from './tracing.js';
import { hcmTracing, withInboundDecorators } from './tracing.js';

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
  /**
   * Upgrades let through (HCM upgrade_configs): Istio enables websocket everywhere; local mode's
   * outbound listener terminates CONNECT too (the routes say where each tunnel goes).
   */
  readonly upgrades: readonly ('websocket' | 'CONNECT')[];
  /**
   * gRPC-Web ports (Istio adds envoy.filters.http.grpc_web where the listener's protocol is
   * GRPCWeb): `on`, or `per-route` for local mode's outbound listener, which serves every port:
   * disabled there, and enabled by the virtual hosts of gRPC-Web ports.
   */
  readonly grpcWeb?: 'on' | 'per-route';
  /** HCM tracing (tracing.ts), when the proxy traces. */
  readonly tracing?: EnvoyObject | undefined;
}

/** The `tracing` option of a proxy's HCM recording `side`, if it traces. */
function tracingOf(
  node: ProxyNode,
  model: MeshModel | undefined,
  side: TracingSide,
): { tracing?: EnvoyObject } {
  const tracing = model ? hcmTracing(node, model, side) : undefined;
  return tracing ? { tracing } : {};
}

export function httpConnectionManager(o: HcmOptions): EnvoyObject {
  const config: EnvoyObject = {
    stat_prefix: o.statPrefix,
    codec_type: 'AUTO',
    http_filters: [
      // Istio's order: grpc_web (gRPC-Web ports), then the filters VirtualService routes
      // configure (typed_per_filter_config), fault then cors, before the router.
      ...(o.grpcWeb ? [grpcWebHttpFilter(o.grpcWeb === 'per-route')] : []),
      {
        name: 'envoy.filters.http.fault',
        typed_config: typed('envoy.extensions.filters.http.fault.v3.HTTPFault', {}),
      },
      {
        name: 'envoy.filters.http.cors',
        typed_config: typed('envoy.extensions.filters.http.cors.v3.Cors', {}),
      },
      {
        name: 'envoy.filters.http.router',
        typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
      },
    ],
    use_remote_address: o.useRemoteAddress,
    generate_request_id: true,
    // Istio's defaults (pathNormalization BASE): normalise paths (RFC 3986), leave escaped
    // slashes alone; withPathNormalization applies the mesh's choice.
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
  config['upgrade_configs'] = o.upgrades.map((upgrade_type) => ({ upgrade_type }));
  if (o.tracing) config['tracing'] = o.tracing;
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: typed(HCM_TYPE, config),
  };
}

export function socketAddress(address: string, port: number): EnvoyObject {
  return { socket_address: { address, port_value: port } };
}

const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

/** Istio's inbound TCP filter chain: everything to the app, no sniffing (server-first works). */
function inboundTcpProxy(cluster: string): EnvoyObject {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: typed(TCP_PROXY, { stat_prefix: cluster, cluster }),
  };
}

/** Whether a sidecar routes to any gRPC-Web port (its outbound listener then has grpc_web). */
function seesGrpcWeb(node: ProxyNode, model: MeshModel | undefined): boolean {
  return (
    model
      ?.servicesVisibleTo(node.namespace)
      .some((svc) => svc.ports.some((p) => p.protocol === 'GRPC-Web')) ?? false
  );
}

export function buildSidecarListeners(node: ProxyNode, model?: MeshModel): NamedResource[] {
  const out: NamedResource[] = [];
  if (node.outboundPort !== undefined) {
    const grpcWeb = seesGrpcWeb(node, model) ? ({ grpcWeb: 'per-route' } as const) : {};
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
                upgrades: ['websocket', 'CONNECT'],
                ...grpcWeb,
                ...tracingOf(node, model, 'CLIENT'),
              }),
            ],
          },
        ],
      },
    });
    if (model) {
      // Tunnels to HTTP ports run through the HTTP path again: same routes, no CONNECT inside.
      const inner = httpConnectionManager({
        statPrefix: OUTBOUND_TUNNEL,
        routes: { rds: HTTP_PROXY_ROUTE },
        useRemoteAddress: false,
        forwardProxy: true,
        upgrades: ['websocket'],
        ...grpcWeb,
        ...tracingOf(node, model, 'CLIENT'),
      });
      out.push(outboundTunnelListener(node, model, inner));
    }
  }
  for (const p of node.inbound) {
    const name = listenerName(node.ip, p.listenPort);
    const cluster = clusterName('inbound', p.containerPort, '', '');
    const protocol = model ? inboundProtocol(node, p, model) : undefined;
    const http = !protocol || isHttpProtocol(protocol);
    // PeerAuthentication decides the chains: mTLS, plaintext or both (inbound-tls.ts).
    const chains = inboundChains(
      inboundMtlsMode(node, p, model),
      http,
      cluster,
      withInboundXfcc([
        http
          ? httpConnectionManager({
              statPrefix: `inbound_${node.ip}_${p.containerPort}`,
              routes: {
                inline: withInboundDecorators(inboundRouteConfig(p.containerPort), node, model, p),
              },
              useRemoteAddress: false,
              forwardProxy: false,
              upgrades: ['websocket'],
              ...(protocol === 'GRPC-Web' ? { grpcWeb: 'on' } : {}),
              ...tracingOf(node, model, 'SERVER'),
            })
          : inboundTcpProxy(cluster),
      ]),
    );
    out.push({
      name,
      resource: {
        name,
        address: socketAddress(node.ip, p.listenPort),
        traffic_direction: 'INBOUND',
        ...inboundListenerFields(chains),
      },
    });
  }
  return withPathNormalization(
    withAuthorization(withJwtAuthn(out, node, model), node, model),
    model,
  );
}

function gatewayHttpListener(
  node: ProxyNode,
  s: GatewayServerPort,
  model: MeshModel | undefined,
): NamedResource {
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
              upgrades: ['websocket'],
              // Istio's gateways: by the server's protocol.
              ...(s.protocol === 'GRPC-WEB' ? { grpcWeb: 'on' } : {}),
              ...tracingOf(node, model, 'SERVER'),
            }),
          ],
        },
      ],
    },
  };
}

export function buildGatewayListeners(
  node: ProxyNode,
  servers: readonly GatewayServerPort[],
  model?: MeshModel,
): NamedResource[] {
  const out: NamedResource[] = [];
  for (const s of servers) {
    if (isHttpServer(s)) out.push(gatewayHttpListener(node, s, model));
    else if (model && isHttpsServer(s)) {
      const l = gatewayHttpsListener(node, s, model, (statPrefix, routeName) =>
        httpConnectionManager({
          statPrefix,
          routes: { rds: routeName },
          useRemoteAddress: true,
          forwardProxy: false,
          upgrades: ['websocket'],
          ...tracingOf(node, model, 'SERVER'),
        }),
      );
      if (l) out.push(l);
    } else if (model) {
      const l = gatewayL4Listener(node, s, model);
      if (l) out.push(l);
    }
  }
  return withPathNormalization(
    withAuthorization(withJwtAuthn(out, node, model), node, model),
    model,
  );
}
