// CDS: one outbound cluster per service port, one more per DestinationRule subset (each with its
// merged trafficPolicy applied), the inbound clusters of a sidecar's own ports, and Istio's
// BlackHoleCluster and PassthroughCluster.
import type { ProxyNode } from '../../xds/node.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshService, ServicePort } from '../model/service.js';
import { BLACKHOLE_CLUSTER, PASSTHROUGH_CLUSTER, clusterName } from './names.js';
import { localityWeighted } from './cluster-locality.js';
import type { LocalityLbSetting } from './cluster-locality.js';
import { mergedPolicy } from './cluster-policy.js';
import type { TrafficPolicy } from './cluster-traffic-policy.js';
import {
  applyConnectionPool,
  applyLoadBalancer,
  applyOutlierDetection,
  isPassthrough,
  mergeHttpProtocolOptions,
} from './cluster-traffic-policy.js';
import { toProtoDuration } from './durations.js';
import { applyUpstreamTls } from './cluster-tls.js';
import { meshTlsContextFor } from './mtls.js';
import { endpointsFor, localityInput } from './endpoints.js';
import { inboundProtocol } from './inbound-protocol.js';
import { inboundClusterMetadata } from './telemetry-metrics.js';
import { HTTP_PROTOCOL_OPTIONS, upstreamProtocolFields } from './upstream-protocol.js';

export { mergedPolicy } from './cluster-policy.js';

type EnvoyObject = Record<string, unknown>;

function serviceMetadata(svc: MeshService, port: ServicePort, subset: string): EnvoyObject {
  const istio: EnvoyObject = {
    services: [{ host: svc.hostname, name: svc.name, namespace: svc.namespace }],
    default_original_port: port.port,
  };
  if (subset) istio['subset'] = subset;
  return { filter_metadata: { istio } };
}

interface ClusterSpec {
  readonly svc: MeshService;
  readonly port: ServicePort;
  readonly subset: string;
  /** The subset's labels; undefined for the whole service. */
  readonly subsetLabels: Readonly<Record<string, string>> | undefined;
  readonly policy: TrafficPolicy | undefined;
  readonly node: ProxyNode;
}

/** T3's upstream protocol (HTTP/2 ports, h2UpgradePolicy, useClientProtocol), merged in. */
function applyUpstreamProtocol(cluster: EnvoyObject, fields: EnvoyObject): void {
  const ext = fields['typed_extension_protocol_options'] as Record<string, EnvoyObject> | undefined;
  const options = ext?.[HTTP_PROTOCOL_OPTIONS];
  if (!options) return;
  const { '@type': _type, ...rest } = options;
  mergeHttpProtocolOptions(cluster, rest);
}

function outboundCluster(
  { svc, port, subset, subsetLabels, policy, node }: ClusterSpec,
  model: MeshModel,
): NamedResource {
  const name = clusterName('outbound', port.port, subset, svc.hostname);
  const cluster: EnvoyObject = { name, common_lb_config: {} };
  switch (svc.resolution) {
    case 'STATIC':
      cluster['type'] = 'EDS';
      cluster['eds_cluster_config'] = {
        service_name: name,
        eds_config: { ads: {}, resource_api_version: 'V3' },
      };
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN':
      cluster['type'] = svc.resolution === 'DNS' ? 'STRICT_DNS' : 'LOGICAL_DNS';
      cluster['dns_lookup_family'] = 'V4_ONLY';
      cluster['load_assignment'] = endpointsFor(model, {
        svc,
        port: port.port,
        selector: subsetLabels,
        name,
        lb: localityInput(node, policy),
      });
      break;
    case 'NONE':
      cluster['type'] = 'ORIGINAL_DST';
      break;
  }
  applyUpstreamProtocol(
    cluster,
    upstreamProtocolFields({
      protocol: port.protocol,
      direction: 'outbound',
      proxyType: node.type,
      http: policy?.connectionPool?.http,
    }),
  );
  applyConnectionPool(cluster, policy, model.meshConfig.connectTimeout);
  applyOutlierDetection(cluster, policy);
  applyLoadBalancer(cluster, policy);
  applyUpstreamTls(
    cluster,
    policy,
    meshTlsContextFor(model, svc, port.port, subset, isPassthrough(policy)),
  );
  const locality = (policy?.loadBalancer as { localityLbSetting?: LocalityLbSetting } | undefined)
    ?.localityLbSetting;
  if (localityWeighted(locality, policy?.outlierDetection !== undefined))
    (cluster['common_lb_config'] as EnvoyObject)['locality_weighted_lb_config'] = {};
  cluster['metadata'] = serviceMetadata(svc, port, subset);
  return { name, resource: cluster };
}

function staticCluster(name: string, address: string, port: number): NamedResource {
  const resource: EnvoyObject = {
    name,
    type: 'STATIC',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address, port_value: port } } } },
          ],
        },
      ],
    },
  };
  applyConnectionPool(resource, undefined, '10s');
  return { name, resource };
}

export function buildClusters(node: ProxyNode, model: MeshModel): NamedResource[] {
  const out: NamedResource[] = [];
  for (const svc of model.servicesVisibleTo(node.namespace)) {
    const dr = model.destinationRuleFor(svc.hostname, node.namespace)?.spec;
    for (const port of svc.ports) {
      const policy = mergedPolicy(dr, '', port.port);
      out.push(
        outboundCluster({ svc, port, subset: '', subsetLabels: undefined, policy, node }, model),
      );
      for (const s of dr?.subsets ?? []) {
        const subsetPolicy = mergedPolicy(dr, s.name, port.port);
        out.push(
          outboundCluster(
            { svc, port, subset: s.name, subsetLabels: s.labels ?? {}, policy: subsetPolicy, node },
            model,
          ),
        );
      }
    }
  }
  for (const p of node.inbound) {
    const inbound = staticCluster(
      clusterName('inbound', p.containerPort, '', ''),
      '127.0.0.1',
      p.appPort,
    );
    // The app speaks the port's protocol: HTTP/2 to gRPC apps (T3: upstream-protocol.ts).
    applyUpstreamProtocol(
      inbound.resource as EnvoyObject,
      upstreamProtocolFields({
        protocol: inboundProtocol(node, p, model),
        direction: 'inbound',
        proxyType: node.type,
      }),
    );
    const metadata = inboundClusterMetadata(node, p, model);
    if (metadata) (inbound.resource as EnvoyObject)['metadata'] = metadata;
    out.push(inbound);
  }
  out.push({
    name: BLACKHOLE_CLUSTER,
    resource: { name: BLACKHOLE_CLUSTER, type: 'STATIC', connect_timeout: '10s' },
  });
  const passthrough: EnvoyObject = {
    name: PASSTHROUGH_CLUSTER,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    // In local mode the original destination is the request's authority (HTTP proxy form).
    original_dst_lb_config: { use_http_header: true, http_header_name: ':authority' },
  };
  applyConnectionPool(passthrough, undefined, model.meshConfig.connectTimeout);
  passthrough['connect_timeout'] = toProtoDuration(model.meshConfig.connectTimeout);
  out.push({ name: PASSTHROUGH_CLUSTER, resource: passthrough });
  return out;
}
