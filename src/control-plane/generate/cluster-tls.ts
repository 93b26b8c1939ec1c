// DestinationRule trafficPolicy.tls and auto mTLS on an outbound cluster, as Istio's
// buildUpstreamTLSSettings / buildUpstreamClusterTLSContext do it (pilot/pkg/networking/core/
// cluster_tls.go). An explicit tls wins: DISABLE leaves the cluster plaintext; ISTIO_MUTUAL uses
// the workload certificate (`default`) and ROOTCA with the DR's subjectAltNames (else the
// destination's identities) and SNI (else `outbound_.<port>_.<subset>_.<host>`); SIMPLE and MUTUAL
// originate TLS with the CA (`caCertificates` by SDS name `file-root:<path>`, or credentialName's
// `kubernetes://<name>-cacert`), subjectAltNames, `sni`, the client certificate for MUTUAL
// (`file-cert:<cert>~<key>`, or `kubernetes://<credentialName>`), ALPN h2 on HTTP/2 clusters.
// Without tls, auto mTLS (mesh enableAutoMtls) gives mesh-internal services the ISTIO_MUTUAL
// context through transport_socket_matches: endpoints labelled `tlsMode: istio` get it, others
// plaintext — unless the destination namespace's PeerAuthentication is DISABLE.
import { typed } from '../../xds/any.js';
import type { MtlsMode } from '../model/peer-authentication.js';
import type { TrafficPolicy } from './cluster-traffic-policy.js';
import { HTTP_PROTOCOL_OPTIONS } from './cluster-traffic-policy.js';
import { autoMtlsMatches, istioMutualTransportSocket } from './mtls.js';

type EnvoyObject = Record<string, unknown>;

const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const ADS_SOURCE = { ads: {}, resource_api_version: 'V3' };

export interface ClientTls {
  mode?: string;
  sni?: string;
  subjectAltNames?: string[];
  caCertificates?: string;
  clientCertificate?: string;
  privateKey?: string;
  credentialName?: string;
  insecureSkipVerify?: boolean | { value?: boolean };
}

/** What auto mTLS and ISTIO_MUTUAL need to know about the destination. */
export interface MeshTlsContext {
  /** Mesh config enableAutoMtls. */
  readonly autoMtls: boolean;
  /** istiod's BestEffortInferServiceMTLSMode: the destination namespace's (or mesh) mode. */
  readonly serviceMode: MtlsMode | undefined;
  readonly meshExternal: boolean;
  /** Passthrough (ORIGINAL_DST) destinations: do all endpoints have sidecars? */
  readonly passthroughAllIstio?: boolean | undefined;
  /** SPIFFE identities of the destination's endpoints. */
  readonly identities: readonly string[];
  /** Istio's SNI for the cluster. */
  readonly sni: string;
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

/** The client TLS policy of a traffic policy, if any. */
export function clientTlsOf(policy: TrafficPolicy | undefined): ClientTls | undefined {
  return (policy as { tls?: ClientTls } | undefined)?.tls;
}

/** SIMPLE / MUTUAL: Istio's constructUpstreamTLS. */
function userTlsSocket(cluster: EnvoyObject, tls: ClientTls): EnvoyObject {
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
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed(UPSTREAM_TLS, {
      common_tls_context: common,
      ...(tls.sni ? { sni: tls.sni } : {}),
    }),
  };
}

/** Whether auto mTLS applies to a destination without an explicit tls (buildUpstreamTLSSettings). */
function autoMtlsApplies(mesh: MeshTlsContext): boolean {
  if (mesh.meshExternal || !mesh.autoMtls) return false;
  if (mesh.passthroughAllIstio === false) return false;
  return mesh.serviceMode !== 'DISABLE';
}

/** Sets the cluster's transport socket(s) for its tls policy, or for auto mTLS. */
export function applyUpstreamTls(
  cluster: EnvoyObject,
  policy: TrafficPolicy | undefined,
  mesh?: MeshTlsContext,
): void {
  const tls = clientTlsOf(policy);
  if (tls?.mode === 'SIMPLE' || tls?.mode === 'MUTUAL') {
    cluster['transport_socket'] = userTlsSocket(cluster, tls);
    return;
  }
  if (tls?.mode === 'DISABLE' || !mesh) return;
  if (tls?.mode === 'ISTIO_MUTUAL') {
    cluster['transport_socket'] = istioMutualTransportSocket({
      sni: tls.sni || mesh.sni,
      // An empty list is proto's unset (nil in istiod): the destination's identities still apply.
      subjectAltNames: tls.subjectAltNames?.length ? tls.subjectAltNames : mesh.identities,
      http2: isHttp2Cluster(cluster),
    });
    return;
  }
  if (tls?.mode !== undefined && tls.mode !== 'UNSET') return;
  if (!autoMtlsApplies(mesh)) return;
  const socket = istioMutualTransportSocket({
    sni: mesh.sni,
    subjectAltNames: mesh.identities,
    http2: isHttp2Cluster(cluster),
  });
  // An ORIGINAL_DST cluster has no endpoint metadata: Istio keeps the socket on the cluster.
  if (cluster['type'] === 'ORIGINAL_DST') cluster['transport_socket'] = socket;
  else cluster['transport_socket_matches'] = autoMtlsMatches(socket);
}
