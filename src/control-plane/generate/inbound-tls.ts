// The filter chains of a sidecar's inbound port under its PeerAuthentication, as Istio builds
// them (pilot/pkg/networking/core/filterchain_options.go, security/authn/utils BuildInboundTLS):
// STRICT: only an mTLS chain (transport_protocol tls); PERMISSIVE: an mTLS chain for clients
// offering Istio's ALPNs and a plaintext one (TCP ports also pass other TLS through as TCP), on
// the same port, a tls_inspector telling them apart; DISABLE: plaintext only. The mTLS chain
// terminates with the workload certificate (`default`), requires a client certificate and checks
// it against ROOTCA.
import type { InboundPort, ProxyNode } from '../../xds/node.js';
import { typed } from '../../xds/any.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MtlsMode } from '../model/peer-authentication.js';
import { tlsInspector } from './gateway-l4.js';
import { DOWNSTREAM_TLS, SDS_DEFAULT, SDS_ROOTCA, agentSds } from './mtls.js';

type EnvoyObject = Record<string, unknown>;

/** listener.go allIstioMtlsALPNs: what an Istio client may offer a mesh server. */
export const ALL_ISTIO_MTLS_ALPNS = [
  'istio',
  'istio-peer-exchange',
  'istio-http/1.0',
  'istio-http/1.1',
  'istio-h2',
];
/** util.ALPNHttp and util.ALPNDownstreamWithMxc: what the server answers. */
const ALPN_HTTP = ['h2', 'http/1.1'];
const ALPN_DOWNSTREAM_TCP = ['istio-peer-exchange', 'h2', 'http/1.1'];
/** authn utils SupportedCiphers: Istio's sidecar mTLS cipher suites (TLS 1.2). */
const SUPPORTED_CIPHERS = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-GCM-SHA256',
];

/** The mTLS mode of one inbound port of a sidecar (portLevelMtls keys are target ports). */
export function inboundMtlsMode(
  node: ProxyNode,
  p: InboundPort,
  model: MeshModel | undefined,
): MtlsMode {
  if (!model) return 'PERMISSIVE';
  return model.peerAuthentication.modeFor(node.namespace, node.labels, p.containerPort);
}

/** Istio's BuildInboundTLS for STRICT and PERMISSIVE. */
export function inboundMtlsTransportSocket(http: boolean): EnvoyObject {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed(DOWNSTREAM_TLS, {
      common_tls_context: {
        alpn_protocols: http ? ALPN_HTTP : ALPN_DOWNSTREAM_TCP,
        tls_params: {
          cipher_suites: SUPPORTED_CIPHERS,
          tls_minimum_protocol_version: 'TLSv1_2',
          tls_maximum_protocol_version: 'TLSv1_3',
        },
        tls_certificate_sds_secret_configs: [agentSds(SDS_DEFAULT)],
        combined_validation_context: {
          default_validation_context: {},
          validation_context_sds_secret_config: agentSds(SDS_ROOTCA),
        },
      },
      require_client_certificate: true,
    }),
  };
}

const HCM = 'envoy.filters.network.http_connection_manager';

/**
 * Istio's inbound HCM: forward_client_cert_details APPEND_FORWARD with the peer's subject, URI
 * and DNS SANs (x-forwarded-client-cert); on a plaintext connection the header is dropped.
 */
export function withInboundXfcc(filters: EnvoyObject[]): EnvoyObject[] {
  return filters.map((f) => {
    if (f['name'] !== HCM) return f;
    const cfg = f['typed_config'] as EnvoyObject;
    return {
      ...f,
      typed_config: {
        ...cfg,
        forward_client_cert_details: 'APPEND_FORWARD',
        set_current_client_cert_details: { subject: true, dns: true, uri: true },
      },
    };
  });
}

export interface InboundChains {
  readonly filterChains: EnvoyObject[];
  /** tls_inspector when chains match on the transport protocol. */
  readonly listenerFilters: EnvoyObject[];
}

/**
 * The chains of one inbound port: `filters` (HCM or tcp_proxy, and `plainFilters` for the
 * plaintext chains when they differ: no client certificate to forward) behind each.
 */
export function inboundChains(
  mode: MtlsMode,
  http: boolean,
  name: string,
  filters: EnvoyObject[],
  plainFilters: EnvoyObject[] = filters,
): InboundChains {
  if (mode === 'DISABLE')
    return { filterChains: [{ name, filters: plainFilters }], listenerFilters: [] };
  const mtls = (match: EnvoyObject): EnvoyObject => ({
    name: `${name}-mtls`,
    filter_chain_match: match,
    transport_socket: inboundMtlsTransportSocket(http),
    // Copies: later passes (telemetry, authn) edit each chain's filters in place.
    filters: structuredClone(filters),
  });
  const plain = (match: EnvoyObject, suffix = ''): EnvoyObject => ({
    name: `${name}${suffix}`,
    filter_chain_match: match,
    filters: structuredClone(plainFilters),
  });
  let chains: EnvoyObject[];
  if (mode === 'STRICT') chains = [mtls({ transport_protocol: 'tls' })];
  else if (http)
    chains = [
      mtls({ transport_protocol: 'tls', application_protocols: ALL_ISTIO_MTLS_ALPNS }),
      plain({ transport_protocol: 'raw_buffer' }),
    ];
  else
    chains = [
      mtls({ transport_protocol: 'tls', application_protocols: ALL_ISTIO_MTLS_ALPNS }),
      // Another client's own TLS (no Istio ALPN) passes through as TCP, as Istio's does.
      plain({ transport_protocol: 'tls' }, '-tls'),
      plain({ transport_protocol: 'raw_buffer' }),
    ];
  return { filterChains: chains, listenerFilters: [tlsInspector()] };
}

/**
 * The listener fields of inbound chains: with a tls_inspector, Istio's inbound protocol
 * detection timeout (PILOT_INBOUND_PROTOCOL_DETECTION_TIMEOUT, 1s) and continue on timeout, so
 * a server-first protocol's silent client lands on the plaintext chain.
 */
export function inboundListenerFields(c: InboundChains): EnvoyObject {
  if (c.listenerFilters.length === 0) return { filter_chains: c.filterChains };
  return {
    listener_filters: c.listenerFilters,
    listener_filters_timeout: '1s',
    continue_on_listener_filters_timeout: true,
    filter_chains: c.filterChains,
  };
}
