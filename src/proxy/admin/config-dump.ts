// Envoy's admin /config_dump shape (envoy.admin.v3.ConfigDump), built from what the proxy holds.
import { TypeUrl } from '../../xds/types.js';
import type { AcceptedResources } from '../config-manager.js';

type Obj = Record<string, unknown>;
type Source = (typeUrl: string) => AcceptedResources | undefined;

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

function entries(a: AcceptedResources | undefined): [string, Obj][] {
  return a ? [...a.resources].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)) : [];
}

export function configDump(source: Source): Obj {
  const clusters = source(TypeUrl.Cluster);
  const listeners = source(TypeUrl.Listener);
  const routes = source(TypeUrl.RouteConfiguration);
  const endpoints = source(TypeUrl.ClusterLoadAssignment);
  return {
    configs: [
      {
        '@type': `${ADMIN}ClustersConfigDump`,
        version_info: clusters?.version ?? '',
        dynamic_active_clusters: entries(clusters).map(([, c]) => ({
          version_info: clusters?.version,
          cluster: { '@type': TypeUrl.Cluster, ...c },
          last_updated: clusters?.lastUpdated,
        })),
      },
      {
        '@type': `${ADMIN}ListenersConfigDump`,
        version_info: listeners?.version ?? '',
        dynamic_listeners: entries(listeners).map(([name, l]) => ({
          name,
          active_state: {
            version_info: listeners?.version,
            listener: { '@type': TypeUrl.Listener, ...l },
            last_updated: listeners?.lastUpdated,
          },
        })),
      },
      {
        '@type': `${ADMIN}RoutesConfigDump`,
        dynamic_route_configs: entries(routes).map(([, r]) => ({
          version_info: routes?.version,
          route_config: { '@type': TypeUrl.RouteConfiguration, ...r },
          last_updated: routes?.lastUpdated,
        })),
      },
      {
        '@type': `${ADMIN}EndpointsConfigDump`,
        dynamic_endpoint_configs: entries(endpoints).map(([, e]) => ({
          version_info: endpoints?.version,
          endpoint_config: { '@type': TypeUrl.ClusterLoadAssignment, ...e },
          last_updated: endpoints?.lastUpdated,
        })),
      },
    ],
  };
}
