// Test support for the ADS transport and its users: minimal Envoy resources in JSON form and a
// SnapshotSource whose content a test sets by hand.
import { typed } from '../../src/xds/any.js';
import type { ProxyNode } from '../../src/xds/node.js';
import { TypeUrl } from '../../src/xds/types.js';
import type { SnapshotSource } from '../../src/control-plane/server/ads-server.js';
import { Snapshot } from '../../src/control-plane/server/snapshot.js';
import type { NamedResource } from '../../src/control-plane/server/snapshot.js';

const ADS = { ads: {}, resource_api_version: 'V3' };

export function edsCluster(name: string, serviceName?: string): NamedResource {
  return {
    name,
    resource: {
      name,
      type: 'EDS',
      connect_timeout: '1s',
      eds_cluster_config: {
        eds_config: ADS,
        ...(serviceName ? { service_name: serviceName } : {}),
      },
    },
  };
}

export function endpoints(clusterName: string, ...ports: number[]): NamedResource {
  return {
    name: clusterName,
    resource: {
      cluster_name: clusterName,
      endpoints: [
        {
          lb_endpoints: ports.map((port) => ({
            endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
          })),
        },
      ],
    },
  };
}

export function httpConnectionManager(routeConfigName: string): ReturnType<typeof typed> {
  return typed(
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    {
      stat_prefix: routeConfigName,
      rds: { route_config_name: routeConfigName, config_source: ADS },
      http_filters: [
        {
          name: 'envoy.filters.http.router',
          typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
        },
      ],
    },
  );
}

export function rdsListener(name: string, port: number, routeConfigName: string): NamedResource {
  return {
    name,
    resource: {
      name,
      address: { socket_address: { address: '127.0.0.1', port_value: port } },
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: httpConnectionManager(routeConfigName),
            },
          ],
        },
      ],
    },
  };
}

export function routeTo(name: string, cluster: string, domains: string[] = ['*']): NamedResource {
  return {
    name,
    resource: {
      name,
      virtual_hosts: [{ name, domains, routes: [{ match: { prefix: '/' }, route: { cluster } }] }],
    },
  };
}

export type Resources = Partial<Record<TypeUrl, readonly NamedResource[]>>;

/** One cluster with endpoints, one listener with its route: a consistent little mesh. */
export function sampleResources(endpointPort = 9080): Resources {
  return {
    [TypeUrl.Cluster]: [edsCluster('reviews')],
    [TypeUrl.ClusterLoadAssignment]: [endpoints('reviews', endpointPort)],
    [TypeUrl.Listener]: [rdsListener('http', 15001, '9080')],
    [TypeUrl.RouteConfiguration]: [routeTo('9080', 'reviews')],
  };
}

/** Hands every proxy the same snapshot unless one is set for its name; `refuse` makes it throw. */
export class FixedSource implements SnapshotSource {
  snapshot: Snapshot;
  refuse: string | undefined;
  readonly asked: ProxyNode[] = [];
  readonly #byName = new Map<string, Snapshot>();

  constructor(resources: Resources = sampleResources()) {
    this.snapshot = Snapshot.build(resources);
  }

  set(resources: Resources): void {
    this.snapshot = Snapshot.build(resources);
  }

  /** Gives the proxy named `name` (ProxyNode.name) its own resources. */
  setFor(name: string, resources: Resources): void {
    this.#byName.set(name, Snapshot.build(resources));
  }

  snapshotFor(node: ProxyNode): Snapshot {
    this.asked.push(node);
    if (this.refuse !== undefined) throw new Error(this.refuse);
    return this.#byName.get(node.name) ?? this.snapshot;
  }
}
