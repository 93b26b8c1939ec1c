// Gateway server TLS mode ISTIO_MUTUAL, as Istio's buildGatewayListenerTLSContext builds it: the
// gateway's own workload certificate (`default`), clients verified against the mesh's ROOTCA
// (and the server's subjectAltNames, if any), a client certificate required; min/max protocol
// version and cipher suites as the server says, TLS 1.2 at least by default.
import { typed } from '../../xds/any.js';
import type { ServerTlsSettings } from './gateway-servers.js';
import { DOWNSTREAM_TLS, SDS_DEFAULT, SDS_ROOTCA, agentSds } from './mtls.js';

type EnvoyObject = Record<string, unknown>;

const VERSIONS: Readonly<Record<string, string>> = {
  TLS_AUTO: 'TLS_AUTO',
  TLSV1_0: 'TLSv1_0',
  TLSV1_1: 'TLSv1_1',
  TLSV1_2: 'TLSv1_2',
  TLSV1_3: 'TLSv1_3',
};

export function gatewayIstioMutualContext(tls: ServerTlsSettings): EnvoyObject {
  const sans = tls.subjectAltNames ?? [];
  const params: EnvoyObject = {
    tls_minimum_protocol_version: VERSIONS[tls.minProtocolVersion ?? ''] ?? 'TLSv1_2',
  };
  if (tls.maxProtocolVersion && VERSIONS[tls.maxProtocolVersion])
    params['tls_maximum_protocol_version'] = VERSIONS[tls.maxProtocolVersion];
  if (tls.cipherSuites?.length) params['cipher_suites'] = [...tls.cipherSuites];
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed(DOWNSTREAM_TLS, {
      common_tls_context: {
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificate_sds_secret_configs: [agentSds(SDS_DEFAULT)],
        combined_validation_context: {
          default_validation_context: sans.length
            ? { match_subject_alt_names: sans.map((exact) => ({ exact })) }
            : {},
          validation_context_sds_secret_config: agentSds(SDS_ROOTCA),
        },
        tls_params: params,
      },
      require_client_certificate: true,
    }),
  };
}
