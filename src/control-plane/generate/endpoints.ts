// EDS: a ClusterLoadAssignment per EDS cluster, subsets filtered by their labels, endpoints
// grouped by locality, with Istio's endpoint metadata (workload identity, tlsMode).
import type { ProxyNode } from '../../xds/node.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshEndpoint, MeshService } from '../model/service.js';
import { labelsMatch } from '../model/service.js';
import { clusterName } from './names.js';

type EnvoyObject = Record<string, unknown>;

function lbEndpoint(ep: MeshEndpoint): EnvoyObject {
  return {
    endpoint: { address: { socket_address: { address: ep.address, port_value: ep.port } } },
    health_status: 'HEALTHY',
    load_balancing_weight: ep.weight,
    metadata: {
      filter_metadata: {
        istio: {
          workload: `${ep.workloadName};${ep.namespace};${ep.labels['app'] ?? ''};${ep.labels['version'] ?? ''};`,
        },
        'envoy.transport_socket_match': { tlsMode: ep.tlsMode },
      },
    },
  };
}

function localityObject(locality: string): EnvoyObject {
  const [region = '', zone = '', subZone = ''] = locality.split('/');
  const out: EnvoyObject = {};
  if (region) out['region'] = region;
  if (zone) out['zone'] = zone;
  if (subZone) out['sub_zone'] = subZone;
  return out;
}

/**
 * The assignment of one cluster: the service port's endpoints, narrowed to a subset's labels
 * (`selector` undefined for the whole service).
 */
export function endpointsFor(
  model: MeshModel,
  svc: MeshService,
  port: number,
  selector: Readonly<Record<string, string>> | undefined,
  name: string,
): EnvoyObject {
  const byLocality = new Map<string, EnvoyObject[]>();
  for (const ep of model.endpointsOf(svc.hostname, port)) {
    if (selector && !labelsMatch(selector, ep.labels)) continue;
    const list = byLocality.get(ep.locality) ?? [];
    list.push(lbEndpoint(ep));
    byLocality.set(ep.locality, list);
  }
  const endpoints = [...byLocality]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([locality, lbEndpoints]) => ({
      locality: localityObject(locality),
      lb_endpoints: lbEndpoints,
    }));
  return { cluster_name: name, endpoints };
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
        const name = clusterName('outbound', port.port, subset.name, svc.hostname);
        out.push({ name, resource: endpointsFor(model, svc, port.port, subset.labels, name) });
      }
    }
  }
  return out;
}
