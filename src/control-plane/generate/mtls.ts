// Mesh mTLS pieces shared by the cluster and listener generators, as Istio builds them:
// SDS references to the workload identity (`default`, `ROOTCA`, served by the agent over the
// `sds-grpc` cluster: security/model ConstructSdsSecretConfig), the ISTIO_MUTUAL client context
// (cluster_tls.go buildUpstreamClusterTLSContext), and the SPIFFE identities of a destination.
import { typed } from '../../xds/any.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshEndpoint, MeshService } from '../model/service.js';

type EnvoyObject = Record<string, unknown>;

export const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const DOWNSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
/** Istio's SDS names for the workload certificate and the mesh trust bundle. */
export const SDS_DEFAULT = 'default';
export const SDS_ROOTCA = 'ROOTCA';

/** util.ALPNInMeshWithMxc / ALPNInMeshH2WithMxc: what an Istio client offers a mesh server. */
export const ALPN_IN_MESH = ['istio-peer-exchange', 'istio'];
export const ALPN_IN_MESH_H2 = ['istio-peer-exchange', 'istio', 'h2'];

/** An SDS secret served by the agent (Istio's ConstructSdsSecretConfig). */
export function agentSds(name: string): EnvoyObject {
  return {
    name,
    sds_config: {
      api_config_source: {
        api_type: 'GRPC',
        set_node_on_first_message_only: true,
        transport_api_version: 'V3',
        grpc_services: [{ envoy_grpc: { cluster_name: 'sds-grpc' } }],
      },
      initial_fetch_timeout: '0s',
      resource_api_version: 'V3',
    },
  };
}

/** `spiffe://<trust domain>/ns/<ns>/sa/<sa>`. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount || 'default'}`;
}

/**
 * The identities a destination may present (istiod's push.ServiceAccounts): the service
 * accounts of the service port's endpoints, as SPIFFE URIs, sorted.
 */
export function destinationIdentities(model: MeshModel, svc: MeshService, port: number): string[] {
  const td = model.meshConfig.trustDomain;
  const out = new Set<string>();
  for (const ep of model.endpointsOf(svc.hostname, port))
    if (ep.tlsMode === 'istio') out.add(spiffeId(td, ep.namespace, ep.serviceAccount));
  return [...out].sort();
}

/** Istio's SNI for ISTIO_MUTUAL: `outbound_.<port>_.<subset>_.<host>` (BuildDNSSrvSubsetKey). */
export function meshSni(port: number, subset: string, hostname: string): string {
  return `outbound_.${port}_.${subset}_.${hostname}`;
}

export interface IstioMutualOptions {
  readonly sni: string;
  /** Exact SAN matches (the destination's SPIFFE identities, or the DR's subjectAltNames). */
  readonly subjectAltNames: readonly string[];
  readonly http2: boolean;
}

/** ISTIO_MUTUAL: the workload certificate, ROOTCA with the SANs, in-mesh ALPN, TLS 1.2–1.3. */
export function istioMutualTransportSocket(o: IstioMutualOptions): EnvoyObject {
  const common: EnvoyObject = {
    tls_params: {
      tls_minimum_protocol_version: 'TLSv1_2',
      tls_maximum_protocol_version: 'TLSv1_3',
    },
    tls_certificate_sds_secret_configs: [agentSds(SDS_DEFAULT)],
    combined_validation_context: {
      default_validation_context: o.subjectAltNames.length
        ? { match_subject_alt_names: o.subjectAltNames.map((exact) => ({ exact })) }
        : {},
      validation_context_sds_secret_config: agentSds(SDS_ROOTCA),
    },
    alpn_protocols: o.http2 ? ALPN_IN_MESH_H2 : ALPN_IN_MESH,
  };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: typed(UPSTREAM_TLS, { common_tls_context: common, sni: o.sni }),
  };
}

/** Istio's defaultTransportSocketMatch: endpoints without `tlsMode: istio` get plaintext. */
export function autoMtlsMatches(istioMutual: EnvoyObject): EnvoyObject[] {
  return [
    { name: 'tlsMode-istio', match: { tlsMode: 'istio' }, transport_socket: istioMutual },
    {
      name: 'tlsMode-disabled',
      match: {},
      // Plaintext by name: the RawBuffer message (empty) is not among the protos skiff loads.
      transport_socket: { name: 'envoy.transport_sockets.raw_buffer' },
    },
  ];
}

/**
 * What auto mTLS needs about one outbound cluster's destination (istiod's
 * BestEffortInferServiceMTLSMode and ServiceAccounts): for passthrough destinations, whether
 * every endpoint has a sidecar.
 */
export function meshTlsContextFor(
  model: MeshModel,
  svc: MeshService,
  port: number,
  subset: string,
  passthrough: boolean,
): {
  autoMtls: boolean;
  serviceMode: ReturnType<MeshModel['peerAuthentication']['namespaceMode']>;
  meshExternal: boolean;
  passthroughAllIstio: boolean | undefined;
  identities: string[];
  sni: string;
} {
  let passthroughAllIstio: boolean | undefined;
  if (passthrough || svc.resolution === 'NONE') {
    const eps = model.endpointsOf(svc.hostname, port);
    passthroughAllIstio = eps.length > 0 && eps.every((e) => e.tlsMode === 'istio');
  }
  return {
    autoMtls: model.meshConfig.enableAutoMtls,
    serviceMode: model.peerAuthentication.namespaceMode(svc.namespace),
    meshExternal: svc.meshExternal,
    passthroughAllIstio,
    identities: destinationIdentities(model, svc, port),
    sni: meshSni(port, subset, svc.hostname),
  };
}

/** `namespace/instance|listenPort` → containerPort, per model (launched instances' endpoints). */
const targetPorts = new WeakMap<readonly unknown[], Map<string, number>>();

function targetPortOf(model: MeshModel, ep: MeshEndpoint): number {
  let index = targetPorts.get(model.instances);
  if (!index) {
    index = new Map();
    for (const i of model.instances)
      for (const p of i.ports)
        index.set(`${i.namespace}/${i.name}|${p.listenPort}`, p.containerPort);
    targetPorts.set(model.instances, index);
  }
  return index.get(`${ep.namespace}/${ep.instanceName}|${ep.port}`) ?? ep.port;
}

/**
 * The `tlsMode` an endpoint advertises in EDS (Istio's endpoint builder mtlsChecker): `istio`
 * when a sidecar fronts it and its own PeerAuthentication (workload and port level, the port
 * being the workload's target port) does not DISABLE mTLS; else `disabled`.
 */
export function endpointTlsMode(model: MeshModel, ep: MeshEndpoint): 'istio' | 'disabled' {
  if (ep.tlsMode !== 'istio') return 'disabled';
  const pa = model.peerAuthentication;
  if (pa.empty) return 'istio';
  return pa.modeFor(ep.namespace, ep.labels, targetPortOf(model, ep)) === 'DISABLE'
    ? 'disabled'
    : 'istio';
}
