// The generators behind one interface: proxy + model → every xDS resource that proxy gets.
// Pure functions; the ADS server decides what to send and when. Every generator reads the model
// as the proxy sees it (MeshModel.forProxy): what its Sidecar imports, the rules that apply to it.
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import { withAccessLogs } from './access-log.js';
import { withMetricsFilters } from './telemetry-metrics.js';
import { buildClusters } from './clusters.js';
import { buildEndpoints } from './endpoints.js';
import { gatewayServerPorts, isHttpServer, isHttpsServer } from './gateway-servers.js';
import { gatewayHttpsRoutes, gatewaySecrets, withHttpsRedirect } from './gateway-tls.js';
import { buildGatewayListeners, buildSidecarListeners } from './listeners.js';
import { clusterSecrets } from './mtls-secrets.js';
import { gatewayRoute, sidecarHttpProxyRoute } from './routes.js';
import { routerPortMap, withSidecarIngress } from './proxy-ports.js';
import { outboundTunnelCluster, withTunnelRoutes } from './sidecar-tunnel.js';
import { withDecorators } from './tracing.js';

export interface GenerateOptions {
  /** Gateway server port → host port overrides (local mode). */
  readonly gatewayPorts: Readonly<Record<number, number>>;
}

export type GeneratedResources = Record<TypeUrl, NamedResource[]>;

export function generateResources(
  proxy: ProxyNode,
  model: MeshModel,
  opts: GenerateOptions,
): GeneratedResources {
  const view = model.forProxy(proxy);
  // A Sidecar's `ingress` replaces the inbound listeners the workload's ports would get; a
  // router's announced ports are its server ports' host ports, not inbound listeners.
  const node =
    proxy.type === 'router'
      ? { ...proxy, inbound: [] }
      : withSidecarIngress(proxy, view.sidecarScope);
  const clusters = buildClusters(node, view);
  const endpoints = buildEndpoints(node, view);
  let listeners: NamedResource[];
  let routes: NamedResource[];
  let secrets: NamedResource[] = [];
  if (node.type === 'router') {
    const servers = gatewayServerPorts(node, view, routerPortMap(proxy, opts.gatewayPorts));
    listeners = buildGatewayListeners(node, servers, view);
    routes = servers
      .filter(isHttpServer)
      .map((s) =>
        withHttpsRedirect(gatewayRoute(s, view, node.namespace), s, view, node.namespace),
      );
    for (const s of servers.filter(isHttpsServer))
      routes.push(...gatewayHttpsRoutes(node, s, view));
    secrets = gatewaySecrets(node, servers, view);
    const served = new Set(secrets.map((x) => x.name));
    secrets.push(...clusterSecrets(node, clusters, view).filter((x) => !served.has(x.name)));
  } else {
    listeners = buildSidecarListeners(node, view);
    // DestinationRule credentialName: the Secrets its clusters name (mtls-secrets.ts).
    secrets = clusterSecrets(node, clusters, view);
    routes = node.outboundPort !== undefined ? [sidecarHttpProxyRoute(node, view)] : [];
    // Local mode's CONNECT tunnels (T3): their routes, and the internal listener's cluster.
    if (node.outboundPort !== undefined) {
      routes = routes.map((r) => withTunnelRoutes(r, node, view));
      clusters.push(outboundTunnelCluster());
    }
  }
  listeners = withAccessLogs(listeners, node, view);
  listeners = withMetricsFilters(listeners, node, view);
  return {
    [TypeUrl.Cluster]: clusters,
    [TypeUrl.ClusterLoadAssignment]: endpoints,
    [TypeUrl.Listener]: listeners,
    // Istio's route decorators name the spans (tracing.ts).
    [TypeUrl.RouteConfiguration]: routes.map(withDecorators),
    [TypeUrl.Secret]: secrets,
  };
}
