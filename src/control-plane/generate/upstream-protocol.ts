// Which HTTP version a cluster speaks upstream, as Istio decides it (cluster_builder.go
// setUpstreamProtocol, cluster_traffic_policy.go applyH2Upgrade and useClientProtocol), written
// as Envoy's typed_extension_protocol_options `envoy.extensions.upstreams.http.v3.HttpProtocolOptions`.
import type { DestinationRuleSpec } from '../../config/kinds.js';
import { typed } from '../../xds/any.js';
import type { Protocol } from '../model/protocol.js';

type EnvoyObject = Record<string, unknown>;
type HttpSettings = NonNullable<
  NonNullable<NonNullable<DestinationRuleSpec['trafficPolicy']>['connectionPool']>['http']
>;

export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export type UpstreamHttp = 'http1' | 'http2' | 'downstream';

export interface UpstreamProtocolInput {
  readonly protocol: Protocol;
  readonly direction: 'outbound' | 'inbound';
  /** Sidecars follow the client's version on sniffed (unnamed) ports; gateways do not. */
  readonly proxyType: 'sidecar' | 'router';
  /** The DestinationRule's connectionPool.http at this port, if any (outbound only). */
  readonly http?: HttpSettings | undefined;
  /** MeshConfig h2UpgradePolicy (Istio's default DO_NOT_UPGRADE). */
  readonly meshH2Upgrade?: boolean;
}

function isHttp2(p: Protocol): boolean {
  return p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web';
}

function isHttp(p: Protocol): boolean {
  return p === 'HTTP' || isHttp2(p);
}

/** Istio's shouldH2Upgrade: the DestinationRule's policy, else the mesh's, for HTTP ports only. */
function shouldH2Upgrade(i: UpstreamProtocolInput): boolean {
  const http = i.http;
  if (http?.useClientProtocol) return false;
  if (http?.h2UpgradePolicy === 'UPGRADE') return true;
  if (http?.h2UpgradePolicy === 'DO_NOT_UPGRADE') return false;
  return isHttp(i.protocol) && i.meshH2Upgrade === true;
}

/** The upstream HTTP version; undefined when Envoy's default (HTTP/1.1) applies. */
export function upstreamHttp(i: UpstreamProtocolInput): UpstreamHttp | undefined {
  let out: UpstreamHttp | undefined;
  // setUpstreamProtocol (when the cluster is built): HTTP/2 ports, and sniffed ports on sidecars.
  if (isHttp2(i.protocol)) out = 'http2';
  else if (i.protocol === 'Unsupported' && i.proxyType === 'sidecar') out = 'downstream';
  if (i.direction === 'outbound' && out === undefined && shouldH2Upgrade(i)) out = 'http2';
  // applyConnectionPool: useClientProtocol wins over both.
  if (i.http?.useClientProtocol) out = 'downstream';
  return out;
}

/** The cluster fields for `upstreamHttp(i)`: `{}` when HTTP/1.1 (Envoy's default). */
export function upstreamProtocolFields(i: UpstreamProtocolInput): EnvoyObject {
  const version = upstreamHttp(i);
  if (!version || version === 'http1') return {};
  const options =
    version === 'http2'
      ? { explicit_http_config: { http2_protocol_options: {} } }
      : {
          use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
        };
  return {
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: typed(HTTP_PROTOCOL_OPTIONS, options),
    },
  };
}
