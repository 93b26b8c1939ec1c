// DestinationRule trafficPolicy.tls on an outbound cluster, as Istio's
// buildUpstreamClusterTLSContext does it (pilot/pkg/networking/core/cluster_tls.go): SIMPLE and
// MUTUAL originate TLS with an UpstreamTlsContext — the CA (`caCertificates`, by SDS name
// `file-root:<path>`; or `credentialName`'s `kubernetes://<name>-cacert`), subjectAltNames
// matched, `sni`, the client certificate for MUTUAL (`file-cert:<cert>~<key>`, or
// `kubernetes://<credentialName>`), and ALPN h2 when the cluster speaks HTTP/2.
// ISTIO_MUTUAL comes with mesh mTLS; DISABLE (and no tls) leaves the cluster plaintext.
import { typed } from '../../xds/any.js';
import type { TrafficPolicy } from './cluster-traffic-policy.js';
import { HTTP_PROTOCOL_OPTIONS } from './cluster-traffic-policy.js';

type EnvoyObject = Record<string, unknown>;

const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

interface ClientTls {
  mode?: string;
  sni?: string;
  subjectAltNames?: string[];
  caCertificates?: string;
  clientCertificate?: string;
  privateKey?: string;
  credentialName?: string;
  insecureSkipVerify?: boolean | { value?: boolean };
}

function isHttp2Cluster(cluster: EnvoyObject): boolean {
  const ext = cluster['typed_extension_protocol_options'] as
    Record<string, EnvoyObject> | undefined;
  const explicit = ext?.[HTTP_PROTOCOL_OPTIONS]?.['explicit_http_config'] as
    EnvoyObject | undefined;
  return explicit?.['http2_protocol_options'] !== undefined;
}

function sds(name: string): EnvoyObject {
  return { name, sds_config: ADS_SOURCE };
}

/** Sets the cluster's transport_socket for a SIMPLE or MUTUAL client TLS policy. */
export function applyUpstreamTls(cluster: EnvoyObject, policy: TrafficPolicy | undefined): void {
  const tls = (policy as { tls?: ClientTls } | undefined)?.tls;
  if (!tls || (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL')) return;
  const skipVerify =
    tls.insecureSkipVerify === true ||
    (typeof tls.insecureSkipVerify === 'object' && tls.insecureSkipVerify.value === true);
  const common: EnvoyObject = {};
  const sans = tls.subjectAltNames ?? [];
  const caName = tls.credentialName
    ? `kubernetes://${tls.credentialName}-cacert`
    : tls.caCertificates
      ? `file-root:${tls.caCertificates}`
      : undefined;
  if (!skipVerify && caName) {
    common['combined_validation_context'] = {
      default_validation_context: sans.length
        ? { match_subject_alt_names: sans.map((exact) => ({ exact })) }
        : {},
      validation_context_sds_secret_config: sds(caName),
    };
  }
  if (tls.mode === 'MUTUAL') {
    const cert = tls.credentialName
      ? `kubernetes://${tls.credentialName}`
      : tls.clientCertificate && tls.privateKey
        ? `file-cert:${tls.clientCertificate}~${tls.privateKey}`
        : undefined;
    if (cert) common['tls_certificate_sds_secret_configs'] = [sds(cert)];
  }
  // Istio advertises h2 by ALPN on HTTP/2 clusters (util.ALPNH2Only).
  if (isHttp2Cluster(cluster)) common['alpn_protocols'] = ['h2'];
  cluster['transport_socket'] = {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed(UPSTREAM_TLS, {
      common_tls_context: common,
      ...(tls.sni ? { sni: tls.sni } : {}),
    }),
  };
}
