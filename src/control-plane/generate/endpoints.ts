// EDS: a ClusterLoadAssignment per EDS cluster, subsets filtered by their labels, endpoints
// grouped by locality (weighted by their endpoints, and prioritised or re-weighted for the proxy
// by the DestinationRule's locality load balancing), with Istio's endpoint metadata.
import type { ProxyNode } from '../../xds/node.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshEndpoint, MeshService } from '../model/service.js';
import { labelsMatch } from '../model/service.js';
import type { LocalityGroup, LocalityLbInput, LocalityLbSetting } from './cluster-locality.js';
import { localityLbEndpoints } from './cluster-locality.js';
import { mergedPolicy } from './cluster-policy.js';
import type { TrafficPolicy } from './cluster-traffic-policy.js';
import { isPassthrough } from './cluster-traffic-policy.js';
import { clusterName } from './names.js';
import { endpointTlsMode } from './mtls.js';

type EnvoyObject = Record<string, unknown>;

function lbEndpoint(ep: MeshEndpoint, tlsMode: 'istio' | 'disabled'): EnvoyObject {
  return {
    endpoint: { address: { socket_address: { address: ep.address, port_value: ep.port } } },
    health_status: 'HEALTHY',
    load_balancing_weight: ep.weight,
    metadata: {
      filter_metadata: {
        istio: {
          workload: `${ep.workloadName};${ep.namespace};${ep.labels['app'] ?? ''};${ep.labels['version'] ?? ''};`,
        },
        'envoy.transport_socket_match': { tlsMode },
      },
    },
  };
}

export interface AssignmentSpec {
  readonly svc: MeshService;
  readonly port: number;
  /** The subset's labels; undefined for the whole service. */
  readonly selector: Readonly<Record<string, string>> | undefined;
  /** The assignment's (cluster's) name. */
  readonly name: string;
  /** Locality load balancing for the proxy the assignment is for. */
  readonly lb?: LocalityLbInput | undefined;
}

/** The assignment of one cluster: the service port's endpoints, narrowed to a subset's labels. */
export function endpointsFor(model: MeshModel, spec: AssignmentSpec): EnvoyObject {
  const byLocality = new Map<string, LocalityGroup['endpoints'][number][]>();
  for (const ep of model.endpointsOf(spec.svc.hostname, spec.port)) {
    if (spec.selector && !labelsMatch(spec.selector, ep.labels)) continue;
    const list = byLocality.get(ep.locality) ?? [];
    list.push({
      lbEndpoint: lbEndpoint(ep, endpointTlsMode(model, ep)),
      labels: ep.labels,
      weight: ep.weight,
    });
    byLocality.set(ep.locality, list);
  }
  const groups: LocalityGroup[] = [...byLocality]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([locality, endpoints]) => ({ locality, endpoints }));
  return { cluster_name: spec.name, endpoints: localityLbEndpoints(groups, spec.lb) };
}

/** The locality settings of a cluster's policy, for the proxy `node`. */
export function localityInput(node: ProxyNode, policy: TrafficPolicy | undefined): LocalityLbInput {
  const lb = policy?.loadBalancer as { localityLbSetting?: LocalityLbSetting } | undefined;
  return {
    setting: lb?.localityLbSetting,
    outlierDetection: policy?.outlierDetection !== undefined,
    proxyLocality: node.locality ?? '',
    proxyLabels: node.labels,
  };
}

export function buildEndpoints(node: ProxyNode, model: MeshModel): NamedResource[] {
  const out: NamedResource[] = [];
  for (const svc of model.servicesVisibleTo(node.namespace)) {
    if (svc.resolution !== 'STATIC') continue;
    const dr = model.destinationRuleFor(svc.hostname, node.namespace)?.spec;
    const subsets = [
      { name: '', labels: undefined },
      ...(dr?.subsets ?? []).map((s) => ({ name: s.name, labels: s.labels ?? {} })),
    ];
    for (const port of svc.ports) {
      for (const subset of subsets) {
        const policy = mergedPolicy(dr, subset.name, port.port);
        // A PASSTHROUGH cluster is ORIGINAL_DST: it subscribes to no endpoints.
        if (isPassthrough(policy)) continue;
        const name = clusterName('outbound', port.port, subset.name, svc.hostname);
        const lb = localityInput(node, policy);
        const resource = endpointsFor(model, {
          svc,
          port: port.port,
          selector: subset.labels,
          name,
          lb,
        });
        out.push({ name, resource });
      }
    }
  }
  return out;
}
