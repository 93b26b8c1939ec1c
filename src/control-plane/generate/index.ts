// The generators behind one interface: proxy + model → every xDS resource that proxy gets.
// Pure functions; the ADS server decides what to send and when.
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import { buildClusters } from './clusters.js';
import { buildEndpoints } from './endpoints.js';
import { gatewayServerPorts, isHttpServer } from './gateway-servers.js';
import { buildGatewayListeners, buildSidecarListeners } from './listeners.js';
import { gatewayRoute, sidecarHttpProxyRoute } from './routes.js';

export interface GenerateOptions {
  /** Gateway server port → host port overrides (local mode). */
  readonly gatewayPorts: Readonly<Record<number, number>>;
}

export type GeneratedResources = Record<TypeUrl, NamedResource[]>;

export function generateResources(
  node: ProxyNode,
  model: MeshModel,
  opts: GenerateOptions,
): GeneratedResources {
  const clusters = buildClusters(node, model);
  const endpoints = buildEndpoints(node, model);
  let listeners: NamedResource[];
  let routes: NamedResource[];
  if (node.type === 'router') {
    const servers = gatewayServerPorts(node, model, opts.gatewayPorts);
    listeners = buildGatewayListeners(node, servers);
    routes = servers.filter(isHttpServer).map((s) => gatewayRoute(s, model));
  } else {
    listeners = buildSidecarListeners(node);
    routes = node.outboundPort !== undefined ? [sidecarHttpProxyRoute(node, model)] : [];
  }
  return {
    [TypeUrl.Cluster]: clusters,
    [TypeUrl.ClusterLoadAssignment]: endpoints,
    [TypeUrl.Listener]: listeners,
    [TypeUrl.RouteConfiguration]: routes,
    [TypeUrl.Secret]: [],
  };
}
