// Consistency of one proxy's snapshot: every EDS cluster has its endpoints, every RDS route
// config a listener names exists (go-control-plane's check; xDS protocol, "Resource warming":
// a cluster or listener whose EDS/RDS never arrives stays warming).
import { TYPE_PREFIX, TypeUrl } from '../../xds/types.js';

type Json = Record<string, unknown>;

const HCM_TYPE =
  TYPE_PREFIX + 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Resources of one snapshot in their Envoy JSON form, by type URL. */
export type ResourcesByType = ReadonlyMap<string, ReadonlyMap<string, object>>;

export function consistencyErrors(byType: ResourcesByType): string[] {
  const errors: string[] = [];
  const assignments = byType.get(TypeUrl.ClusterLoadAssignment);
  for (const [name, cluster] of byType.get(TypeUrl.Cluster) ?? []) {
    const service = edsServiceName(cluster as Json, name);
    if (service !== undefined && !assignments?.has(service)) {
      errors.push(
        `Cluster ${name}: EDS service ${JSON.stringify(service)} has no ClusterLoadAssignment`,
      );
    }
  }
  const routes = byType.get(TypeUrl.RouteConfiguration);
  for (const [name, listener] of byType.get(TypeUrl.Listener) ?? []) {
    for (const routeName of rdsNames(listener as Json)) {
      if (!routes?.has(routeName)) {
        errors.push(
          `Listener ${name}: RDS route config ${JSON.stringify(routeName)} has no RouteConfiguration`,
        );
      }
    }
  }
  return errors;
}

/** The EDS service name of an EDS cluster (eds_cluster_config.service_name, else its name). */
function edsServiceName(cluster: Json, name: string): string | undefined {
  // The JSON form writes enums by name; a number (3 = EDS) is accepted by packAny too.
  if (cluster['type'] !== 'EDS' && cluster['type'] !== 3) return undefined;
  const config = object(cluster['eds_cluster_config']);
  const service = config?.['service_name'];
  return typeof service === 'string' && service ? service : name;
}

/** Every route config name the listener's http_connection_managers load over RDS or SRDS. */
function rdsNames(listener: Json): string[] {
  const names: string[] = [];
  const chains = [...list(listener['filter_chains'])];
  const defaultChain = object(listener['default_filter_chain']);
  if (defaultChain) chains.push(defaultChain);
  const hcms: Json[] = [];
  for (const chain of chains) {
    for (const filter of list(chain['filters'])) {
      const config = object(filter['typed_config']);
      if (config?.['@type'] === HCM_TYPE) hcms.push(config);
    }
  }
  // Proxyless gRPC clients carry their HCM in api_listener instead of a filter chain.
  const api = object(object(listener['api_listener'])?.['api_listener']);
  if (api?.['@type'] === HCM_TYPE) hcms.push(api);
  for (const hcm of hcms) {
    const rdsName = object(hcm['rds'])?.['route_config_name'];
    if (typeof rdsName === 'string') names.push(rdsName);
    const scoped = object(object(hcm['scoped_routes'])?.['scoped_route_configurations_list']);
    for (const scope of list(scoped?.['scoped_route_configurations'])) {
      const scopeRoute = scope['route_configuration_name'];
      if (typeof scopeRoute === 'string') names.push(scopeRoute);
    }
  }
  return names;
}

function object(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Json)
    : undefined;
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter((v): v is Json => object(v) !== undefined) : [];
}
